"""Metrics on hand-computed examples; dataset validation errors a person can act on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evals.calibrate import choose_threshold
from evals.dataset import DatasetError, load_dataset
from evals.metrics import (
    citation_validity,
    hit_at_k,
    key_point_coverage,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    refusal_correct,
)
from tests.conftest import REPO


def test_retrieval_metrics_by_hand() -> None:
    ranked = ["a", "a", "b", "c", "d", "e", "f"]  # chunk-level doc ids; documents: a b c d e f
    assert hit_at_k(ranked, ["c"], 3) == 1.0
    assert hit_at_k(ranked, ["e"], 3) == 0.0
    assert recall_at_k(ranked, ["b", "e"], 3) == 0.5
    assert reciprocal_rank(ranked, ["c", "d"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, ["z"]) == 0.0
    # relevant at document ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(ranked, ["b", "d"], 10) == pytest.approx(expected)
    for metric in (hit_at_k, recall_at_k, ndcg_at_k):
        assert metric(ranked, [], 5) is None  # undetermined, not zero
    assert reciprocal_rank(ranked, []) is None


def test_key_point_coverage_by_hand() -> None:
    answer = "It was set up by the National House-Building Council [1] with DCLG’s money [2]."
    groups = [["NHBC", "National House-Building Council"], ["DCLG's"], ["Treasury"]]
    assert key_point_coverage(answer, groups) == pytest.approx(2 / 3)  # curly quote matches straight
    assert key_point_coverage(answer, []) is None


def test_citation_validity_by_hand() -> None:
    chunks = {"c1": "The hub was set up by the Council.", "c2": "Other text."}
    citations = [
        {"n": 1, "chunk_id": "c1", "quote": "The hub was set up by the Council."},
        {"n": 2, "chunk_id": "c2", "quote": "Not in the chunk."},
    ]
    assert citation_validity("A [1]. B [2]. C [3].", citations, chunks) == pytest.approx(1 / 3)
    assert citation_validity("No markers.", [], chunks) is None


def test_refusal_correct() -> None:
    assert refusal_correct(True, True) == refusal_correct(False, False) == 1.0
    assert refusal_correct(True, False) == refusal_correct(False, True) == 0.0


def test_choose_threshold_takes_the_widest_gap() -> None:
    t, false_refusals, false_answers = choose_threshold([0.5, 0.6, 0.7], [0.1, 0.2])
    assert t == pytest.approx(0.35) and false_refusals == false_answers == 0
    t, false_refusals, false_answers = choose_threshold([0.15, 0.5, 0.6], [0.1, 0.2])
    assert (false_refusals, false_answers) == (1, 0) and 0.2 < t < 0.5


def test_dev_dataset_is_valid_and_large_enough() -> None:
    cases = load_dataset(REPO / "evals" / "datasets" / "dev.jsonl")
    assert len(cases) >= 40
    assert {c.kind.value for c in cases} == {"fact", "howto", "precedent", "synthesis", "out_of_scope"}
    corpus = {p.stem for p in (REPO / "corpus").glob("*.md")}
    assert all(set(c.expected_sources) <= corpus for c in cases)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "question": "q", "kind": "trivia"}\n', "line 1: kind"),
        ('{"id": "a", "question": "q", "kind": "fact", "answer": "x"}\n', "line 1: answer: Extra inputs"),
        ('{"id": "a", "question": "q", "kind": "fact", "key_points": [[]]}\n', "key-point group"),
        (
            '{"id": "a", "question": "q", "kind": "fact"}\n{"id": "a", "question": "r", "kind": "fact"}\n',
            "duplicate id",
        ),
        ("not json\n", "line 1: not valid JSON"),
        ("", "no cases"),
    ],
)
def test_dataset_errors_name_the_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)
