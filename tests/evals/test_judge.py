"""The optional LLM judge against a real OpenAI-compatible server (llama.cpp with SmolLM2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.judge import Judge
from evals.run import run
from evals.targets import InprocTarget
from rag.index.retrieval import SearchIndex
from rag.llm.chat import make_chat_model

pytestmark = [pytest.mark.server, pytest.mark.slow]

CASES = [
    {"id": "zch", "question": "Who set up the Zero Carbon Hub?", "kind": "fact",
     "expected_sources": ["business-society-public-services"], "key_points": [["National House-Building Council"]]},
    {"id": "bogota", "question": "What did the Mayor of Bogota ask for?", "kind": "fact",
     "expected_sources": ["open-book-social-innovation-notes"], "key_points": [["voluntary taxes"]]},
    {"id": "france", "question": "What is the capital of France?", "kind": "out_of_scope"},
]  # fmt: skip


def test_judge_scores_are_cached_repeated_and_never_nan(
    llm_server: str, corpus_index: SearchIndex, tmp_path: Path
) -> None:
    dataset = tmp_path / "small.jsonl"
    dataset.write_text("\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8")
    settings = corpus_index.settings
    judge_settings = settings.model_copy(
        update={"generator": "openai", "llm_base_url": llm_server, "llm_temperature": 0.7, "llm_max_tokens": 16}
    )

    def judged() -> tuple[dict, Judge]:
        judge = Judge(make_chat_model(judge_settings), "smollm2", tmp_path / "cache", repeats=2)
        return run(dataset, InprocTarget(settings, corpus_index), settings, judge=judge), judge

    first, judge = judged()
    answered = [c for c in first["cases"] if not c["refused"]]
    assert len(answered) == 2 and "judge" not in next(c for c in first["cases"] if c["refused"])
    assert judge.calls == 2 * 2 * len(answered)  # aspects x repeats x answered cases
    for case in answered:
        for aspect in ("faithfulness", "relevance"):
            value, spread, missing = (case["judge"][k] for k in (aspect, f"{aspect}_spread", f"{aspect}_undetermined"))
            assert value is None or (0.0 <= value <= 1.0 and spread[0] <= value <= spread[1])
            assert (value is None) == (missing == 2)
    summary = first["judge"]
    assert summary["repeats"] == 2 and set(summary["undetermined"]) == {"faithfulness", "relevance"}

    second, judge_again = judged()
    assert judge_again.calls == 0, "every rating came from the cache"
    assert second["judge"] == summary
