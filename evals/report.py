"""``report.html``: one self-contained page (no scripts, no external assets)."""

from __future__ import annotations

import html
import io
from typing import Any

from evals.metrics import METRIC_HELP
from evals.searchbox import FIGURES, LABELS, K, cell

KIND_KEYS = (
    "hit@5", "key_point_coverage", "evidence_precision", "evidence_recall", "not_covered_accuracy",
    "false_premise_correction", "citation_validity", "faithfulness", "refusal_accuracy",
)  # fmt: skip


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def kind_chart(results: dict[str, Any]) -> str:
    """Grouped bars: the headline metrics per kind of question."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(results["by_kind"])
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / len(KIND_KEYS)
    for j, key in enumerate(KIND_KEYS):
        values = [results["by_kind"][k].get(key) or 0.0 for k in kinds]
        ax.bar([i + j * width for i in range(len(kinds))], values, width, label=key)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(kinds))], kinds)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean (undetermined cases left out)")
    ax.legend(fontsize=7, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.tick_params(axis="x", labelsize=7)
    return _svg(fig)


def latency_chart(results: dict[str, Any]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.hist([c["latency_ms"] for c in results["cases"]], bins=20, color="#1d70b8")
    ax.set_xlabel("answer latency (ms)")
    ax.set_ylabel("cases")
    return _svg(fig)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))


def search_box_rows(results: dict[str, Any]) -> str:
    """The answer's row beside the search box's and their ratio, for the run and for each split."""
    splits = results.get("by_split") or {}
    groups = {"all cases": results.get("search_box")} | {f"split {n}": s.get("search_box") for n, s in splits.items()}
    rows = []
    for name, box in groups.items():
        if not box:
            continue
        for side, label in (("answer", "answer"), ("search", f"search box (top {K} passages)"),
                            ("ratio", "answer ÷ search box")):  # fmt: skip
            figures = box.get(side) or {}
            rows.append(
                f"<tr><td>{html.escape(name)} ({box.get('cases', 0)})</td><td>{html.escape(label)}</td>"
                + "".join(f"<td>{cell(f, figures.get(f))}</td>" for f in FIGURES)
                + "</tr>"
            )
    return "".join(rows)


def _shown(c: dict[str, Any], side: str) -> str:
    figures = (c.get("search_box") or {}).get(side) or {}
    return f"{figures['gold_covered']}/{figures['gold_spans']}" if figures.get("gold_spans") else "–"


def render(results: dict[str, Any]) -> str:
    m, ci, und = results["metrics"], results["metric_ci"], results["undetermined"]
    man = results["manifest"]
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td>"
        f"<td>{_fmt(ci[k][0]) + ' – ' + _fmt(ci[k][1]) if ci.get(k) else ''}</td><td>{und.get(k, '')}</td></tr>"
        for k, v in m.items()
    )
    kinds = list(results["by_kind"])
    kind_keys = KIND_KEYS
    kind_rows = "".join(
        f"<tr><td>{html.escape(kind)}</td><td>{results['by_kind'][kind]['cases']}</td>"
        + "".join(f"<td>{_fmt(results['by_kind'][kind].get(k))}</td>" for k in kind_keys)
        + "</tr>"
        for kind in kinds
    )
    splits = results.get("by_split") or {}
    overall = {"cases": len(results["cases"]), "passed": sum(c["passed"] for c in results["cases"]), "metrics": m}
    split_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{s['cases']}</td><td>{s['passed']}</td>"
        + "".join(f"<td>{_fmt(s['metrics'].get(k))}</td>" for k in kind_keys)
        + "</tr>"
        for name, s in ({"all": overall} | splits).items()
    )
    split_table = (
        f"<h2>By split</h2><table><tr><th>split</th><th>cases</th><th>passed</th>"
        f"{''.join(f'<th>{k}</th>' for k in kind_keys)}</tr>{split_rows}</table>"
        if splits
        else ""
    )
    cases = sorted(results["cases"], key=lambda c: (c["passed"], c["id"]))
    case_rows = []
    for c in cases:
        missed = [g[0] for g in c["key_points"] if not any(p.lower() in c["answer"].lower() for p in g)]
        cites = "; ".join(f"[{x['n']}] {x['doc_id']}{' (gold)' if x.get('gold') else ''}" for x in c["citations"])
        evidence = "; ".join(c.get("gold_missed", []))
        if c.get("missing"):
            evidence += " | not stated, to be named: " + "; ".join(c["missing"])
        if c.get("false_premise"):
            evidence += " | premise to correct: " + c["false_premise"]
        case_rows.append(
            f"<tr class={'pass' if c['passed'] else 'fail'}><td>{html.escape(c['id'])}</td>"
            f"<td>{'pass' if c['passed'] else 'FAIL'}</td><td>{html.escape(c['kind'])}</td>"
            f"<td>{html.escape(c['question'])}</td><td>{html.escape(c['answer'][:600])}</td>"
            f"<td>{html.escape(cites)}</td><td>{html.escape('; '.join(missed))}</td><td>{html.escape(evidence)}</td>"
            f"<td>{_shown(c, 'answer')} / {_shown(c, 'search')}</td><td>{c['latency_ms']}</td></tr>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>policyrag evaluation</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 80rem; color: #0b0c0c; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #b1b4b6; padding: .3rem .5rem; vertical-align: top; text-align: left; }}
tr.fail td:nth-child(2) {{ color: #d4351c; font-weight: bold; }}
</style></head><body>
<h1>policyrag evaluation</h1>
<p>Dataset <code>{html.escape(man["dataset"])}</code> (sha256 {man["dataset_sha256_16"]}), target
{html.escape(man["target"])}, generator {html.escape(str(man["models"]["generator"]))}, commit
{html.escape(str(man["git_commit"]))}, {html.escape(man["time"])}.</p>
<h2>Metrics</h2>
<table><tr><th>metric</th><th>value</th><th>95% bootstrap interval</th><th>undetermined cases</th></tr>{rows}</table>
<dl>{"".join(f"<dt><code>{html.escape(k)}</code></dt><dd>{html.escape(v)}</dd>" for k, v in METRIC_HELP.items())}</dl>
<h2>Answer and search box</h2>
<p>Each question's first {K} passages from <code>policyrag search</code> (for a follow-up, the answer's own
standalone query) scored as if they were the answer. Gold recall: the share of gold spans at least half of whose
characters the reader is shown (the answer's quoted ranges, or the passages), pooled over the answerable cases;
the case mean averages each case's share. First citation on gold: the answer's first citation, or the top passage,
is gold evidence. Median words: the answer's own sentences (without the lines about what the library does not
say and the sources' standing), or the passages' text.</p>
<table><tr><th>cases (answerable)</th><th>shown</th>{"".join(f"<th>{LABELS[f]}</th>" for f in FIGURES)}</tr>
{search_box_rows(results)}</table>
{split_table}
<h2>By kind</h2>
<table><tr><th>kind</th><th>cases</th>{"".join(f"<th>{k}</th>" for k in kind_keys)}</tr>{kind_rows}</table>
<figure>{kind_chart(results)}<figcaption>Headline metrics by kind of question.</figcaption></figure>
<h2>Latency</h2>
<p>p50 {m.get("latency_p50_ms")} ms, p95 {m.get("latency_p95_ms")} ms (wall time per case, this machine).</p>
<figure>{latency_chart(results)}<figcaption>Distribution of answer latencies.</figcaption></figure>
<h2>Cases (failures first)</h2>
<table><tr><th>id</th><th>result</th><th>kind</th><th>question</th><th>answer</th><th>citations</th>
<th>key points missed</th><th>gold evidence not cited</th><th>gold spans shown: answer / search box</th>
<th>ms</th></tr>{"".join(case_rows)}</table>
</body></html>
"""
