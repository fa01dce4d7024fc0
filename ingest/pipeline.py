"""The ingest stage: discover → load → chunk → embed (only new passages) → write → refresh BM25 →
encode the new passages' sentences for the answer composer.

Incremental by construction: each chunk in Chroma carries its file's hash and its document's chunk
count, so the manifest is read from the store itself and cannot drift from it. A changed file
re-embeds only passages whose content hash is new; a file that fails to load is reported and its
previously indexed version stays searchable. The parts: ``ingest.lock`` (one writer),
``ingest.corpus`` (what to read, what is indexed), ``ingest.prepare`` (a file into chunks), and
the writer here.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.corpus import DocState, IngestReport, discover, file_hash, index_state, source_path
from ingest.lock import IngestError, writer_lock
from ingest.prepare import Pending, Preparer
from ingest.sentences import store_sentence_vectors
from rag.cases.library import CaseLibrary
from rag.core.config import Settings
from rag.core.observability import observe_ingest
from rag.index.retrieval import SearchIndex

__all__ = ["IngestError", "IngestReport", "Ingestor", "file_hash"]

Progress = Callable[[int, int, str], None]  # (done, total, stage): files read, then sentences encoded

logger = logging.getLogger(__name__)


class Ingestor:
    """Runs ingests against one index; a file lock keeps to one writer per data dir."""

    def __init__(self, settings: Settings, index: SearchIndex, cases: CaseLibrary | None = None) -> None:
        self.settings = settings
        self.index = index
        self.cases = cases or CaseLibrary(index)
        self.preparer = Preparer(settings)

    # -- public ----------------------------------------------------------------------------------
    def run(
        self,
        paths: Iterable[Path] | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        lock_timeout: float = 30.0,
        purpose: str = "ingest",
    ) -> IngestReport:
        with self.writer_lock(lock_timeout, purpose):
            return self.run_locked(paths, rebuild, progress)

    def run_locked(
        self,
        paths: Iterable[Path] | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
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
            doc = index_state(self.index.store.iter_all()).get(doc_id)
            if doc is None or not doc.ids:
                raise KeyError(doc_id)
            if delete_file and doc.path:
                source = source_path(self.settings, doc.path).resolve()
                if source.is_relative_to(self.settings.corpus_dir.resolve()):
                    source.unlink(missing_ok=True)
            self.index.store.delete(sorted(doc.ids))
            self.index.refresh()
            self.index.mark_changed()
            store_sentence_vectors(self.index)  # its file goes
            self.cases.records()  # the case library moves with the index
            logger.info("removed %s (%d chunks) on request", doc_id, len(doc.ids))
            return len(doc.ids)

    @contextmanager
    def writer_lock(self, timeout: float, purpose: str = "ingest") -> Iterator[None]:
        """One writer at a time (see ``ingest.lock``)."""
        with writer_lock(self.settings, timeout, purpose):
            yield

    # -- stages ----------------------------------------------------------------------------------
    def _run(self, roots: list[Path], rebuild: bool, progress: Progress | None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        store = self.index.store
        if rebuild:
            store.reset()
            shutil.rmtree(self.settings.lexical_path, ignore_errors=True)
        records = list(store.iter_all())  # read once: the state below, and the lexical check when nothing changes
        state = index_state(records)
        files = discover(roots, report)
        report.files_seen = len(files)

        pending: list[Pending] = []
        claimed: dict[str, Path] = {}
        changed = False
        for i, path in enumerate(files, start=1):
            item = self.preparer.prepare(path, state, claimed, report)
            if item is not None:
                pending.append(item)
                if sum(len(p.chunks) - len(p.reused) for p in pending) >= self.settings.ingest_batch_chunks:
                    self._write(pending, report)
                    changed, pending = True, []
            if progress:
                progress(i, len(files), "files")
        if pending:
            self._write(pending, report)
            changed = True

        changed |= self._remove_missing(roots, state, claimed, report)
        # always: a writer killed between its writes and telling the readers (above) left the
        # collection ahead of this node's mirror; finding that here tells them now
        moved = self.index.refresh(None if changed else records)  # under the writer lock: unchanged since read
        if changed or rebuild or moved:
            self.index.mark_changed()
        if changed or rebuild or not self.settings.cases_path.exists():
            report.cases_total = len(self.cases.records())  # re-reads only the documents that changed
        # every time, not only on change: a crash part-way through this stage is finished here
        report.sentences_encoded = store_sentence_vectors(
            self.index, (lambda done, total: progress(done, total, "sentences")) if progress else None
        )
        report.chunks_total = store.count()
        report.seconds = round(time.perf_counter() - started, 3)
        if self.settings.metrics_enabled:
            observe_ingest(report)
        return report

    def _write(self, batch: list[Pending], report: IngestReport) -> None:
        """Embed every new passage of the batch in one call, then write new before deleting old."""
        store = self.index.store
        new = [(p, i) for p in batch for i, c in enumerate(p.chunks) if c.chunk_id not in p.reused]
        vectors = self.index.embeddings.encode([p.inputs[i] for p, i in new])
        report.embeddings_computed += len(new)
        if new:
            store.upsert([p.chunks[i] for p, i in new], vectors)
        reused = [c for p in batch for c in p.chunks if c.chunk_id in p.reused]
        if reused:
            store.update_metadata(reused)
        for p in batch:
            if p.stale:
                store.delete(p.stale)
            report.files_ingested += 1
            report.chunks_added += len(p.chunks) - len(p.reused)
            report.chunks_removed += len(p.stale)
            logger.info("ingested %s: %d chunks (%d new)", p.doc_id, len(p.chunks), len(p.chunks) - len(p.reused))
        if self.settings.chroma_url:  # the other nodes see each batch as it lands: what this ingest
            self.index.mark_changed()  # reports as ingested is searchable even if it dies before its end

    def _remove_missing(
        self, roots: list[Path], state: dict[str, DocState], claimed: dict[str, Path], report: IngestReport
    ) -> bool:
        """Drop documents whose file is gone from a scanned folder; single files never remove others."""
        dirs = [r.resolve() for r in roots if r.is_dir()]
        removed = False
        for doc_id, doc in state.items():
            if doc_id in claimed or not doc.ids:
                continue
            source = source_path(self.settings, doc.path).resolve() if doc.path else None
            if source is not None and source.exists():
                continue
            if source is None or any(source.is_relative_to(d) for d in dirs):
                self.index.store.delete(sorted(doc.ids))
                report.files_removed += 1
                report.chunks_removed += len(doc.ids)
                removed = True
                logger.info("removed %s (%d chunks): its file is gone", doc_id, len(doc.ids))
        return removed
