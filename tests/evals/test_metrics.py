"""Metrics on hand-computed examples; dataset validation errors a person can act on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from evals.dataset import DatasetError, load_dataset
from evals.metrics import (
    citation_validity,
    evidence_precision,
    evidence_recall,
    gold_missed,
    hit_at_k,
    key_point_coverage,
    missing_named,
    ndcg_at_k,
    premise_corrected,
    recall_at_k,
    reciprocal_rank,
    refusal_correct,
)
from evals.thresholds import choose_cut as choose_threshold
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
    # a quote that runs on into the next chunk is checked against the passage its citation gives
    running = {"n": 1, "chunk_id": "c1", "quote": "the Council.\n\nOther", "passage": "by the Council.\n\nOther text."}
    assert citation_validity("A [1].", [running], chunks) == 1.0


def test_refusal_correct() -> None:
    assert refusal_correct(True, True) == refusal_correct(False, False) == 1.0
    assert refusal_correct(True, False) == refusal_correct(False, True) == 0.0


def test_choose_threshold_takes_the_widest_gap() -> None:
    t, false_refusals, false_answers = choose_threshold([0.5, 0.6, 0.7], [0.1, 0.2])
    assert t == pytest.approx(0.35) and false_refusals == false_answers == 0
    t, false_refusals, false_answers = choose_threshold([0.15, 0.5, 0.6], [0.1, 0.2])
    assert (false_refusals, false_answers) == (1, 0) and 0.2 < t < 0.5


def _span(doc: str, start: int, end: int) -> dict[str, object]:
    return {"doc_id": doc, "char_start": start, "char_end": end}


def test_evidence_precision_and_recall_by_hand() -> None:
    gold = [[_span("a", 100, 200)], [_span("a", 300, 400), _span("b", 0, 100)]]  # two points, the second in two places
    citations = [
        _span("a", 90, 210),  # the gold sentence, quoted with a little more around it
        _span("b", 40, 120),  # shares 60 of its 80 characters with the second point's span in document b
        _span("a", 150, 400),  # shares half of the first gold span (50 of 100): just counts
        _span("c", 100, 200),  # right offsets, wrong document
        _span("a", 195, 305),  # touches both gold spans by 5 characters: not evidence
    ]
    assert evidence_precision(citations, gold) == pytest.approx(3 / 5)
    assert evidence_recall(citations, gold) == 1.0
    assert evidence_recall([citations[0]], gold) == 0.5
    assert evidence_recall([], gold) == 0.0  # a refusal gives none of the evidence that was there
    assert evidence_precision([], gold) is None  # nothing cited: precision is undetermined, not 0
    assert evidence_precision(citations, []) is None and evidence_recall(citations, []) is None
    named = [[{**_span("a", 100, 200), "text": "first point"}], [{**_span("a", 300, 400), "text": "second point"}]]
    assert gold_missed(named, [citations[0]]) == ["second point"]


def test_missing_parts_must_be_named_as_not_stated() -> None:
    missing = [["pay", "paid", "funded"], ["budget"]]
    named_one = "Sunderland offers a virtual back office [1]. The library does not say who paid for it."
    assert missing_named(named_one, False, missing) == 0.5
    both = named_one + " Its budget is not stated in any document."
    assert missing_named(both, False, missing) == 1.0
    # the words alone are not enough: the sentence has to say they are missing
    assert missing_named("It was paid for from the budget [1].", False, missing) == 0.0
    # "does not say" about something else does not name the part
    assert missing_named("The library does not say when it opened.", False, missing) == 0.0
    assert missing_named("The library does not cover this.", True, missing) == 0.0  # a refusal does not separate
    assert missing_named(named_one, False, []) is None


def test_a_false_premise_is_corrected_first_and_with_evidence() -> None:
    gold = [[_span("a", 0, 100)]]
    cited = [_span("a", 0, 100)]
    fixed = "The question assumes Greenpeace; in fact the hub was set up by the NHBC [1]. It had DCLG money [1]."
    assert premise_corrected(fixed, False, cited, gold, True) == 1.0
    late = "The hub was set up by the NHBC [1]. The premise is wrong [1]."
    assert premise_corrected(late, False, cited, gold, True) == 0.0  # said, but not first
    assert premise_corrected(fixed, False, [_span("z", 0, 100)], gold, True) == 0.0  # no evidence for it
    assert premise_corrected(fixed, True, cited, gold, True) == 0.0
    assert premise_corrected(fixed, False, cited, gold, False) is None


def test_dev_dataset_is_valid_and_large_enough() -> None:
    cases = load_dataset(REPO / "evals" / "datasets" / "dev.jsonl")
    assert len(cases) >= 100
    assert {c.kind.value for c in cases} == {
        "fact", "howto", "precedent", "definition", "contrast", "followup", "partly_covered", "not_covered",
        "false_premise",
    }  # fmt: skip
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
