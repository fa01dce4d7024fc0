"""The case library over the real corpus: the gold cases are found with their fields, every quote
is verbatim at its offsets, mentions merge across documents, and an ingest re-reads only the
documents that changed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from evals.cases import load_gold, score
from ingest.pipeline import Ingestor
from rag.cases.extract import mentions
from rag.cases.library import CaseLibrary, merge
from rag.cases.model import FIELDS
from rag.core.chunks import Chunk, DocumentMeta
from rag.core.config import Settings
from rag.index.retrieval import SearchIndex
from tests.conftest import CORPUS, REPO

GOLD = REPO / "evals" / "datasets" / "cases.jsonl"


@pytest.fixture(scope="module")
def library(corpus_index: SearchIndex) -> CaseLibrary:
    return CaseLibrary(corpus_index)


def test_the_corpus_cases_are_found_with_their_fields(library: CaseLibrary, corpus_index: SearchIndex) -> None:
    gold = load_gold(GOLD)
    assert len(gold) >= 15 and sum(not g.acceptable for g in gold) >= 11
    result = score(library.records(), gold, {c.chunk_id: c for c in corpus_index.lexical.chunks})
    assert result.precision >= 0.90, result.wrong
    assert result.recall >= 0.80, result.missed
    assert result.verbatim == 1.0
    assert min(result.field_accuracy.values()) >= 0.8, result.field_errors


def test_every_quote_is_the_source_file_at_its_offsets(library: CaseLibrary) -> None:
    records = library.records()
    assert records
    for r in records:
        for q in [*r.mentions, *(q for f in FIELDS for q in r.field(f))]:
            source = (CORPUS / f"{q.doc_id}.md").read_text(encoding="utf-8")
            assert source[q.char_start : q.char_end] == q.quote, (r.name, q)


def test_back_office_finds_sunderland_with_its_source(library: CaseLibrary) -> None:
    found = library.search("back office")
    assert found and found[0].name == "Sunderland City Council’s ‘virtual’ back office"
    sunderland = found[0]
    assert sunderland.stated("who") == "Sunderland City Council" and sunderland.stated("where") == "Sunderland"
    assert sunderland.stated("funding") == "not stated", "the summary does not say who paid for it"
    assert sunderland.documents == ["business-society-public-services"]
    assert all(r.name != "Open Data Institute" for r in found), "a case is not found by its neighbour's words"


def test_search_folds_accents_and_filters_by_document_and_topic(library: CaseLibrary) -> None:
    assert [r.name for r in library.search("Bogotá")] == ["voluntary taxes"]
    in_blog = library.search(doc_id="open-book-social-innovation-notes")
    assert in_blog and all("open-book-social-innovation-notes" in r.documents for r in in_blog)
    zero_carbon = library.search(topic="zero carbon hub")  # a topic of business-society-public-services only
    assert zero_carbon and all(r.documents == ["business-society-public-services"] for r in zero_carbon)
    assert library.search("no such thing anywhere") == []


def _chunk(doc_id: str, text: str) -> Chunk:
    return Chunk(chunk_id=f"{doc_id}-0", doc=DocumentMeta(doc_id, doc_id.title(), file_hash=doc_id), text=text,
                 char_start=0, char_end=len(text), chunk_index=0)  # fmt: skip


def test_mentions_of_one_case_merge_across_documents() -> None:
    a = _chunk("a", "The report looks at the Zero Carbon Hub, set up by the National House-Building Council.")
    b = _chunk("b", "The Zero Carbon Hub approach, funded by DCLG, has successfully cut emissions.")
    c = _chunk("c", "The first case works with tenants. Their approach is to meet them every week at home.")
    d = _chunk("d", "The first case works with farmers to sell produce at a weekly market.")
    records = merge({x.doc_id: mentions([x]) for x in (a, b, c, d)}, {})
    hub = [r for r in records if r.id == "zero-carbon-hub"]
    assert len(hub) == 1 and hub[0].documents == ["a", "b"]
    assert hub[0].stated("who") == "National House-Building Council"
    assert hub[0].stated("outcome") == "has successfully cut emissions"
    assert hub[0].stated("funding") == "funded by DCLG"
    firsts = [r for r in records if r.name == "The first case"]
    assert len(firsts) == 2, "two papers' 'first case' are two cases"
    tenants = next(r for r in firsts if r.documents == ["c"])
    assert [q.quote for q in tenants.what] == [
        "works with tenants",
        "Their approach is to meet them every week at home",
    ]


def test_a_publication_is_where_cases_are_read_about_not_a_case() -> None:
    """ "I've been looking at Nesta's Open Book of Social Innovation" names a book, and a precedent
    answer headed by it ("**Open Book of Social Innovation**: ... super interesting") names no case."""
    book = _chunk("a", "I’ve been looking at the Young Foundation & Nesta’s Open Book of Social Innovation this week.")
    review = _chunk("b", "The report looks at the Stern Review and at the Zero Carbon Hub, set up by the NHBC.")
    trust = _chunk("c", "The report looks at the Book Trust scheme, which gave every child a book.")
    names = [m.name for x in (book, review, trust) for m in mentions([x])]
    assert names == ["Zero Carbon Hub", "Book Trust"]  # a name that only starts with "Book" is kept


def test_an_ingest_reads_only_the_changed_document_again(
    make_settings: Callable[..., Settings],
    index_for: Callable[[Settings], SearchIndex],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    index = index_for(settings)
    first = Ingestor(settings, index).run()
    assert first.cases_total and settings.cases_path.exists()
    before = json.loads(settings.cases_path.read_text(encoding="utf-8"))["docs"]
    blog = Path(settings.corpus_dir) / "open-book-social-innovation-notes.md"
    blog.write_text(blog.read_text(encoding="utf-8") + "\n\nThe Leeds Tenancy Hub was set up by Leeds City Council "
                    "with funding from DCLG, and has successfully halved evictions.\n", encoding="utf-8")  # fmt: skip
    with caplog.at_level(logging.INFO, logger="rag.cases.library"):
        report = Ingestor(settings, index).run()
    assert "read 1 of 5 documents again" in caplog.text
    after = json.loads(settings.cases_path.read_text(encoding="utf-8"))["docs"]
    assert {d: e["signature"] for d, e in after.items() if d != blog.stem} == {
        d: e["signature"] for d, e in before.items() if d != blog.stem
    }
    leeds = CaseLibrary(index).get("leeds-tenancy-hub")
    assert leeds is not None and report.cases_total == first.cases_total + 1
    assert leeds.stated("who") == "Leeds City Council" and leeds.stated("where") == "Leeds"
    assert (
        leeds.stated("funding") == "funding from DCLG"
        and leeds.stated("outcome") == "has successfully halved evictions"
    )
    Ingestor(settings, index).remove(blog.stem)
    assert CaseLibrary(index).get("leeds-tenancy-hub") is None, "a removed document's cases go with it"
