"""Fit the extractive composer's weights on the tuning half of the development set, and only there.

    python benchmarks/tune_composer.py                    # dev-tune: grid search, prints the best
    python benchmarks/tune_composer.py --split test       # report only: the shipped weights on dev-test

Method: each question is retrieved once as ``ask`` retrieves it; its units and their signals
(``rag.answer.rank``) are computed once; then every weight combination of the grid ranks and
chooses units as the composer does (within the word budget) and is scored by gold recall (the
share of gold spans at least half covered by the pieces shown) plus a quarter of the rate at which
the first piece shown lies on gold. Data dir and corpus come from the POLICYRAG_* settings.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from dataclasses import asdict, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evals.metrics import gold_covered  # noqa: E402
from rag.answer.compose import Budget, PassageComposer  # noqa: E402
from rag.answer.pipeline import AnswerPipeline  # noqa: E402
from rag.answer.rank import WEIGHTS, Ranked, Weights  # noqa: E402
from rag.answer.stages import Work  # noqa: E402
from rag.compose import compose  # noqa: E402
from rag.core.config import Settings  # noqa: E402
from rag.index.retrieval import SearchIndex  # noqa: E402

GRID = {
    "top2": [0.5, 1.0],
    "words": [0.0, 0.25],
    "heading": [0.0, 0.3, 0.6],
    "rank": [0.0, 0.15, 0.3],
}
FLOORS = [0.6, 0.7, 0.8, 0.9]
OTHERS = [0.0, 0.7, 0.8, 0.9, 1.01]  # a unit of another document: its share of the lead's score (1.01: never)
FIRST = 0.5  # the objective: gold recall + FIRST x the rate at which the first piece shown is gold


def loaded() -> tuple[SearchIndex, AnswerPipeline, PassageComposer]:
    """The index, answer pipeline and extractive composer of the library the POLICYRAG_* settings name."""
    settings = Settings()
    index = compose(settings).index
    pipeline = AnswerPipeline(settings, index)
    assert isinstance(pipeline.generator, PassageComposer)
    return index, pipeline, pipeline.generator


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=REPO / "evals/datasets/dev.jsonl")
    ap.add_argument("--split", default="tune", help="the dataset's split to read (tune or test); 'all' for all")
    ap.add_argument("--report", action="store_true", help="score the shipped weights only, no search")
    ap.add_argument("--weights", help="with --report: these weights (JSON) and floor instead of the shipped ones")
    args = ap.parse_args()
    _, pipeline, composer = loaded()
    cases = [json.loads(line) for line in args.dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = [c for c in cases if c.get("gold") and (args.split == "all" or c.get("split") == args.split)]
    prepared = []
    for case in cases:
        work = pipeline.reader.retrieve(
            Work(pipeline._asked(case["question"], {"history": case.get("history")}, False))
        )
        sources = work.results
        ranked = composer.ranked(composer.condense(case["question"], case.get("history")), sources, work.mode)
        gold = [g for group in case["gold"] for g in group]
        prepared.append((ranked, sources, gold, work.mode))
    print(f"{len(prepared)} answerable questions of split {args.split!r}", file=sys.stderr)

    def score(weights: Weights, floor: float, other: float = 0.0) -> tuple[float, float, float]:
        recalls, firsts, words = [], [], []
        for ranked, sources, gold, _mode in prepared:
            for u in ranked.units:
                u.score = sum(getattr(weights, k) * v for k, v in u.features.items())
            order = Ranked(sorted(ranked.units, key=lambda u: -u.score), ranked.similarity)
            budget = Budget(floor=floor, other=other)
            chooser = PassageComposer(composer.vectors, composer.idf, budget, weights)
            chosen = chooser.choose(order)
            shown = [p for u, kept in chosen for p in u.lead + kept]
            spans = []
            for p in shown:
                start, end = sources[p.source - 1].locate(p.start, p.end)
                spans.append({"doc_id": sources[p.source - 1].doc_id, "char_start": start, "char_end": end})
            found, total = gold_covered([gold], spans)
            recalls.append(found / total)
            firsts.append(float(bool(spans) and any(gold_covered([[g]], spans[:1])[0] for g in gold)))
            words.append(sum(len(p.text.split()) for p in shown))
        return statistics.mean(recalls), statistics.mean(firsts), statistics.median(words)

    if args.report:
        shipped = {**asdict(WEIGHTS), "floor": Budget().floor, "other": Budget().other}
        chosen = json.loads(args.weights) if args.weights else shipped
        floor, other = chosen.pop("floor"), chosen.pop("other", 0.0)
        r, f, w = score(Weights(**chosen), floor, other)
        out = {"dataset": args.dataset.name, "split": args.split, "gold_recall": round(r, 3)}
        out |= {"first_on_gold": round(f, 3), "median_words": w, "weights": chosen, "floor": floor, "other": other}
        print(json.dumps(out))
        return
    best: tuple[float, Weights, float, float, tuple[float, float, float]] | None = None
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        weights = replace(WEIGHTS, **dict(zip(keys, values, strict=True)))
        for floor, other in itertools.product(FLOORS, OTHERS):
            r, f, w = score(weights, floor, other)
            objective = r + FIRST * f
            if best is None or objective > best[0] + 1e-9:
                best = (objective, weights, floor, other, (r, f, w))
    assert best is not None
    print(json.dumps({"split": args.split, "objective": round(best[0], 4), "gold_recall": round(best[4][0], 3),
                      "first_on_gold": round(best[4][1], 3), "median_words": best[4][2],
                      "weights": asdict(best[1]), "floor": best[2], "other": best[3]}))  # fmt: skip


if __name__ == "__main__":
    main()
