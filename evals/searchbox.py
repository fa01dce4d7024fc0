"""The search box as a reference row: is the answer worth more than the first passages of a search?

For every case the run also takes the top :data:`K` passages ``policyrag search`` returns for the
question (for a follow-up, the standalone query the answer itself searched with, its ``query``) and
scores them as if they were the answer, with the answer's own metrics where they apply:

- ``gold_recall``: the share of gold spans (every span of every group) at least half of whose
  characters lie in what the reader is shown: the answer's quotes (its citations' ranges), or the
  passages' chunk ranges. Pooled over the answerable cases; ``gold_recall_case_mean`` averages
  the cases' shares instead.
- ``key_point_coverage``: key points whose phrasing appears in the text shown.
- ``first_on_gold``: the first citation (lowest ``n``), or the top passage, is gold evidence.
- ``median_words``: words shown, median over the answerable cases; an answer's words leave out
  the lines the pipeline adds about the library (``is_note``: the sources'
  standing) and its ``[n]`` markers, so they count the answer's own sentences; the references are
  not part of the answer's text.

Only answerable cases (not ``not_covered``) count, since a passage list cannot refuse.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from evals.dataset import EvalCase
from evals.metrics import first_on_gold, gold_covered, key_point_coverage, word_count
from rag.answer.sources import is_note

K = 3  # the passages a search box shows above the fold
FIGURES = ("gold_recall", "gold_recall_case_mean", "key_point_coverage", "first_on_gold", "median_words")
RATIOS = ("gold_recall", "key_point_coverage", "median_words")  # answer ÷ search box
GATED = ("gold_recall", "first_on_gold")  # answer figures a comparison fails on when they fall
SIDES = ("answer", "search", "ratio")
LABELS = {
    "gold_recall": "gold recall", "gold_recall_case_mean": "gold recall (case mean)",
    "key_point_coverage": "key points", "first_on_gold": "first citation on gold", "median_words": "median words",
}  # fmt: skip


def answer_body(text: str) -> str:
    """The answer's own sentences: the pipeline's lines about the library are not what was asked for."""
    return "\n".join(line for line in text.splitlines() if not is_note(line))


def _shown(
    case: EvalCase, shown: Sequence[dict[str, Any]], text: str, words: int, refused: bool = False
) -> dict[str, Any]:
    covered, spans = gold_covered(case.gold_spans, shown)
    oos = case.out_of_scope
    return {
        "gold_spans": spans,
        "gold_covered": covered,
        "gold_recall": covered / spans if spans else None,
        "key_point_coverage": None if oos else key_point_coverage("" if refused else text, case.key_points),
        "first_on_gold": None if oos else first_on_gold(shown, case.gold_spans),
        "words": words,
    }


def score_case(case: EvalCase, answer: dict[str, Any], passages: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One case's figures for the answer and, when the target can search, for its search box."""
    refused = bool(answer.get("refused"))
    citations = [] if refused else sorted(answer.get("citations", []), key=lambda c: int(c["n"]))
    text = str(answer.get("answer", ""))
    out: dict[str, Any] = {
        "query": str(answer.get("query") or case.question),
        "passages": None,
        "answer": _shown(case, citations, text, word_count(answer_body(text)), refused),
        "search": None,
    }
    if passages is not None:
        shown = passages[:K]
        joined = "\n\n".join(str(p.get("text", "")) for p in shown)
        out["passages"] = [{k: p.get(k) for k in ("chunk_id", "doc_id", "char_start", "char_end")} for p in shown]
        out["search"] = _shown(case, shown, joined, word_count(joined))
    return out


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.fmean(known), 4) if known else None


def _side(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    spans = sum(r["gold_spans"] for r in rows)
    covered = sum(r["gold_covered"] for r in rows)
    return {
        "gold_recall": round(covered / spans, 4) if spans else None,
        "gold_recall_case_mean": _mean([r["gold_recall"] for r in rows]),
        "key_point_coverage": _mean([r["key_point_coverage"] for r in rows]),
        "first_on_gold": _mean([r["first_on_gold"] for r in rows]),
        "median_words": statistics.median(r["words"] for r in rows),
        "gold_spans": spans,
        "gold_covered": covered,
    }


def ratio(answer: float | None, search: float | None) -> float | None:
    """Answer ÷ search box; undetermined when either is, or the search box scores 0."""
    return None if answer is None or not search else round(answer / search, 3)


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's (or a split's) answer and search-box figures, from the cases' ``search_box`` entries."""
    rows = [r["search_box"] for r in records if r["kind"] != "not_covered" and r.get("search_box")]
    answer = _side([r["answer"] for r in rows])
    search = _side([r["search"] for r in rows]) if rows and all(r["search"] for r in rows) else None
    ratios = {k: ratio((answer or {}).get(k), (search or {}).get(k)) for k in RATIOS}
    return {"k": K, "cases": len(rows), "answer": answer, "search": search, "ratio": ratios}


SHORT = {
    "gold_recall": "gold recall", "gold_recall_case_mean": "(case mean)", "key_point_coverage": "key points",
    "first_on_gold": "1st on gold", "median_words": "median words",
}  # fmt: skip


def cell(figure: str, value: Any) -> str:
    """A figure as a table shows it: words as a count, shares and ratios to three places."""
    if value is None:
        return "–"
    return f"{value:g}" if figure == "median_words" and not isinstance(value, bool) else f"{value:.3f}"


def table(summaries: dict[str, dict[str, Any]]) -> str:
    """Plain text: per group of cases (all, tune, test), the answer, the search box and their ratio."""
    lines = [f"{'':24}" + "".join(f"{SHORT[f]:>14}" for f in FIGURES)]
    for name, summary in summaries.items():
        lines.append(f"{name} ({summary.get('cases', 0)} answerable cases)")
        for side, label in (("answer", "answer"), ("search", f"search box (top {K})"), ("ratio", "answer ÷ search")):
            figures = summary.get(side) or {}
            lines.append(f"  {label:22}" + "".join(f"{cell(f, figures.get(f)):>14}" for f in FIGURES))
    return "\n".join(lines)
