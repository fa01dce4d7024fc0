"""Document preparation: one file read, loaded, chunked and turned into the chunks to write,
with their metadata built here and nowhere else."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ingest.chunking import SectionChunker, TextChunk, chunk_ids
from ingest.corpus import (
    INDEX_FORMAT,
    DocState,
    IngestReport,
    document_hash,
    sidecar,
    sidecar_bytes,
    source_path,
    stored_path,
)
from ingest.loaders import LoadedDocument, LoadError, load_bytes, parse_sidecar, with_sidecar
from rag.core.chunks import Chunk, DocumentMeta
from rag.core.config import Settings
from rag.index.cards import CARD_SECTION, document_card
from rag.index.documents import embedding_input


@dataclass
class Pending:
    """One document's chunks, ready to write: ``reused`` are already stored, ``stale`` go;
    ``inputs`` are what is embedded for each chunk."""

    doc_id: str
    chunks: list[Chunk]
    inputs: list[str]
    stale: list[str]
    reused: set[str]


def paged(doc: LoadedDocument, piece: TextChunk) -> dict[str, Any]:
    """The pages a piece of a paged document (a PDF) runs over, where the later ones begin, and
    whether any of them was read by OCR."""
    starts = doc.page_starts
    if not starts or piece.section == CARD_SECTION:
        return {}
    first = max(1, bisect_right(starts, piece.char_start))
    last = max(first, bisect_right(starts, max(piece.char_start, piece.char_end - 1)))
    breaks = tuple(starts[n - 1] for n in range(first + 1, last + 1))
    ocr = tuple(n for n in range(first, last + 1) if n in doc.ocr_pages)
    return {"page_start": first, "page_end": last, "page_breaks": breaks, "ocr_pages": ocr}


class Preparer:
    """Turns a file into a ``Pending`` write, or reports why it is skipped or unchanged."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.chunker = SectionChunker(settings.chunk_max_words, settings.chunk_overlap_words, settings.chunk_min_words)

    def prepare(
        self, path: Path, state: dict[str, DocState], claimed: dict[str, Path], report: IngestReport
    ) -> Pending | None:
        doc_id, rel = path.stem, stored_path(self.settings, path)
        known = state.get(doc_id)
        if not self._claim(path, doc_id, rel, known, claimed, report):
            return None
        data = self._read(path, report)
        if data is None:
            return None
        extra = sidecar_bytes(path)
        digest = document_hash(data, extra)
        if known and known.consistent and known.file_hash == digest and known.path == rel and known.fresh:
            report.files_unchanged += 1
            return None
        try:
            doc = load_bytes(data, path)
            if extra:
                doc = with_sidecar(doc, path, parse_sidecar(extra, sidecar(path).name))
            pieces = self._pieces(doc)
        except LoadError as exc:
            report.skip(path, str(exc), "load_error")
            return None
        for warning in doc.warnings:
            report.warn(path, warning, "page_skipped")
        return self._pending(path, doc_id, rel, digest, doc, pieces, known)

    def _claim(
        self, path: Path, doc_id: str, rel: str, known: DocState | None, claimed: dict[str, Path], report: IngestReport
    ) -> bool:
        """One file per document id: a second file of the same name is skipped, not merged."""
        taken = str(claimed[doc_id]) if doc_id in claimed else None
        if taken is None and known and known.path and known.path != rel:
            taken = known.path if source_path(self.settings, known.path).exists() else None
        if taken is not None:
            report.skip(path, f"document id {doc_id!r} is already taken by {taken}; rename one of them", "duplicate_id")
            return False
        claimed[doc_id] = path
        return True

    def _read(self, path: Path, report: IngestReport) -> bytes | None:
        try:
            size = path.stat().st_size
            if size > self.settings.max_file_bytes:
                limit = f"{self.settings.max_file_mb:g} MB"
                report.skip(path, f"file is {size / 1048576:.1f} MB, over the {limit} limit", "too_large")
                return None
            return path.read_bytes()
        except OSError as exc:
            report.skip(path, f"cannot read the file ({exc.strerror or exc})")
            return None

    def _pieces(self, doc: LoadedDocument) -> list[TextChunk]:
        """The document's windows. One repeated word for word (boilerplate, or a line of one word
        20,000 times) is kept once: copies add nothing to find, and many identical vectors degrade
        HNSW recall for every other chunk near them."""
        unique: dict[tuple[str, str], TextChunk] = {}
        for piece in self.chunker.split(doc.text, doc.content_start):
            unique.setdefault((piece.section, piece.text), piece)
        if not unique:
            raise LoadError("no text to index")
        return list(unique.values())

    def _pending(
        self,
        path: Path,
        doc_id: str,
        rel: str,
        digest: str,
        doc: LoadedDocument,
        pieces: list[TextChunk],
        known: DocState | None,
    ) -> Pending:
        title = str(doc.metadata.get("title") or doc_id)
        kind = path.suffix.lower().lstrip(".")
        meta = DocumentMeta.from_front_matter(doc.metadata, doc_id=doc_id, title=title, path=rel, file_hash=digest,
                                              file_type=kind, index_format=INDEX_FORMAT,
                                              pages=len(doc.page_starts) if doc.page_starts else None)  # fmt: skip
        card = document_card(doc.text, doc.content_start, meta)
        if card is not None:  # its front matter, searchable: "who wrote ...", "which are blogs"
            pieces.append(TextChunk(card.text, CARD_SECTION, 0, doc.content_start))
        meta = replace(meta, chunk_count=len(pieces))
        chunks = [
            Chunk(cid, meta, p.text, p.section, p.char_start, p.char_end, i, **paged(doc, p))
            for i, (cid, p) in enumerate(zip(chunk_ids(doc_id, pieces), pieces, strict=True))
        ]
        if card is not None:
            chunks[-1] = replace(chunks[-1], card_spans=card.spans)
        existing, ids = (known.ids if known else set()), {c.chunk_id for c in chunks}
        return Pending(
            doc_id=doc_id,
            chunks=chunks,
            inputs=[embedding_input(title, p.section, p.text) for p in pieces],
            stale=sorted(existing - ids),
            reused=existing & ids,
        )
