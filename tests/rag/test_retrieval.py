from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from langchain_core.retrievers import BaseRetriever

from rag.compose import compose
from rag.core.models import SearchFilters
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.filters import chroma_where, date_key
from rag.index.retrieval import SearchIndex, rrf
from rag.index.retriever import HybridRetriever

ZCH_DOC = "business-society-public-services"
OPEN_BOOK = "open-book-social-innovation-notes"


def test_zero_carbon_hub_question_ranks_the_nhbc_passage_first(corpus_index: SearchIndex) -> None:
    results = corpus_index.search("Who set up the Zero Carbon Hub?", k=5)
    assert results[0].doc_id == ZCH_DOC
    assert "set up by the National House-Building Council" in results[0].text


def test_lexical_query_finds_pledgebanks_in_top_3(corpus_index: SearchIndex) -> None:
    results = corpus_index.search("pledgebanks", k=3)
    hits = [r for r in results if "pledgebanks" in r.text]
    assert hits and hits[0].doc_id == OPEN_BOOK
    assert hits[0].lexical_score is not None and hits[0].lexical_score > 0


@pytest.mark.parametrize(
    "query",
    [
        "a municipal government giving fledgling companies shared administrative support online",
        "an authority providing an online shared administration service for new small firms",
    ],
)
def test_semantic_paraphrase_finds_sunderland_virtual_back_office(corpus_index: SearchIndex, query: str) -> None:
    target_words = {"sunderland", "city", "council", "virtual", "back", "office", "local", "entrepreneurs"}
    assert not target_words & set(query.lower().split()), "the paraphrase must not reuse the passage's words"
    results = corpus_index.search(query, k=3)
    assert any("Sunderland City Council’s ‘virtual’ back office" in r.text for r in results), [
        (r.doc_id, r.text[:80]) for r in results
    ]


def test_result_text_is_the_verbatim_slice_of_the_source_file(corpus_index: SearchIndex) -> None:
    corpus = corpus_index.settings.corpus_dir
    for r in corpus_index.search("shared spaces with local business", k=8):
        source = (corpus / f"{r.doc_id}.md").read_text(encoding="utf-8")
        assert source[r.char_start : r.char_end] == r.text


def test_the_best_passages_are_read_with_their_neighbours(corpus_index: SearchIndex) -> None:
    results = corpus_index.search("How do the two social enterprises in the abstract differ?", k=6)
    extra = corpus_index.neighbours(results, top=2, window=1)
    assert extra and not {r.chunk_id for r in extra} & {r.chunk_id for r in results}
    corpus = corpus_index.settings.corpus_dir
    for r in extra:
        source = (corpus / f"{r.doc_id}.md").read_text(encoding="utf-8")
        assert source[r.char_start : r.char_end] == r.text  # a real passage, never a card
        assert r.chunk is not None
        assert any(b.chunk is not None and abs(r.chunk.chunk_index - b.chunk.chunk_index) == 1
                   for b in results[:2] if b.doc_id == r.doc_id)  # fmt: skip
    # the passage the cut left out: the one that describes the two cases
    assert any("The first case works with service users" in r.text for r in extra)
    assert corpus_index.neighbours(results, top=0, window=1) == []


def test_per_document_cap_limits_crowding(corpus_index: SearchIndex) -> None:
    capped = compose(corpus_index.settings.model_copy(update={"per_doc_cap": 1}), corpus_index.embeddings).index
    results = capped.search("social productivity shared value business public services", k=5)
    doc_ids = [r.doc_id for r in results]
    assert len(doc_ids) == len(set(doc_ids)) == 5


def test_filters_restrict_both_dense_and_lexical_sides(corpus_index: SearchIndex) -> None:
    only_essay = corpus_index.search("pledgebanks", k=5, filters=SearchFilters(doc_types=["essay"]))
    assert only_essay and {r.doc_id for r in only_essay} == {"citizen-centric-public-services"}

    by_id = corpus_index.search("Zero Carbon Hub", k=5, filters=SearchFilters(doc_ids=[OPEN_BOOK]))
    assert by_id and {r.doc_id for r in by_id} == {OPEN_BOOK}

    by_topic = corpus_index.search("innovation", k=5, filters=SearchFilters(topics=["co-production"]))
    assert by_topic and {r.doc_id for r in by_topic} == {"social-enterprise-co-production"}

    dated = corpus_index.search(
        "innovation", k=5, filters=SearchFilters(date_from=dt.date(2012, 1, 1), date_to=dt.date(2012, 12, 31))
    )
    assert dated and {r.doc_id for r in dated} == {ZCH_DOC}  # the only document that states a date

    assert corpus_index.search("innovation", k=5, filters=SearchFilters(date_from=dt.date(2020, 1, 1))) == []


def test_unknown_filter_field_is_an_error() -> None:
    with pytest.raises(ValueError, match="extra"):
        SearchFilters.model_validate({"author": "x"})


def test_hybrid_retriever_is_a_langchain_retriever(corpus_index: SearchIndex) -> None:
    retriever = HybridRetriever(index=corpus_index, k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("Who set up the Zero Carbon Hub?")
    assert len(docs) == 2
    assert docs[0].metadata["doc_id"] == ZCH_DOC and docs[0].metadata["chunk_id"] == docs[0].id


def test_rrf_rewards_agreement_between_rankings() -> None:
    fused = rrf([["a", "b", "c"], ["b", "d"]], k=60)
    assert max(fused, key=fused.__getitem__) == "b"
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    weighted = rrf([["a"], ["b"]], k=60, weights=[1.0, 0.5])
    assert weighted["a"] == pytest.approx(2 * weighted["b"])


def test_date_key_and_where_clause() -> None:
    assert date_key("2012-05-10") == 20120510
    assert date_key("2012") == 20120000
    assert date_key("May 2012") is None
    where = chroma_where(SearchFilters(doc_ids=["a"], topics=["x", "y"]))
    assert where == {
        "$and": [{"doc_id": {"$in": ["a"]}}, {"$or": [{"topics": {"$contains": "x"}}, {"topics": {"$contains": "y"}}]}]
    }
    assert chroma_where(SearchFilters()) is None


def test_the_single_text_path_gives_the_same_vectors_as_model_encode() -> None:
    """Without the traced transformer (tests/rag/test_traced.py holds that one to within 1e-5)."""
    embeddings = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0, traced=False)
    texts = ["Who set up the Zero Carbon Hub?", "voluntary taxes in Bogotá " * 80, "x", "Café — ‘quotes’ …"]
    for text in texts:
        ours = embeddings.encode([text])[0]
        theirs = embeddings.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
        assert np.array_equal(ours, theirs.astype(np.float32)), text
    # and a batch (the ingest path) agrees with the single-text path, row by row
    batch = embeddings.encode(texts)
    assert np.allclose(batch, np.stack([embeddings.encode([t])[0] for t in texts]), atol=1e-6)


def test_a_short_document_holding_the_best_passage_is_read_whole(corpus_index: SearchIndex) -> None:
    results = corpus_index.search("How do the two social enterprises in the abstract differ?", k=6)
    best = results[0].doc_id
    extra = corpus_index.short_documents(results, top=1, max_words=1200)
    passages = corpus_index.lexical.passages(best)
    assert sum(len(c.text.split()) for c in passages) <= 1200  # the abstract is short
    have = {r.chunk_id for r in results} | {r.chunk_id for r in extra}
    assert {c.chunk_id for c in passages} <= have  # every passage of it is read
    assert not {r.chunk_id for r in extra} & {r.chunk_id for r in results}  # none twice
    assert all(r.doc_id == best and not r.is_card for r in extra)
    # a document over the limit is not read whole, and 0 turns it off
    assert corpus_index.short_documents(results, top=1, max_words=50) == []
    assert corpus_index.short_documents(results, top=1, max_words=0) == []


def test_a_short_document_the_question_names_by_its_subject_is_read_whole(corpus_index: SearchIndex) -> None:
    """No passage of the social enterprise abstract is among the best for this question (other
    reports say "social" and "enterprise" more often); its title's phrase names it, so it is read."""
    question = "Where does the first social enterprise get most of its money?"
    results = corpus_index.search(question, k=6)
    assert "social-enterprise-co-production" not in {r.doc_id for r in results[:1]}
    extra = corpus_index.short_documents(results, top=0, max_words=1200, query=question)
    passages = corpus_index.lexical.passages("social-enterprise-co-production")
    assert {c.chunk_id for c in passages} <= {r.chunk_id for r in results} | {r.chunk_id for r in extra}
    assert {r.doc_id for r in extra} == {"social-enterprise-co-production"}
    assert corpus_index.short_documents(results, top=0, max_words=1200, query="What is social productivity?") == []
