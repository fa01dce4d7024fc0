"""The search box as a reference row, the dev-tune/dev-test split, and comparing with a baseline
from before either existed: hand-made examples, pure functions."""

from __future__ import annotations

import copy
import random
from collections import Counter
from typing import Any

import pytest

from evals.compare import compare, table
from evals.dataset import EvalCase, assign_splits, load_dataset
from evals.metrics import METRICS, first_on_gold, gold_covered, gold_recall, word_count
from evals.searchbox import answer_body, score_case, summarize
from rag.answer.sources import WEAK_NOTE
from tests.conftest import REPO


def _span(doc: str, start: int, end: int) -> dict[str, Any]:
    return {"doc_id": doc, "char_start": start, "char_end": end}


def test_gold_recall_counts_a_span_at_least_half_shown() -> None:
    gold = [[_span("a", 100, 200)]]
    assert gold_recall(gold, [_span("a", 150, 260)]) == 1.0  # 50 of 100 characters: exactly half counts
    assert gold_recall(gold, [_span("a", 151, 260)]) == 0.0  # 49: not
    assert gold_recall(gold, [_span("a", 100, 130), _span("a", 170, 200)]) == 1.0  # 30 + 30 from two ranges
    assert gold_recall(gold, [_span("a", 100, 140), _span("a", 120, 149)]) == 0.0  # overlap counted once: 49
    assert gold_recall(gold, [_span("b", 100, 200)]) == 0.0  # right offsets, wrong document
    assert gold_recall(gold, []) == 0.0  # a refusal shows none of it
    assert gold_recall([], [_span("a", 0, 10)]) is None  # nothing to find: undetermined


def test_every_gold_span_counts_not_every_group() -> None:
    """A point found in two places is two spans: showing one of them is half the spans (the group-level
    evidence_recall would give the point in full)."""
    gold = [[_span("a", 0, 100), _span("b", 0, 100)], [_span("a", 500, 600)]]
    assert gold_covered(gold, [_span("a", 0, 100)]) == (1, 3)
    assert gold_covered(gold, [_span("a", 0, 1000), _span("b", 0, 60)]) == (3, 3)


def test_first_citation_on_gold() -> None:
    gold = [[_span("a", 100, 200)]]
    assert first_on_gold([_span("a", 100, 200), _span("z", 0, 5)], gold) == 1.0
    assert first_on_gold([_span("z", 0, 5), _span("a", 100, 200)], gold) == 0.0  # gold, but not first
    assert first_on_gold([], gold) == 0.0
    assert first_on_gold([_span("a", 0, 5)], []) is None


def test_words_shown_leave_out_markers_list_marks_and_the_pipelines_own_lines() -> None:
    assert word_count("1. **Set up** a hub [1].\n- Fund it [2].") == 6
    assert word_count("The council’s co-production hub [3]") == 4  # an apostrophe or a hyphen joins a word
    text = f"The hub was set up by the NHBC [1].\n\n{WEAK_NOTE}"
    assert answer_body(text).strip() == "The hub was set up by the NHBC [1]."
    assert word_count(answer_body(text)) == 8


def _case(**fields: Any) -> EvalCase:
    base = {"id": "c", "question": "Who set up the hub?", "kind": "fact", "key_points": [["NHBC"], ["DCLG"]],
            "gold": [[{"doc_id": "a", "text": "x" * 100, "char_start": 100, "char_end": 200}]]}  # fmt: skip
    return EvalCase.model_validate(base | fields)


def test_a_case_is_scored_for_the_answer_and_for_the_search_box() -> None:
    case = _case()
    answer = {
        "answer": f"It was set up by the NHBC [1] with DCLG money [2].\n\n{WEAK_NOTE}",
        "refused": False,
        "query": "Who set up the hub? NHBC",
        "citations": [  # listed out of order: the first citation is n = 1, the off-gold one
            {"n": 2, "doc_id": "a", "char_start": 100, "char_end": 200},
            {"n": 1, "doc_id": "a", "char_start": 0, "char_end": 40},
        ],
    }
    passages = [
        {"doc_id": "a", "chunk_id": "k1", "char_start": 0, "char_end": 130, "text": "The NHBC set up the hub."},
        {"doc_id": "b", "chunk_id": "k2", "char_start": 0, "char_end": 100, "text": "Something else entirely."},
        {"doc_id": "a", "chunk_id": "k3", "char_start": 140, "char_end": 300, "text": "Its funding came later."},
        {"doc_id": "a", "chunk_id": "k4", "char_start": 300, "char_end": 400, "text": "DCLG: the fourth passage."},
    ]
    scored = score_case(case, answer, passages)
    assert scored["query"] == "Who set up the hub? NHBC"
    a, s = scored["answer"], scored["search"]
    assert (a["gold_covered"], a["gold_spans"], a["key_point_coverage"], a["first_on_gold"]) == (1, 1, 1.0, 0.0)
    assert a["words"] == 10  # the line about the sources is not counted
    assert [p["chunk_id"] for p in scored["passages"]] == ["k1", "k2", "k3"]  # the top three only
    assert s["gold_covered"] == 1  # 30 + 60 of its 100 characters, from the first and third passages
    assert s["key_point_coverage"] == 0.5  # "DCLG" is only in the fourth passage, which is not shown
    assert s["first_on_gold"] == 0.0  # the top passage holds 30 of 100 gold characters: not gold evidence
    assert s["words"] == 6 + 3 + 4
    refused = score_case(case, {**answer, "refused": True, "answer": "The library does not cover it."}, None)
    assert refused["answer"]["gold_recall"] == 0.0 and refused["answer"]["key_point_coverage"] == 0.0
    assert refused["search"] is None and refused["passages"] is None  # a target that cannot search


def _record(case_id: str, kind: str, answer: dict[str, Any], search: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": case_id, "kind": kind, "search_box": {"answer": answer, "search": search}}


def _shown(covered: int, spans: int, kp: float | None, first: float | None, words: int) -> dict[str, Any]:
    return {"gold_covered": covered, "gold_spans": spans, "gold_recall": covered / spans if spans else None,
            "key_point_coverage": kp, "first_on_gold": first, "words": words}  # fmt: skip


def test_summary_pools_spans_and_takes_ratios_over_answerable_cases() -> None:
    records = [
        _record("a", "fact", _shown(1, 1, 1.0, 1.0, 20), _shown(1, 1, 1.0, 1.0, 300)),
        _record("b", "contrast", _shown(1, 3, 0.5, 0.0, 40), _shown(0, 3, 0.0, 0.0, 280)),
        _record("c", "not_covered", _shown(0, 0, None, None, 12), _shown(0, 0, None, None, 310)),
    ]
    summary = summarize(records)
    assert summary["cases"] == 2  # the not-covered case is left out
    answer, search = summary["answer"], summary["search"]
    assert answer["gold_recall"] == 0.5  # pooled: 2 of 4 spans
    assert answer["gold_recall_case_mean"] == pytest.approx((1 + 1 / 3) / 2, abs=1e-4)
    assert (answer["key_point_coverage"], answer["first_on_gold"], answer["median_words"]) == (0.75, 0.5, 30)
    assert search["gold_recall"] == 0.25 and search["median_words"] == 290
    assert summary["ratio"] == {"gold_recall": 2.0, "key_point_coverage": 1.5, "median_words": 0.103}
    no_search = summarize([_record("a", "fact", _shown(1, 1, 1.0, 1.0, 20), None)])
    assert no_search["search"] is None and no_search["ratio"]["gold_recall"] is None


def _split_cases(kinds: dict[str, int]) -> list[EvalCase]:
    return [
        EvalCase.model_validate({"id": f"{kind}-{i}", "question": "q?", "kind": kind})
        for kind, n in kinds.items()
        for i in range(n)
    ]


def test_the_split_is_stratified_by_kind_and_stable() -> None:
    cases = _split_cases({"fact": 5, "howto": 4, "contrast": 1})
    splits = assign_splits(cases)
    counts = Counter((c.kind.value, splits[c.id]) for c in cases)
    assert counts == {("fact", "test"): 2, ("fact", "tune"): 3, ("howto", "test"): 2, ("howto", "tune"): 2,
                      ("contrast", "tune"): 1}  # fmt: skip
    shuffled = cases[:]
    random.Random(7).shuffle(shuffled)
    assert assign_splits(shuffled) == splits  # by id, not by position
    assert assign_splits(_split_cases({"fact": 5, "howto": 4, "contrast": 1})) == splits  # same on every call
    # a split once written is kept, and a new case fills its kind's short half
    written = [c.model_copy(update={"split": splits[c.id]}) for c in cases]
    grown = assign_splits([*written, EvalCase.model_validate({"id": "fact-new", "question": "q?", "kind": "fact"})])
    assert {k: grown[k] for k in splits} == splits and grown["fact-new"] == "test"
    two = [EvalCase.model_validate({"id": f"fact-new{i}", "question": "q?", "kind": "fact"}) for i in (1, 2)]
    both = assign_splits([*written, *two])
    assert sorted(both[c.id] for c in two) == ["test", "tune"]  # 7 facts: 3 to test, 2 of them already there


def test_the_dev_set_carries_a_stratified_split() -> None:
    cases = load_dataset(REPO / "evals" / "datasets" / "dev.jsonl")
    assert all(c.split in ("tune", "test") for c in cases)
    for kind in {c.kind for c in cases}:
        group = [c for c in cases if c.kind is kind]
        assert sum(c.split == "test" for c in group) == len(group) // 2, kind
    assert assign_splits([c.model_copy(update={"split": None}) for c in cases]) == {c.id: c.split for c in cases}


def _run(gold_recall: float, search_gold_recall: float, with_box: bool = True) -> dict[str, Any]:
    metrics = {k: 1.0 for k in METRICS}
    case = {"id": "c1", "kind": "fact", "passed": True, "latency_ms": 10.0,
            "metrics": {k: v for k, v in metrics.items() if not k.startswith("latency")}}  # fmt: skip
    run: dict[str, Any] = {"metrics": metrics, "cases": [case, {**copy.deepcopy(case), "id": "c2"}]}
    if with_box:
        side = {"gold_recall": gold_recall, "gold_recall_case_mean": gold_recall, "key_point_coverage": 1.0,
                "first_on_gold": 1.0, "median_words": 40}  # fmt: skip
        search = {**side, "gold_recall": search_gold_recall, "median_words": 300}
        run["search_box"] = {"answer": side, "search": search,
                             "ratio": {"gold_recall": round(gold_recall / search_gold_recall, 3)}}  # fmt: skip
    return run


def test_an_old_baseline_without_the_new_figures_is_not_comparable_not_failing() -> None:
    old, new = _run(0.9, 0.6, with_box=False), _run(0.9, 0.6)
    result = compare(old, new)
    assert result.ok
    assert "search_box.answer.gold_recall" in result.not_comparable
    assert "search_box.ratio.gold_recall" in result.not_comparable
    assert result.search_box["answer"]["gold_recall"] == {"base": None, "candidate": 0.9, "delta": None}
    assert "not comparable" in table(result)
    assert compare(new, new).ok and not compare(new, new).not_comparable


def test_the_gate_fails_on_the_answers_gold_recall_not_on_the_search_boxs() -> None:
    base = _run(0.9, 0.6)
    worse_answer = compare(base, _run(0.85, 0.6))
    assert not worse_answer.ok and worse_answer.regressions[0].startswith("search_box.answer.gold_recall fell")
    assert compare(base, _run(0.89, 0.6)).ok  # within the tolerance
    worse_search = compare(base, _run(0.9, 0.4))
    assert worse_search.ok and worse_search.search_box["search"]["gold_recall"]["delta"] == -0.2
    first = _run(0.9, 0.6)
    first["search_box"]["answer"]["first_on_gold"] = 0.9
    assert any(r.startswith("search_box.answer.first_on_gold") for r in compare(base, first).regressions)


def test_a_one_split_candidate_is_compared_with_the_same_cases_of_the_baseline() -> None:
    base = _run(0.9, 0.6, with_box=False)
    base["cases"][0]["metrics"]["key_point_coverage"] = 0.0  # c1, a tune case, failed its key points
    base["metrics"]["key_point_coverage"] = 0.5
    cand = copy.deepcopy(base)
    cand["manifest"] = {"split": "test"}
    cand["cases"] = cand["cases"][1:]  # c2 only
    cand["metrics"]["key_point_coverage"] = 1.0
    result = compare(base, cand)
    assert result.deltas["key_point_coverage"] == {"base": 1.0, "candidate": 1.0, "delta": 0.0, "delta_ci": None}
    assert result.note and not result.missing and result.ok


def test_the_report_puts_the_search_box_row_beside_the_answers() -> None:
    from evals.report import render

    run = _run(0.9, 0.6)
    box = {"answer": _shown(1, 1, 1.0, 1.0, 2), "search": _shown(0, 1, 0.0, 0.0, 300)}
    for case in run["cases"]:
        case.update(question="q?", answer="a [1].", citations=[], key_points=[], split="test", search_box=box)
    run["search_box"]["cases"] = 2
    run.update(
        manifest={"dataset": "d.jsonl", "dataset_sha256_16": "0", "target": "inproc", "models": {"generator": "x"},
                  "git_commit": None, "time": "now"},
        metric_ci={}, undetermined={}, by_kind={"fact": {"cases": 2, **run["metrics"]}},
        by_split={"test": {"cases": 2, "passed": 2, "metrics": run["metrics"], "search_box": run["search_box"]}},
    )  # fmt: skip
    page = render(run)
    answer_row = "<td>all cases (2)</td><td>answer</td><td>0.900</td>"
    search_row = "<td>all cases (2)</td><td>search box (top 3 passages)</td><td>0.600</td>"
    assert answer_row in page and search_row in page and "<td>answer ÷ search box</td><td>1.500</td>" in page
    assert "<td>split test (2)</td><td>search box (top 3 passages)</td>" in page and "<h2>By split</h2>" in page
    assert page.count("<tr class=") == 2 and "<td>1/1 / 0/1</td>" in page
