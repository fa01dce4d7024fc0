"""A follow-up is read with the turn before it, but answered about what it asks."""

from __future__ import annotations

import pytest

from rag.answer.pipeline import AnswerPipeline
from rag.index.retrieval import SearchIndex

HISTORY = [
    {"role": "user", "content": "Who set up the Zero Carbon Hub?"},
    {"role": "assistant", "content": "The National House-Building Council set it up [1]."},
]


@pytest.fixture(scope="module")
def pipeline(corpus_index: SearchIndex) -> AnswerPipeline:
    return AnswerPipeline(corpus_index.settings, corpus_index)


def test_a_follow_up_without_a_new_subject_is_about_the_last_turn(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("And who paid for it?", history=HISTORY)
    assert not answer.refused and "DCLG" in answer.answer


@pytest.mark.parametrize(("question", "name"), [("What about Sunderland?", "Sunderland"), ("And Bogota?", "Bogota")])
def test_a_follow_up_that_names_a_new_subject_is_answered_about_it(
    pipeline: AnswerPipeline, question: str, name: str
) -> None:
    answer = pipeline.ask(question, history=HISTORY)
    assert not answer.refused and answer.citations
    # what it says of the new subject is there, in bold (the sentences nearest the question)
    assert any(name in c.quote for c in answer.citations if c.highlight), answer.answer


def test_a_follow_up_about_something_the_library_lacks_is_refused(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("And what about the Eden Project?", history=HISTORY)
    assert answer.refused and not answer.citations
