"""A document that rewords another is one source: the original is cited and the reader is told."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer.notes import is_note, rewords_note
from rag.answer.pipeline import AnswerPipeline
from rag.answer.selection import TWIN, Candidate, SentenceSelector
from rag.core.chunks import Chunk, DocumentMeta
from rag.core.models import SearchResult
from rag.core.text import Span
from rag.index.retrieval import SearchIndex

COPY, ORIGINAL = "corporate-infrastructure-society", "business-society-public-services"


def _source(doc_id: str, date: str | None = None, authors: tuple[str, ...] = ()) -> SearchResult:
    doc = DocumentMeta(doc_id, doc_id, date=date, authors=authors)
    return SearchResult.of(Chunk(doc_id, doc, "x" * 50, "", 0, 50), score=1.0)


def test_the_undated_unattributed_document_is_the_copy() -> None:
    sources = [_source("copy"), _source("original", date="2012-05-10", authors=("A. Writer",)), _source("other")]
    cands = [Candidate(1, Span("a", 0, 1), 0), Candidate(2, Span("b", 0, 1), 0), Candidate(3, Span("c", 0, 1), 0)]
    vecs = np.array([[1.0, 0.0], [0.95, np.sqrt(1 - 0.95**2)], [0.0, 1.0]])
    assert SentenceSelector.twins(cands, vecs, sources) == {0: 1}
    # two dated addresses that repeat a line are two sources, not a copy and its original
    dated = [_source("2013", date="2013-02-12"), _source("2014", date="2014-01-28"), _source("other")]
    assert SentenceSelector.twins(cands, vecs, dated) == {}


@pytest.fixture(scope="module")
def pipeline(corpus_index: SearchIndex) -> AnswerPipeline:
    return AnswerPipeline(corpus_index.settings, corpus_index)


def test_a_point_both_documents_make_is_cited_once_to_the_original(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("What risks and opportunities do resource challenges bring?")
    docs = {c.doc_id for c in answer.citations}
    assert ORIGINAL in docs
    quotes = list(answer.citations)
    vecs = pipeline.index.embeddings.embed_cached([c.quote for c in quotes])
    for i, a in enumerate(quotes):
        for j, b in enumerate(quotes):
            if a.doc_id != b.doc_id:
                assert float(vecs[i] @ vecs[j]) < TWIN, (a.quote, b.quote)  # the same point, two "sources"
    titles = {c.doc_id: c.title for c in answer.citations}
    lines = [ln for ln in answer.answer.splitlines() if ln.startswith("“")]
    copy_title = next(r.title for r in pipeline.index.search("social productivity agenda", 20) if r.doc_id == COPY)
    assert rewords_note(copy_title, titles[ORIGINAL]) in lines and all(is_note(ln) for ln in lines), answer.answer


def test_no_note_when_no_cited_quote_is_reworded(pipeline: AnswerPipeline) -> None:
    """The original is cited, but for points the copy does not make: the note would be noise."""
    answer = pipeline.ask("Which body runs the Zero Carbon Hub, and what is its annual budget?")
    assert ORIGINAL in {c.doc_id for c in answer.citations}
    assert "rewords" not in answer.answer, answer.answer


def test_no_note_when_no_document_rewords_another(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("Where does the first social enterprise get most of its income?")
    assert "rewords" not in answer.answer


def test_a_copy_that_dropped_the_items_label_is_still_folded_into_the_original(pipeline: AnswerPipeline) -> None:
    """ "The forging of new shared values: Public Managers and businesses need to think beyond service
    delivery ..." and the copy's "Public managers should be encouraged to think beyond service delivery
    ...": the label keeps the vectors apart, the words say it is one point. It is cited once."""
    answer = pipeline.ask("How can public managers contribute to growth?")
    beyond = [c for c in answer.citations if "think beyond service delivery" in c.quote]
    assert [c.doc_id for c in beyond] == [ORIGINAL], answer.answer
    assert (
        rewords_note(
            "Corporate, Infrastructure, And Society: A Social Productivity Agenda",
            "Business, Society and Public Services: A social productivity framework",
        )
        in answer.answer
    )
