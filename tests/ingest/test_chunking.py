from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from ingest.chunking import SectionChunker, chunk_ids, sections, word_count
from ingest.loaders import load_bytes

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def test_every_corpus_chunk_is_a_verbatim_slice_in_order_and_sized() -> None:
    chunker = SectionChunker(max_words=150, overlap_words=25, min_words=60)
    for path in sorted(CORPUS.glob("*.md")):
        doc = load_bytes(path.read_bytes(), path)
        chunks = chunker.split(doc.text, doc.content_start)
        assert chunks, path
        for c in chunks:
            assert doc.text[c.char_start : c.char_end] == c.text
            assert c.text.strip() == c.text and c.text
            assert word_count(c.text) <= 150
            assert c.char_start >= doc.content_start  # never the front matter
        starts = [c.char_start for c in chunks]
        assert starts == sorted(starts)


def test_chunks_cover_the_body_with_small_overlap() -> None:
    paragraphs = [" ".join(f"p{i}w{j}." for j in range(40)) for i in range(12)]
    text = "\n\n".join(paragraphs)
    chunks = SectionChunker(max_words=100, overlap_words=20, min_words=30).split(text)
    covered = set()
    for c in chunks:
        covered.update(range(c.char_start, c.char_end))
    words = [i for i, ch in enumerate(text) if not ch.isspace()]
    assert all(i in covered for i in words)
    overlaps = [a.char_end - b.char_start for a, b in pairwise(chunks)]
    assert any(o > 0 for o in overlaps)  # windows share some context
    assert all(word_count(text[b.char_start : a.char_end]) <= 20 for a, b in pairwise(chunks))
    assert all(word_count(c.text) <= 100 for c in chunks)


def test_heading_path_is_kept_per_section() -> None:
    text = (
        "# Guide\n\nIntro words here.\n\n## Setting up\n\nStep one.\n\n"
        "### Detail\n\nFine print.\n\n## Funding\n\nMoney.\n"
    )
    secs = sections(text)
    assert [s.path for s in secs] == ["Guide", "Guide > Setting up", "Guide > Setting up > Detail", "Guide > Funding"]
    chunks = SectionChunker().split(text)
    assert [(c.section, c.text) for c in chunks] == [
        ("Guide", "Intro words here."),
        ("Guide > Setting up", "Step one."),
        ("Guide > Setting up > Detail", "Fine print."),
        ("Guide > Funding", "Money."),
    ]


def test_list_items_are_not_split_mid_item() -> None:
    items = "\n".join(f"- item {i} " + " ".join(["word"] * 25) + "." for i in range(10))
    chunks = SectionChunker(max_words=100, overlap_words=0, min_words=10).split(items)
    for c in chunks:
        assert c.text.startswith("- item"), c.text[:30]
        assert c.text.endswith(".")


def test_chunk_ids_are_content_hashes_stable_across_position() -> None:
    chunker = SectionChunker(max_words=30, overlap_words=0, min_words=5)
    a = chunker.split("First paragraph " + "x " * 20 + "\n\nSecond paragraph " + "y " * 20)
    b = chunker.split(
        "Inserted paragraph "
        + "z " * 20
        + "\n\n"
        + "First paragraph "
        + "x " * 20
        + "\n\nSecond paragraph "
        + "y " * 20
    )
    ids_a, ids_b = chunk_ids("doc", a), chunk_ids("doc", b)
    assert set(ids_a) < set(ids_b)  # unchanged passages keep their id though their offsets moved
    assert chunk_ids("other", a) != ids_a
    dup = SectionChunker(max_words=5, overlap_words=0, min_words=1).split("same words here.\n\nsame words here.")
    assert len(set(chunk_ids("doc", dup))) == 2
