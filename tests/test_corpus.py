"""The corpus as received: front matter from the documents themselves, text verbatim, no furniture."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ingest.loaders import FRONT_MATTER
from rag.core.chunks import EVIDENCE_TYPES, LEVELS
from tests.conftest import CORPUS, SEEDS

FILES = sorted(CORPUS.glob("*.md"))
FURNITURE = ["Leave a Reply", "Fill in your details", "Subscribe to:", "Post Comments", "click here", "ReplyDelete",
             "view full abstract", "Log Out", "Advertisements", "Connecting to %s", "Paper.pdf"]  # fmt: skip


def split(path: Path) -> tuple[dict[str, object], str]:
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    assert match, f"{path.name} has no front matter"
    return yaml.safe_load(match.group(1)), text[match.end() :]


def norm(text: str) -> str:
    return " ".join(text.split())


def test_five_documents() -> None:
    assert len(FILES) == 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_front_matter_fields(path: Path) -> None:
    meta, _ = split(path)
    assert {"title", "doc_type", "source", "topics"} <= set(meta)
    assert set(meta) <= {"title", "authors", "publisher", "date", "doc_type", "source", "topics", "notes", "about",
                         "affiliation", "session", "evidence_type", "jurisdiction", "level"}  # fmt: skip
    assert meta["doc_type"] in {"report", "summary", "abstract", "blog", "essay"}
    assert meta["evidence_type"] in EVIDENCE_TYPES and meta["level"] in LEVELS and meta["jurisdiction"] == "UK"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_text_is_verbatim_from_its_seed_and_free_of_furniture(path: Path) -> None:
    meta, body = split(path)
    seed = SEEDS.parent.parent / "shared" / str(meta["source"])
    if not seed.exists():
        pytest.skip(f"{seed} is not beside this checkout")
    seed_text = norm(seed.read_text(encoding="utf-8"))
    for block in re.split(r"\n\s*\n", body):
        block = re.sub(r"^#+\s+", "", block.strip())
        if block:
            assert norm(block) in seed_text, f"{path.name}: not verbatim: {block[:80]!r}"
    for phrase in FURNITURE:
        assert phrase not in body, f"{path.name} still has page furniture: {phrase!r}"


def test_facts_in_metadata_are_stated_by_the_documents() -> None:
    for path in FILES:
        meta, _ = split(path)
        seed_path = SEEDS.parent.parent / "shared" / str(meta["source"])
        if not seed_path.exists():
            pytest.skip("seeds not beside this checkout")
        seed = seed_path.read_text(encoding="utf-8")
        for author in meta.get("authors", []) or []:  # type: ignore[union-attr]
            assert str(author) in seed
        if "publisher" in meta:
            assert str(meta["publisher"]) in seed
        if "date" in meta:
            assert "10th May 2012" in seed and str(meta["date"]) == "2012-05-10"
