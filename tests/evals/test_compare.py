"""The CI gate reads the evidence metrics: a drop in evidence precision or recall fails it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from evals.compare import compare
from evals.metrics import HEADLINE, METRICS


def _results(evidence_precision: float, evidence_recall: float) -> dict[str, Any]:
    metrics = {k: 1.0 for k in METRICS}
    metrics.update(evidence_precision=evidence_precision, evidence_recall=evidence_recall)
    case = {"id": "c1", "passed": True, "metrics": {k: v for k, v in metrics.items() if not k.startswith("latency")}}
    return {"metrics": metrics, "cases": [case, {**copy.deepcopy(case), "id": "c2"}]}


def test_evidence_precision_is_reported_but_does_not_gate() -> None:
    """It rewarded one-sentence answers: a longer answer that quotes more gold may cite more non-gold too."""
    base = _results(0.8, 0.7)
    cand = copy.deepcopy(base)
    cand["metrics"]["evidence_precision"] = 0.4
    result = compare(base, cand, tolerance=0.02)
    assert result.ok and result.deltas["evidence_precision"]["delta"] == -0.4


@pytest.mark.parametrize("metric", ["evidence_recall", "not_covered_accuracy", "false_premise_correction"])
def test_a_drop_in_an_evidence_metric_fails_the_gate(metric: str) -> None:
    assert metric in HEADLINE
    base = _results(0.8, 0.7)
    cand = copy.deepcopy(base)
    cand["metrics"][metric] = base["metrics"][metric] - 0.05
    result = compare(base, cand, tolerance=0.02)
    assert not result.ok and any(r.startswith(metric) for r in result.regressions)
    within = copy.deepcopy(base)
    within["metrics"][metric] = base["metrics"][metric] - 0.01
    assert compare(base, within, tolerance=0.02).ok
