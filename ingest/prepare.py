"""Document preparation: one file read, loaded, chunked and turned into the chunks to write,
with their metadata built here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.chunking import SectionChunker, TextChunk, chunk_ids
from ingest.corpus import INDEX_FORMAT, DocState, IngestReport, file_hash, source_path, stored_path
from ingest.loaders import LoadedDocument, LoadError, load_bytes
from rag.core.config import Settings
from rag.index.cards import CARD_SECTION, CARD_SPANS, document_card
from rag.index.documents import embedding_input
from rag.index.filters import date_key

DOC_FIELDS = ("authors", "publisher", "date", "doc_type", "topics", "source", "about", "affiliation")


@dataclass
class Pending:
    """One document's chunks, ready to write: ``reused`` are already stored, ``stale`` go."""

    doc_id: str
    ids: list[str]
    texts: list[str]
    inputs: list[str]
    metas: list[dict[str, Any]]
    stale: list[str]
    reused: set[str]


def clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma takes scalars and non-empty lists of scalars."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, list):
            value = [str(v) for v in value if str(v).strip()]
            if value:
                out[key] = value
        elif isinstance(value, str | int | float | bool):
            out[key] = value
        elif value is not None:
            out[key] = str(value)
    return out


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
        digest = file_hash(data)
        if known and known.consistent and known.file_hash == digest and known.path == rel and known.fresh:
            report.files_unchanged += 1
            return None
        try:
            doc = load_bytes(data, path)
            pieces = self._pieces(doc)
        except LoadError as exc:
            report.skip(path, str(exc), "load_error")
            return None
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
        card = document_card(doc.text, doc.content_start, doc.metadata, title)
        if card is not None:  # its front matter, searchable: "who wrote ...", "which are blogs"
            pieces.append(TextChunk(card.text, CARD_SECTION, 0, doc.content_start))
        ids = chunk_ids(doc_id, pieces)
        base = clean_meta({k: doc.metadata[k] for k in DOC_FIELDS if k in doc.metadata})
        if "date" in base and (key := date_key(base["date"])) is not None:
            base["date_key"] = key
        base.update(doc_id=doc_id, title=title, path=rel, file_hash=digest, file_type=path.suffix.lower().lstrip("."),
                    chunk_count=len(pieces), index_format=INDEX_FORMAT)  # fmt: skip
        metas = [
            {**base, "section": p.section, "char_start": p.char_start, "char_end": p.char_end, "chunk_index": i}
            for i, p in enumerate(pieces)
        ]
        if card is not None:
            metas[-1][CARD_SPANS] = card.spans_json()
        existing = known.ids if known else set()
        return Pending(
            doc_id=doc_id,
            ids=ids,
            texts=[p.text for p in pieces],
            inputs=[embedding_input(title, p.section, p.text) for p in pieces],
            metas=metas,
            stale=sorted(existing - set(ids)),
            reused=existing & set(ids),
        )
