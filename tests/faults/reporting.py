"""Figures a fault test hands to ``make bench-faults`` (benchmarks/bench_faults.py): one JSON line
each, appended to the file ``POLICYRAG_FAULTS_REPORT`` names (nothing when it is unset)."""

from __future__ import annotations

import json
import os


def report(row: dict[str, object]) -> None:
    path = os.environ.get("POLICYRAG_FAULTS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
