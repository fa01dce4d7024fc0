"""The corpus side of an ingest: which files to read, where they are recorded, and what the store
already holds for each document (read from the chunks' own metadata, so it cannot drift)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders import SUPPORTED
from rag.core.chunks import Chunk
from rag.core.config import Settings

logger = logging.getLogger(__name__)

# Bumped when what a document is indexed as changes (2: a document card beside its passages;
# 3: pages on PDF chunks).
INDEX_FORMAT = 3


@dataclass
class IngestReport:
    files_seen: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)  # indexed files with parts left out
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    embeddings_computed: int = 0
    sentences_encoded: int = 0  # sentence vectors the answer composer reads, computed now (unchanged kept)
    cases_total: int | None = None  # the case library's records after this ingest (None: it did not move)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def skip(self, path: Path | str, reason: str, kind: str = "unreadable") -> None:
        """Report a file left out; ``kind`` is the reason's class (unsupported, too_large, ...)."""
        logger.warning("skipped %s: %s", path, reason)
        self.files_skipped.append({"path": str(path), "reason": reason, "kind": kind})

    def warn(self, path: Path | str, reason: str, kind: str) -> None:
        """Report part of an indexed file left out (a scanned page that cannot be read)."""
        logger.warning("%s: %s", path, reason)
        self.warnings.append({"path": str(path), "reason": reason, "kind": kind})


@dataclass
class DocState:
    """What the store holds for one document."""

    path: str = ""
    file_hash: str = ""
    chunk_count: int = -1
    ids: set[str] = field(default_factory=set)
    consistent: bool = True
    fresh: bool = True  # indexed in today's format (an older index is re-indexed, e.g. to gain cards)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index_state(records: Iterable[Chunk]) -> dict[str, DocState]:
    """Each indexed document's path, hash and chunks, and whether its last write completed, from
    the collection's records (``ChunkStore.iter_all``, without texts)."""
    state: dict[str, DocState] = {}
    for chunk in records:
        meta, doc = chunk.doc, state.setdefault(chunk.doc_id, DocState())
        doc.ids.add(chunk.chunk_id)
        doc.path = meta.path or doc.path
        if doc.file_hash and (meta.file_hash != doc.file_hash or meta.chunk_count != doc.chunk_count):
            doc.consistent = False  # a write was interrupted half-way
        doc.file_hash, doc.chunk_count = meta.file_hash, meta.chunk_count
        doc.fresh &= meta.index_format >= INDEX_FORMAT
    for doc in state.values():
        doc.consistent &= len(doc.ids) == doc.chunk_count
    return state


def discover(roots: list[Path], report: IngestReport) -> list[Path]:
    """The supported files under ``roots``: hidden files and links out of a folder are skipped."""
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            inside = root.resolve()
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if any(part.startswith(".") for part in rel.parts) or not path.is_file():
                    continue
                if path.is_symlink() and not path.resolve().is_relative_to(inside):
                    report.skip(
                        path, f"a symbolic link to {path.resolve()}, outside the folder being ingested", "outside"
                    )
                    continue
                if path.name.endswith(SIDECAR):  # read with the file it describes
                    if not path.with_name(path.name[: -len(SIDECAR)]).is_file():
                        report.skip(path, f"a metadata file for {path.name[: -len(SIDECAR)]}, which is not there",
                                    "orphan_metadata")  # fmt: skip
                elif path.suffix.lower() in SUPPORTED:
                    files.append(path)
                else:
                    report.skip(path, f"unsupported file type {path.suffix or '(none)'}", "unsupported")
        else:
            report.skip(root, "not found", "not_found")
    return files


SIDECAR = ".meta.yaml"  # review.pdf.meta.yaml: the front matter of review.pdf, which cannot carry its own


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR)


def sidecar_bytes(path: Path) -> bytes:
    meta = sidecar(path)
    return meta.read_bytes() if meta.is_file() else b""


def document_hash(data: bytes, extra: bytes = b"") -> str:
    """What the index records as a document's version: its file, and its metadata file if any
    (an edited metadata file re-indexes the document)."""
    return file_hash(data + extra)


def stored_path(settings: Settings, path: Path) -> str:
    """A file's path as the index records it: relative to the corpus dir when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(settings.corpus_dir.resolve()))
    except ValueError:
        return str(resolved)


def source_path(settings: Settings, stored: str) -> Path:
    p = Path(stored)
    return p if p.is_absolute() else settings.corpus_dir / p
