"""The support threshold in Settings is the one the calibration file holds, made with the weights
the code scores with now: change a weight and this fails until the calibration is re-run. (The
refusal threshold has no fixed default: each library gets its own, tests/rag/test_refusal.py.)"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rag.answer.verify import SUPPORT_WEIGHTS
from rag.core.config import Settings

CALIBRATION = Path(__file__).resolve().parents[2] / "evals" / "calibration"


def test_the_support_threshold_was_calibrated_with_the_current_weights() -> None:
    support = json.loads((CALIBRATION / "support.json").read_text(encoding="utf-8"))
    assert support["weights"] == asdict(SUPPORT_WEIGHTS), "re-run python -m evals.calibrate_support"
    assert Settings.model_fields["support_threshold"].default == support["threshold"]
