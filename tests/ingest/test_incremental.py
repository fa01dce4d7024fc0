"""Incremental, idempotent ingestion on the real corpus, real model and real embedded Chroma."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ingest.pipeline import Ingestor
from rag.compose import compose
from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.retrieval import SearchIndex

ZCH = "business-society-public-services"
OPEN_BOOK = "open-book-social-innovation-notes"


def doc_chunks(index: SearchIndex) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for chunk in index.store.iter_all():
        out.setdefault(chunk.doc_id, set()).add(chunk.chunk_id)
    return out


def test_unchanged_reingest_computes_no_embeddings_and_never_loads_the_model(
    ingested: tuple[Settings, SearchIndex],
) -> None:
    settings, index = ingested
    before = doc_chunks(index)
    fresh = compose(settings, MiniLMEmbeddings()).index  # a new process would start like this
    report = Ingestor(settings, fresh).run()
    assert report.files_unchanged == 5 and report.files_ingested == 0
    assert report.embeddings_computed == 0 and report.chunks_added == report.chunks_removed == 0
    assert fresh.embeddings._model is None, "a no-op ingest must not load the embedding model"
    assert doc_chunks(index) == before


def test_edited_file_replaces_only_its_own_changed_chunks(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    before = doc_chunks(index)
    path = settings.corpus_dir / f"{OPEN_BOOK}.md"
    text = path.read_text(encoding="utf-8")
    old = "community pledgebanks"
    assert text.count(old) == 1
    path.write_text(text.replace(old, "neighbourhood crowdmatch pools"), "utf-8")

    report = Ingestor(settings, index).run()
    after = doc_chunks(index)
    assert report.files_ingested == 1 and report.files_unchanged == 4
    changed = before[OPEN_BOOK] - after[OPEN_BOOK]
    assert 1 <= len(changed) < len(before[OPEN_BOOK]), "only the passages around the edit change"
    assert report.embeddings_computed == report.chunks_added == len(after[OPEN_BOOK] - before[OPEN_BOOK])
    assert report.chunks_removed == len(changed)
    assert {d: c for d, c in after.items() if d != OPEN_BOOK} == {d: c for d, c in before.items() if d != OPEN_BOOK}

    hits = index.search("crowdmatch pools", k=3)
    assert hits[0].doc_id == OPEN_BOOK and "crowdmatch" in hits[0].text
    assert not any("pledgebanks" in r.text for r in index.search("pledgebanks", k=10))
    source = path.read_text(encoding="utf-8")
    for r in index.search("matched public funding", k=5):
        if r.doc_id == OPEN_BOOK:
            assert source[r.char_start : r.char_end] == r.text  # offsets follow the edit


def test_deleted_file_loses_its_chunks(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    before = doc_chunks(index)
    (settings.corpus_dir / f"{ZCH}.md").unlink()
    report = Ingestor(settings, index).run()
    assert report.files_removed == 1 and report.chunks_removed == len(before[ZCH])
    assert report.chunks_total == sum(len(c) for c in before.values()) - len(before[ZCH])
    assert ZCH not in doc_chunks(index)
    assert all(r.doc_id != ZCH for r in index.search("Who set up the Zero Carbon Hub?", k=10))


def test_ingesting_one_file_never_removes_the_others(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    report = Ingestor(settings, index).run([settings.corpus_dir / f"{ZCH}.md"])
    assert report.files_seen == 1 and report.files_unchanged == 1 and report.files_removed == 0
    assert len(doc_chunks(index)) == 5


def test_rebuild_starts_over(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    total = index.store.count()
    report = Ingestor(settings, index).run(rebuild=True)
    assert report.files_ingested == 5 and report.embeddings_computed == total == report.chunks_total


def test_bad_files_are_skipped_with_reasons_and_the_index_stays_intact(
    ingested: tuple[Settings, SearchIndex], make_settings: Callable[..., Settings]
) -> None:
    settings, index = ingested
    corpus = settings.corpus_dir
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (corpus / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage \xff\xfe")
    (corpus / "latin1.txt").write_bytes("Une politique publique à Bogotá".encode("latin-1"))
    (corpus / "huge.txt").write_text("word " * 300_000, encoding="utf-8")  # ~1.5 MB
    (corpus / "good.txt").write_text("Voluntary neighbourhood tool libraries lend drills.\n", encoding="utf-8")
    small = settings.model_copy(update={"max_file_mb": 1.0})

    report = Ingestor(small, index).run()
    reasons = {Path(s["path"]).name: s["reason"] for s in report.files_skipped}
    assert set(reasons) == {"empty.md", "binary.txt", "corrupt.pdf", "latin1.txt", "huge.txt"}
    assert reasons["empty.md"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "PDF" in reasons["corrupt.pdf"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "over the 1 MB limit" in reasons["huge.txt"]
    assert report.files_ingested == 1 and report.files_unchanged == 5 and report.files_removed == 0
    assert index.search("Who set up the Zero Carbon Hub?", k=1)[0].doc_id == ZCH
    assert index.search("tool libraries lend drills", k=1)[0].doc_id == "good"


def test_a_file_that_turns_corrupt_keeps_its_previous_version_searchable(
    ingested: tuple[Settings, SearchIndex],
) -> None:
    settings, index = ingested
    before = doc_chunks(index)[OPEN_BOOK]
    (settings.corpus_dir / f"{OPEN_BOOK}.md").write_bytes(b"\xff\xfe\x00broken")
    report = Ingestor(settings, index).run()
    assert [Path(s["path"]).name for s in report.files_skipped] == [f"{OPEN_BOOK}.md"]
    assert doc_chunks(index)[OPEN_BOOK] == before
    assert index.search("pledgebanks", k=1)[0].doc_id == OPEN_BOOK


def test_an_interrupted_write_is_repaired_by_the_next_run(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    ids = sorted(doc_chunks(index)[OPEN_BOOK])
    index.store.delete(ids[:1])  # as if a crash lost part of a document's chunks
    report = Ingestor(settings, index).run()
    assert report.files_ingested == 1 and report.embeddings_computed == 1
    assert sorted(doc_chunks(index)[OPEN_BOOK]) == ids


def test_duplicate_document_ids_are_refused(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    sub = settings.corpus_dir / "more"
    sub.mkdir()
    (sub / f"{ZCH}.txt").write_text("Another document with the same stem.\n", encoding="utf-8")
    report = Ingestor(settings, index).run()
    assert len(report.files_skipped) == 1 and "already taken" in report.files_skipped[0]["reason"]
    assert "Another document" not in " ".join(r.text for r in index.search("another document same stem", k=10))


def test_an_index_of_the_previous_format_is_reindexed_and_gains_cards(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    entries = list(index.store.iter_all())
    cards = {c.doc_id for c in entries if c.is_card}
    assert cards == {p.stem for p in settings.corpus_dir.glob("*.md")}  # every seed has front matter
    # What an index written before cards looked like: no card, and format 1 (what a missing stamp reads as).
    index.store.delete([c.chunk_id for c in entries if c.is_card])
    old = [replace(c, doc=replace(c.doc, index_format=1, chunk_count=c.doc.chunk_count - 1))
           for c in entries if not c.is_card]  # fmt: skip
    index.store.update_metadata(old)

    report = Ingestor(settings, index).run()
    assert report.files_ingested == 5 and report.files_unchanged == 0
    assert report.embeddings_computed == 5, "only the cards are new; every passage keeps its embedding"
    assert {c.doc_id for c in index.store.iter_all() if c.is_card} == cards
