"""The ingest stage: discover → load → chunk → embed (only new passages) → write → refresh BM25.

Incremental by construction: each chunk in Chroma carries its file's hash and its document's chunk
count, so the manifest is read from the store itself and cannot drift from it. A changed file
re-embeds only passages whose content hash is new; a file that fails to load is reported and its
previously indexed version stays searchable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy.exc import SQLAlchemyError

from ingest.chunking import SectionChunker, TextChunk, chunk_ids
from ingest.loaders import SUPPORTED, LoadError, load_bytes
from rag.core.config import Settings
from rag.core.observability import observe_ingest, observe_skip
from rag.index.cards import CARD_SECTION, CARD_SPANS, document_card
from rag.index.documents import embedding_input
from rag.index.retrieval import SearchIndex, date_key
from rag.persist.db import WriterLease, describe_self

logger = logging.getLogger(__name__)

# Bumped when what a document is indexed as changes (2: a document card beside its passages).
INDEX_FORMAT = 2
DOC_FIELDS = ("authors", "publisher", "date", "doc_type", "topics", "source", "about", "affiliation")


class IngestError(RuntimeError):
    """Raised by the ingest stage when it cannot run at all (lock held, store unreachable)."""


@dataclass
class IngestReport:
    files_seen: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    embeddings_computed: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def skip(self, path: Path | str, reason: str, kind: str = "unreadable") -> None:
        """Report a file left out; ``kind`` is the reason's class, a metric label."""
        logger.warning("skipped %s: %s", path, reason)
        self.files_skipped.append({"path": str(path), "reason": reason})
        observe_skip(kind)


@dataclass
class DocState:
    """What the store holds for one document."""

    path: str = ""
    file_hash: str = ""
    chunk_count: int = -1
    ids: set[str] = field(default_factory=set)
    consistent: bool = True
    fresh: bool = True  # indexed in today's format (an older index is re-indexed, e.g. to gain cards)


@dataclass
class Pending:
    doc_id: str
    ids: list[str]
    texts: list[str]
    inputs: list[str]
    metas: list[dict[str, Any]]
    stale: list[str]
    reused: set[str]


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
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


class Ingestor:
    """Runs ingests against one index; a file lock keeps to one writer per data dir."""

    def __init__(self, settings: Settings, index: SearchIndex | None = None) -> None:
        self.settings = settings
        self.index = index or SearchIndex(settings)
        self.chunker = SectionChunker(settings.chunk_max_words, settings.chunk_overlap_words, settings.chunk_min_words)

    # -- public ----------------------------------------------------------------------------------
    def run(
        self,
        paths: Iterable[Path] | None = None,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
        lock_timeout: float = 30.0,
        purpose: str = "ingest",
    ) -> IngestReport:
        with self.writer_lock(lock_timeout, purpose):
            return self.run_locked(paths, rebuild, progress)

    def run_locked(
        self,
        paths: Iterable[Path] | None = None,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """The ingest itself, for a caller that already holds :meth:`writer_lock`."""
        return self._run(list(paths) if paths else [self.settings.corpus_dir], rebuild, progress)

    def remove(
        self, doc_id: str, delete_file: bool = False, lock_timeout: float = 30.0, purpose: str = "delete"
    ) -> int:
        """Take a document out of the index (and its file out of the corpus dir, if asked).

        Returns the number of chunks removed; raises ``KeyError`` for an unknown document.
        The file goes first, so a crash in between leaves a document the next ingest removes.
        """
        with self.writer_lock(lock_timeout, purpose):
            doc = self._state().get(doc_id)
            if doc is None or not doc.ids:
                raise KeyError(doc_id)
            if delete_file and doc.path:
                source = self.source_path(doc.path).resolve()
                if source.is_relative_to(self.settings.corpus_dir.resolve()):
                    source.unlink(missing_ok=True)
            self.index.store.delete(sorted(doc.ids))
            self.index.refresh()
            self.index.mark_changed()
            logger.info("removed %s (%d chunks) on request", doc_id, len(doc.ids))
            return len(doc.ids)

    @contextmanager
    def writer_lock(self, timeout: float, purpose: str = "ingest") -> Iterator[None]:
        """One writer at a time: a file lock for the processes sharing this data dir and, with a
        Chroma server, a lease in the shared database for the nodes sharing that server."""
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        lock = FileLock(str(settings.lock_path))
        owner_path = settings.lock_path.with_name(settings.lock_path.name + ".owner")
        try:
            lock.acquire(timeout=timeout)
        except Timeout as exc:
            try:
                holder = json.loads(owner_path.read_text(encoding="utf-8"))
                who = f"{holder['owner']}, since {holder['since']}"
            except (OSError, ValueError, KeyError):
                who = "another process"
            raise IngestError(
                f"{purpose}: the library is being changed by {who}; waited {timeout:.0f} s for "
                f"the lock {settings.lock_path}. Try again when it finishes."
            ) from exc
        lease: WriterLease | None = None
        try:
            owner = describe_self(purpose)
            since = datetime.now(UTC).isoformat(timespec="seconds")
            owner_path.write_text(json.dumps({"owner": owner, "since": since}), encoding="utf-8")
            if settings.chroma_url:
                lease = self._take_lease(owner, deadline, purpose)
            yield
        finally:
            if lease is not None:
                try:
                    lease.release()
                except SQLAlchemyError as exc:  # it expires by itself
                    logger.warning("could not release the writer lease: %s", exc)
            owner_path.unlink(missing_ok=True)
            lock.release()

    def _take_lease(self, owner: str, deadline: float, purpose: str) -> WriterLease:
        if not self.settings.database_url:
            logger.warning(
                "the writer lease is in this node's own SQLite; set POLICYRAG_DATABASE_URL to a database "
                "every node shares, or two nodes can write to the Chroma server at once"
            )
        lease = WriterLease(self.settings)
        while True:
            try:
                holder = lease.try_acquire(owner)
            except SQLAlchemyError as exc:
                raise IngestError(f"{purpose}: cannot take the writer lease in the database: {exc}") from exc
            if holder is None:
                return lease
            if time.monotonic() >= deadline:
                since = datetime.fromtimestamp(holder.acquired_at, UTC).isoformat(timespec="seconds")
                left = max(0.0, holder.expires_at - time.time())
                raise IngestError(
                    f"{purpose}: the library on {self.settings.chroma_url} is being changed by {holder.owner}, "
                    f"since {since} (its lease runs out in {left:.0f} s unless renewed). Try again when it finishes."
                )
            time.sleep(0.5)

    # -- stages ----------------------------------------------------------------------------------
    def _run(self, roots: list[Path], rebuild: bool, progress: Callable[[int, int], None] | None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        store = self.index.store
        if rebuild:
            store.reset()
            shutil.rmtree(self.settings.lexical_path, ignore_errors=True)
        state = self._state()
        files = self.discover(roots, report)
        report.files_seen = len(files)

        pending: list[Pending] = []
        claimed: dict[str, Path] = {}
        changed = False
        for i, path in enumerate(files, start=1):
            item = self._prepare(path, state, claimed, report)
            if item is not None:
                pending.append(item)
                if sum(len(p.ids) - len(p.reused) for p in pending) >= self.settings.ingest_batch_chunks:
                    self._write(pending, report)
                    changed, pending = True, []
            if progress:
                progress(i, len(files))
        if pending:
            self._write(pending, report)
            changed = True

        changed |= self._remove_missing(roots, state, claimed, report)
        if changed or rebuild or self._lexical_stale():
            self.index.refresh()
            self.index.mark_changed()
        report.chunks_total = store.count()
        report.seconds = round(time.perf_counter() - started, 3)
        observe_ingest(report)
        return report

    def _state(self) -> dict[str, DocState]:
        state: dict[str, DocState] = {}
        for cid, meta, _ in self.index.store.iter_all():
            doc = state.setdefault(str(meta.get("doc_id", "")), DocState())
            doc.ids.add(cid)
            doc.path = str(meta.get("path", doc.path))
            fh, count = str(meta.get("file_hash", "")), int(meta.get("chunk_count", -1))
            if doc.file_hash and (fh != doc.file_hash or count != doc.chunk_count):
                doc.consistent = False  # a write was interrupted half-way
            doc.file_hash, doc.chunk_count = fh, count
            doc.fresh &= int(meta.get("index_format", 1)) >= INDEX_FORMAT
        for doc in state.values():
            doc.consistent &= len(doc.ids) == doc.chunk_count
        return state

    def discover(self, roots: list[Path], report: IngestReport) -> list[Path]:
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
                    if path.suffix.lower() in SUPPORTED:
                        files.append(path)
                    else:
                        report.skip(path, f"unsupported file type {path.suffix or '(none)'}", "unsupported")
            else:
                report.skip(root, "not found", "not_found")
        return files

    def stored_path(self, path: Path) -> str:
        resolved = path.resolve()
        try:
            return str(resolved.relative_to(self.settings.corpus_dir.resolve()))
        except ValueError:
            return str(resolved)

    def source_path(self, stored: str) -> Path:
        p = Path(stored)
        return p if p.is_absolute() else self.settings.corpus_dir / p

    def _prepare(
        self, path: Path, state: dict[str, DocState], claimed: dict[str, Path], report: IngestReport
    ) -> Pending | None:
        doc_id = path.stem
        rel = self.stored_path(path)
        if doc_id in claimed:
            report.skip(
                path,
                f"document id {doc_id!r} is already taken by {claimed[doc_id]}; rename one of them",
                "duplicate_id",
            )
            return None
        known = state.get(doc_id)
        if known and known.path and known.path != rel and self.source_path(known.path).exists():
            report.skip(
                path, f"document id {doc_id!r} is already taken by {known.path}; rename one of them", "duplicate_id"
            )
            return None
        claimed[doc_id] = path
        try:
            size = path.stat().st_size
            limit = self.settings.max_file_bytes
            if size > limit:
                report.skip(
                    path,
                    f"file is {size / 1048576:.1f} MB, over the {self.settings.max_file_mb:g} MB limit",
                    "too_large",
                )
                return None
            data = path.read_bytes()
        except OSError as exc:
            report.skip(path, f"cannot read the file ({exc.strerror or exc})")
            return None
        digest = file_hash(data)
        if known and known.consistent and known.file_hash == digest and known.path == rel and known.fresh:
            report.files_unchanged += 1
            return None
        try:
            doc = load_bytes(data, path)
            pieces = self.chunker.split(doc.text, doc.content_start)
            # A window repeated word for word (boilerplate, or a line of one word 20,000 times) is
            # kept once: copies add nothing to find, and many identical vectors degrade HNSW recall
            # for every other chunk near them.
            unique: dict[tuple[str, str], TextChunk] = {}
            for piece in pieces:
                unique.setdefault((piece.section, piece.text), piece)
            pieces = list(unique.values())
            if not pieces:
                raise LoadError("no text to index")
        except LoadError as exc:
            report.skip(path, str(exc), "load_error")
            return None

        title = str(doc.metadata.get("title") or doc_id)
        card = document_card(doc.text, doc.content_start, doc.metadata, title)
        if card is not None:  # its front matter, searchable: "who wrote ...", "which are blogs"
            pieces.append(TextChunk(card.text, CARD_SECTION, 0, doc.content_start))
        ids = chunk_ids(doc_id, pieces)
        base = _clean_meta({k: doc.metadata[k] for k in DOC_FIELDS if k in doc.metadata})
        if "date" in base and (key := date_key(base["date"])) is not None:
            base["date_key"] = key
        base.update(
            doc_id=doc_id,
            title=title,
            path=rel,
            file_hash=digest,
            file_type=path.suffix.lower().lstrip("."),
            chunk_count=len(pieces),
            index_format=INDEX_FORMAT,
        )
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

    def _write(self, batch: list[Pending], report: IngestReport) -> None:
        """Embed every new passage of the batch in one call, then write new before deleting old."""
        store = self.index.store
        new = [(p, i) for p in batch for i, cid in enumerate(p.ids) if cid not in p.reused]
        vectors = self.index.embeddings.encode([p.inputs[i] for p, i in new])
        report.embeddings_computed += len(new)
        if new:
            store.upsert(
                [p.ids[i] for p, i in new], vectors, [p.texts[i] for p, i in new], [p.metas[i] for p, i in new]
            )
        reused = [(p, i) for p in batch for i, cid in enumerate(p.ids) if cid in p.reused]
        if reused:
            store.update_metadata([p.ids[i] for p, i in reused], [p.metas[i] for p, i in reused])
        for p in batch:
            if p.stale:
                store.delete(p.stale)
            report.files_ingested += 1
            report.chunks_added += len(p.ids) - len(p.reused)
            report.chunks_removed += len(p.stale)
            logger.info("ingested %s: %d chunks (%d new)", p.doc_id, len(p.ids), len(p.ids) - len(p.reused))

    def _remove_missing(
        self, roots: list[Path], state: dict[str, DocState], claimed: dict[str, Path], report: IngestReport
    ) -> bool:
        """Drop documents whose file is gone from a scanned folder; single files never remove others."""
        dirs = [r.resolve() for r in roots if r.is_dir()]
        removed = False
        for doc_id, doc in state.items():
            if doc_id in claimed or not doc.ids:
                continue
            source = self.source_path(doc.path).resolve() if doc.path else None
            if source is not None and source.exists():
                continue
            if source is None or any(source.is_relative_to(d) for d in dirs):
                self.index.store.delete(sorted(doc.ids))
                report.files_removed += 1
                report.chunks_removed += len(doc.ids)
                removed = True
                logger.info("removed %s (%d chunks): its file is gone", doc_id, len(doc.ids))
        return removed

    def _lexical_stale(self) -> bool:
        return not (self.settings.lexical_path / "chunks.json").exists()
