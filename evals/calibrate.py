"""Calibrate the refusal threshold on the development set and report dev metrics at it.

    python -m evals.calibrate [evals/datasets/dev.jsonl] [--print-only]

Runs the real pipeline (extractive, in process) once with refusal disabled, records each case's
best dense similarity, chooses the threshold with the fewest errors (false refusals + false
answers; ties go to the widest margin), and writes evals/calibration/refusal.json and
evals/calibration/REFUSAL.md. Deterministic: same corpus and code, same output.
``--print-only`` reports without writing (e.g. the dev metrics of ``POLICYRAG_GENERATOR=openai``).
The product does not use this threshold by default (each library gets its own,
``rag.answer.refusal``); it is for fixing one with ``POLICYRAG_REFUSAL_THRESHOLD``.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

from evals.dataset import dataset_hash, load_dataset
from evals.run import Scorer
from evals.thresholds import choose_cut
from rag.compose import compose
from rag.core.config import Settings, get_settings

HERE = Path(__file__).resolve().parent
OUT = HERE / "calibration"


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    print_only = "--print-only" in argv
    argv = [a for a in argv if a != "--print-only"]
    path = Path(argv[0]) if argv else HERE / "datasets" / "dev.jsonl"
    cases = load_dataset(path)
    settings: Settings = get_settings().model_copy(update={"refusal_threshold": 0.0})
    pipeline = compose(settings).pipeline

    records: list[dict[str, Any]] = []
    for case in cases:
        history = [t.model_dump() for t in case.history] if case.history else None
        best = pipeline.gate_score(case.question, history)  # the gate's own signal, as ask computes it
        answer = pipeline.ask(case.question, history=history)
        records.append({"case": case, "best": round(best, 4), "answer": answer})

    summary = _summary(path, records, Scorer(pipeline.verifier), settings)
    if not print_only:
        OUT.mkdir(exist_ok=True)
        (OUT / "refusal.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (OUT / "REFUSAL.md").write_text(_report(summary, records, len(cases)), encoding="utf-8")
    sys.stdout.write(json.dumps({k: v for k, v in summary.items() if k != "scores"}, indent=2) + "\n")
    return 0


def _summary(path: Path, records: list[dict[str, Any]], scorer: Scorer, settings: Settings) -> dict[str, Any]:
    """The chosen threshold, its errors, and the dev metrics at it, scored as `policyrag eval run` scores."""
    in_scope = [r["best"] for r in records if not r["case"].out_of_scope]
    out_scope = [r["best"] for r in records if r["case"].out_of_scope]
    threshold, false_refusals, false_answers = choose_cut(in_scope, out_scope)
    keys = ("hit@5", "key_point_coverage", "citation_validity", "refusal_accuracy")
    values: dict[str, list[float]] = {k: [] for k in keys}
    for r in records:
        answer = r["answer"].model_dump(mode="json")
        answer["refused"] = answer["refused"] or r["best"] < threshold
        scores = scorer.score(r["case"], answer)
        for k in keys:
            if (value := scores[k]) is not None:
                values[k].append(value)
    return {
        "dataset": str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path),
        "dataset_sha256_16": dataset_hash(path),
        "signal": "best dense (cosine) similarity between the question and the retrieved passages",
        "threshold": threshold,
        "in_scope": len(in_scope),
        "out_of_scope": len(out_scope),
        "false_refusals": false_refusals,
        "false_answers": false_answers,
        "false_refusal_rate": round(false_refusals / len(in_scope), 4),
        "false_answer_rate": round(false_answers / len(out_scope), 4),
        "dev_metrics_at_threshold": {k: round(statistics.fmean(v), 4) for k, v in values.items()},
        "scores": {r["case"].id: r["best"] for r in records},
        "generator": settings.generator,
        "fallbacks": sum(r["answer"].fallback for r in records),
    }


def _report(summary: dict[str, Any], records: list[dict[str, Any]], n_cases: int) -> str:
    threshold = summary["threshold"]
    lines = [
        "# Refusal calibration",
        "",
        f"Produced by `python -m evals.calibrate` on `{summary['dataset']}` ({n_cases} cases). "
        f"Signal: {summary['signal']}. The assistant refuses below the threshold.",
        "",
        f"**Chosen threshold: {threshold}** (fewest errors, widest margin on ties). "
        f"False refusals: {summary['false_refusals']}/{summary['in_scope']} in-scope; "
        f"false answers: {summary['false_answers']}/{summary['out_of_scope']} out-of-scope.",
        "",
        "Dev metrics at this threshold: "
        + ", ".join(f"{k} {v}" for k, v in summary["dev_metrics_at_threshold"].items()),
        "",
        "| case | kind | best similarity | decision |",
        "| --- | --- | --- | --- |",
    ]
    for r in sorted(records, key=lambda r: r["best"]):
        decision = "refuse" if r["best"] < threshold else "answer"
        wrong = (decision == "refuse") != (r["case"].out_of_scope)
        lines.append(
            f"| {r['case'].id} | {r['case'].kind.value} | {r['best']:.3f} | {decision}{' ✗' if wrong else ''} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
