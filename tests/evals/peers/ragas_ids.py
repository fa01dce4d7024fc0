"""Run inside the isolated peer venv (ragas and its pins), never imported by the project.

Reads ``[{"id", "retrieved", "reference"}, ...]`` as JSON on stdin and writes RAGAS's ID-based
context precision and recall per case as JSON on stdout (null where RAGAS gives NaN).
"""

import json
import math
import sys
import warnings

warnings.filterwarnings("ignore")

from ragas.dataset_schema import SingleTurnSample  # noqa: E402
from ragas.metrics._context_precision import IDBasedContextPrecision  # noqa: E402
from ragas.metrics._context_recall import IDBasedContextRecall  # noqa: E402


def score(metric, sample):
    value = metric.single_turn_score(sample)
    return None if value is None or math.isnan(value) else float(value)


def main() -> None:
    precision, recall = IDBasedContextPrecision(), IDBasedContextRecall()
    out = {}
    for case in json.load(sys.stdin):
        sample = SingleTurnSample(retrieved_context_ids=case["retrieved"], reference_context_ids=case["reference"])
        out[case["id"]] = {"precision": score(precision, sample), "recall": score(recall, sample)}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
