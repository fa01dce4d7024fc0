from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO

PAGE = str(REPO / "ui" / "pages" / "1_Evaluations.py")
BASELINE = REPO / "evals" / "baselines" / "dev" / "results.json"


def test_runs_are_listed_and_a_regression_is_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = json.loads(BASELINE.read_text(encoding="utf-8"))
    worse = json.loads(json.dumps(base))
    case = next(c for c in worse["cases"] if c["passed"])
    case["passed"] = False
    for name, data in (("base", base), ("worse", worse)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("POLICYRAG_EVAL_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert at.selectbox[0].options == ["base", "worse"]
    at = at.selectbox[0].select("worse").run()
    assert at.error and case["id"] in at.error[0].value
    assert any(e.label.startswith(case["id"]) for e in at.expander)
    metrics = at.table[0].value
    assert {"evidence_precision", "evidence_recall", "not_covered_accuracy", "false_premise_correction"} <= set(
        metrics["metric"].tolist()
    )
    # a failing case that missed gold evidence says which passage it should have cited
    missed = next(c for c in worse["cases"] if not c["passed"] and c["gold_missed"])
    shown = [m.value for e in at.expander if e.label.startswith(missed["id"]) for m in e.markdown]
    assert any(missed["gold_missed"][0][:40] in text for text in shown)


def test_no_runs_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYRAG_EVAL_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert at.info and "policyrag eval run" in at.info[0].value
