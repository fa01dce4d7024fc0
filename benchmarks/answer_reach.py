"""How far a better ranker could take the answer: where each question's gold is, stage by stage.

    python benchmarks/answer_reach.py --dataset evals/datasets/dev.jsonl --split test
    POLICYRAG_DATA_DIR=… POLICYRAG_CORPUS_DIR=evals/corpora/govguides \
      python benchmarks/answer_reach.py --dataset evals/datasets/govguides.jsonl

For every answerable question (one that has gold sentences and no history) it reports:

- the rank of the first search passage holding a gold sentence (``policyrag search`` with a deep
  ``k``), as the share of questions with gold in the top 1, 3, 10, 20 and 50 passages;
- whether any unit the composer reads (the passages ``ask`` retrieves, their neighbours, short
  documents whole) holds a gold sentence: the most a perfect choice of lead unit could reach;
- whether the unit the composer leads with holds one (the answer's first citation, before
  verification and the refusal gate).

The first citation can reach the issue's 0.70 only where the units read hold gold that often, and
it reaches the units-read figure only with a ranker that finds the answering unit every time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tune_composer import loaded  # noqa: E402  (benchmarks/, beside this file)

from evals.dataset import load_dataset  # noqa: E402
from evals.metrics import first_on_gold  # noqa: E402
from rag.answer.stages import Work  # noqa: E402
from rag.answer.units import Unit  # noqa: E402
from rag.core.models import SearchResult  # noqa: E402

DEPTHS = (1, 3, 10, 20, 50)


def span(result: SearchResult, start: int, end: int) -> dict[str, object]:
    a, b = result.locate(start, end)
    return {"doc_id": result.doc_id, "char_start": a, "char_end": b}


def holds_gold(unit: Unit, sources: list[SearchResult], gold: list[list[dict[str, object]]]) -> bool:
    return any(first_on_gold([span(sources[p.source - 1], p.start, p.end)], gold) for p in unit.all_pieces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=REPO / "evals/datasets/dev.jsonl")
    ap.add_argument("--split", default="all", help="the dataset's split to read (tune, test or all)")
    args = ap.parse_args()
    index, pipeline, composer = loaded()
    cases = [
        c for c in load_dataset(args.dataset)
        if c.gold_spans and not c.out_of_scope and not c.history and args.split in ("all", c.split)
    ]  # fmt: skip
    ranks, read, lead = [], [], []
    for i, case in enumerate(cases, 1):
        gold = [[dict(s) for s in group] for group in case.gold_spans]
        hits = index.search(case.question, max(DEPTHS))
        ranks.append(next((r for r, h in enumerate(hits) if first_on_gold([span(h, 0, len(h.text))], gold)), None))
        work = pipeline.reader.retrieve(Work(pipeline._asked(case.question, {}, False)))
        units = composer.ranked(composer.condense(case.question, None), work.results, work.mode).units
        read.append(any(holds_gold(u, work.results, gold) for u in units))
        lead.append(bool(units) and holds_gold(units[0], work.results, gold))
        print(f"\r{i}/{len(cases)} questions", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    n = len(cases) or 1
    out: dict[str, object] = {"dataset": args.dataset.name, "split": args.split, "questions": len(cases)}
    out |= {f"search_top{k}": round(sum(r is not None and r < k for r in ranks) / n, 3) for k in DEPTHS}
    out |= {"units_read_hold_gold": round(statistics.mean(read or [0]), 3)}
    out |= {"lead_unit_holds_gold": round(statistics.mean(lead or [0]), 3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
