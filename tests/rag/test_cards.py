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


def test_a_document_without_the_field_asked_for_is_not_answered_from_another_ones_card(
    pipeline: AnswerPipeline,
) -> None:
    """The Open Book notes state no date: the answer must not give the 2012 post's date for them,
    nor pad "who wrote it" with the card's other fields."""
    for question in ("When was the Open Book notes post published?", "When was the Open Book post published?"):
        # the second names the document only by words of its own card ("Open Book"), which must
        # still say which card answers
        answer = pipeline.ask(question)
        assert "2012" not in answer.answer, question
        assert all(c.doc_id != "business-society-public-services" for c in answer.citations), question
    assert "does not say when the Open Book post was published" in answer.answer
    answer = pipeline.ask("Who published the paper on citizen centric public services?")
    assert "2020 Public Services Hub" not in answer.answer
    assert "does not say who published" in answer.answer
    answer = pipeline.ask("Who wrote the citizen centric paper?")
    assert all(c.section != CARD_SECTION for c in answer.citations)
    assert answer.refused or "does not say who wrote" in answer.answer
    # not answered by what the paper argues ("This paper has argued ..."): the reply names what is missing
    assert not answer.citations, answer.answer
    assert answer.answer.startswith("The library does not say who wrote the citizen centric paper."), answer.answer
    assert answer.not_stated == ["Who wrote the citizen centric paper"]


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


def test_which_documents_speak_of_a_subject_are_named_with_what_each_says(pipeline: AnswerPipeline) -> None:
    """A researcher asking which documents cover a subject gets the documents, each by its title,
    each quoting a sentence of its own that names the subject."""
    answer = pipeline.ask("Which documents talk about the circular economy?")
    lines = answer.answer.split("\n\n")[0].splitlines()
    titles = {c.doc_id: c.title for c in answer.citations}
    assert set(titles) == {"corporate-infrastructure-society", "business-society-public-services"}
    assert len(lines) == len(titles)
    for line in lines:
        title = next(t for t in titles.values() if line.startswith(f"- **“{t}”**: "))
        quoted = [c for c in answer.citations if f"[{c.n}]" in line]
        assert quoted and all(c.title == title for c in quoted)
        assert any("circular economy" in c.quote for c in quoted)
    assert_grounded(answer, CORPUS)
