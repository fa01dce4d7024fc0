"""Documents' cards: who wrote a document, when, and what kind it is, answered from its front matter
and cited to where the front matter says it; a question about what documents say never gets a card."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.pipeline import AnswerPipeline
from rag.core.chunks import Chunk, DocumentMeta
from rag.index.cards import CARD_SECTION, asked_fields, document_card
from rag.index.retrieval import SearchIndex
from tests.rag.test_answers import assert_grounded

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
FRONT = """---
title: "A study"
authors:
  - Ann Lee      # byline
  - Bo Chen
date: 2012-05-10
doc_type: abstract
---

Body text here.
"""


@pytest.fixture(scope="module")
def pipeline(corpus_index: SearchIndex) -> AnswerPipeline:
    return AnswerPipeline(corpus_index.settings, corpus_index)


def test_a_card_states_each_field_and_points_at_its_value() -> None:
    meta = DocumentMeta("a-study", "A study", authors=("Ann Lee", "Bo Chen"), date="2012-05-10", doc_type="abstract")
    card = document_card(FRONT, FRONT.index("\n\n") + 2, meta)
    assert card is not None
    lines = card.text.splitlines()
    assert lines == ["“A study” was written by Ann Lee and Bo Chen.", "“A study” is dated 2012-05-10.",
                     "“A study” is an abstract."]  # fmt: skip
    located = {}
    for line in lines:
        start = card.text.index(line)
        where = Chunk("card", meta, card.text, card_spans=card.spans).locate(start, start + len(line))
        located[line] = FRONT[where[0] : where[1]]
    assert located[lines[1]] == "2012-05-10" and located[lines[2]] == "abstract"
    assert located[lines[0]].startswith("Ann Lee") and located[lines[0]].endswith("Bo Chen")


def test_no_front_matter_no_card() -> None:
    assert document_card("Just text.", 0, DocumentMeta("x", "x")) is None


def test_naming_a_document_by_its_kind_is_not_asking_about_it() -> None:
    assert asked_fields("What do the case studies in the social enterprise abstract show?") == set()
    assert asked_fields("What kind of place does the framework mean by shared spaces?") == set()
    assert asked_fields("Who wrote the post on business, society and public services?") == {"authors"}
    assert asked_fields("Which documents are blogs?") == {"doc_type"}


def test_who_wrote_a_document_is_answered_from_its_card(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("Who is the author of the paper comparing two social enterprises?")
    assert not answer.refused
    assert "Madeline Powell" in answer.answer and "Atif Shafique" not in answer.answer
    assert [c.section for c in answer.citations] == [CARD_SECTION]
    assert_grounded(answer, CORPUS)


def test_which_documents_are_blogs_lists_the_blogs_only(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("Which documents are blogs?")
    cited = {c.doc_id for c in answer.citations}
    blogs = {p.stem for p in CORPUS.glob("*.md") if "\ndoc_type: blog" in p.read_text(encoding="utf-8")}
    assert cited == blogs and len(blogs) == 2
    assert_grounded(answer, CORPUS)


def test_a_question_about_what_documents_say_gets_no_card(pipeline: AnswerPipeline) -> None:
    for question in ("Who set up the Zero Carbon Hub?", "What do the two social enterprise cases in the abstract do?"):
        answer = pipeline.ask(question)
        assert answer.citations and all(c.section != CARD_SECTION for c in answer.citations), question


def test_where_the_author_is_based_is_answered_from_the_card_affiliation(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("Who wrote the abstract on social enterprise, and where is she based?")
    assert "Madeline Powell" in answer.answer and "University of Sheffield" in answer.answer
    assert "does not say where" not in answer.answer
    assert all(c.section == CARD_SECTION for c in answer.citations)
    assert_grounded(answer, CORPUS)


def test_which_of_the_documents_is_an_abstract_is_answered_from_the_cards(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("Which of the documents is an abstract?")
    assert not answer.refused
    assert {c.doc_id for c in answer.citations} == {"social-enterprise-co-production"}
    assert_grounded(answer, CORPUS)
