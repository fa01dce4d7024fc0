"""``policyrag doctor``: does the index agree with itself and with the corpus, and if not, repair it.

A crash (``kill -9``, power loss) can stop an ingest between any two writes. Chroma commits each
write on its own, so what can be left behind is a document written half-way, chunks of a file
that is gone, a lexical cache built from an older collection, or temporary files. The doctor
names each of these; ``--repair`` takes the writer lock, drops what cannot be trusted and lets
an ordinary ingest write it again, then checks once more.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.corpus import IngestReport, discover, document_hash, sidecar_bytes, source_path, stored_path
from ingest.lock import writer_lock
from ingest.pipeline import Ingestor
from ingest.sentences import fingerprint as sentences_fingerprint
from rag.core.chunks import Chunk
from rag.core.config import Settings
from rag.index.lexical import LexicalIndex, fingerprint
from rag.index.retrieval import SearchIndex

logger = logging.getLogger(__name__)

VECTOR_SAMPLE = 400  # chunks looked up in the vector index by their own embedding
# The corpus and the index differ, which the next ingest settles; every other kind means the
# index disagrees with itself.
PENDING = frozenset({"not_indexed", "changed_file", "missing_file", "stale_sentence_vectors"})


@dataclass
class Finding:
    """One disagreement. ``kind`` is stable (scripts match on it); ``detail`` is for people."""

    kind: str
    subject: str
    detail: str
    chunk_ids: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.kind in PENDING

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["chunks"] = len(out.pop("chunk_ids"))
        out["severity"] = "pending" if self.pending else "error"
        return out


@dataclass
class DoctorReport:
    chunks: int = 0
    documents: int = 0
    corpus_files: int = 0
    vectors_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    ingest: dict[str, Any] | None = None

    @property
    def clean(self) -> bool:
        """Chroma, the lexical cache and the per-chunk manifest agree (the corpus may still differ)."""
        return not any(not f.pending for f in self.findings)

    @property
    def up_to_date(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "up_to_date": self.up_to_date,
            "chunks": self.chunks,
            "documents": self.documents,
            "corpus_files": self.corpus_files,
            "vectors_checked": self.vectors_checked,
            "findings": [f.to_dict() for f in self.findings],
            "repaired": self.repaired,
            "ingest": self.ingest,
        }


class Doctor:
    """Checks (and repairs) one index against one corpus folder."""

    def __init__(self, settings: Settings, index: SearchIndex) -> None:
        self.settings = settings
        self.index = index

    # -- check -----------------------------------------------------------------------------------
    def check(self) -> DoctorReport:
        report = DoctorReport()
        entries = list(self.index.store.iter_all())
        report.chunks = len(entries)
        docs: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in entries:
            meta = chunk.doc
            if not meta.doc_id or not meta.file_hash or meta.chunk_count < 0:
                why = "chunk without document, file hash or chunk count"
                report.findings.append(Finding("orphan_chunk", chunk.chunk_id, why, [chunk.chunk_id]))
                continue
            docs[meta.doc_id].append(chunk)
        report.documents = len(docs)

        for doc_id, chunks in sorted(docs.items()):
            ids = [c.chunk_id for c in chunks]
            problem = self._document_problem(chunks)
            if problem:
                report.findings.append(Finding("partial_document", doc_id, problem, ids))
                continue
            source = source_path(self.settings, chunks[0].doc.path)
            if not source.is_file():
                report.findings.append(Finding("missing_file", doc_id, f"indexed, but its file {source} is gone", ids))
            elif document_hash(source.read_bytes(), sidecar_bytes(source)) != chunks[0].doc.file_hash:
                report.findings.append(
                    Finding("changed_file", doc_id, f"{source} changed since it was ingested; run an ingest")
                )
        self._check_corpus(docs, report)
        self._check_vectors(entries, report)
        self._check_lexical(entries, report)
        self._check_sentences(docs, report)
        self._check_leftovers(report)
        return report

    @staticmethod
    def _document_problem(chunks: list[Chunk]) -> str:
        hashes = {c.doc.file_hash for c in chunks}
        counts = {c.doc.chunk_count for c in chunks}
        if len(hashes) > 1:
            return f"chunks of {len(hashes)} versions of the file are mixed (an interrupted re-ingest)"
        if len(counts) > 1:
            return "its chunks disagree on the document's chunk count"
        expected = counts.pop()
        positions = Counter(c.chunk_index for c in chunks)
        duplicated = sorted(i for i, n in positions.items() if n > 1)
        if duplicated:
            return f"chunk positions {duplicated[:5]} appear more than once"
        if len(chunks) != expected or set(positions) != set(range(expected)):
            return f"{len(chunks)} of its {expected} chunks are indexed (an interrupted write)"
        return ""

    def _check_corpus(self, docs: dict[str, list[Chunk]], report: DoctorReport) -> None:
        root = self.settings.corpus_dir
        if not root.is_dir():
            return
        indexed = {chunks[0].doc.path for chunks in docs.values()}
        # the files an ingest would take, by the ingest's own rules (hidden, type, symlinks)
        for path in discover([root], IngestReport()):
            report.corpus_files += 1
            if stored_path(self.settings, path) not in indexed:
                rel = path.relative_to(root)
                report.findings.append(
                    Finding("not_indexed", str(rel), "in the corpus but not in the index; run an ingest")
                )

    def _check_vectors(self, entries: list[Chunk], report: DoctorReport) -> None:
        """Every sampled chunk must come back as its own nearest neighbour: the metadata store
        and the vector index were written by separate steps."""
        if not entries:
            return
        step = max(1, len(entries) // VECTOR_SAMPLE)
        sample = [c.chunk_id for c in entries[::step]]
        collection = self.index.store.collection
        got = collection.get(ids=sample, include=["embeddings"])
        ids, vectors = got["ids"], got["embeddings"]
        if vectors is None or len(ids) == 0:
            return
        matrix = np.asarray(vectors, dtype=np.float32)
        res = collection.query(query_embeddings=matrix, n_results=min(3, len(entries)), include=["distances"])
        missing = []
        for cid, found, dists in zip(ids, res["ids"], res["distances"] or [], strict=True):
            if cid not in found and not (dists and dists[0] < 1e-4):
                missing.append(cid)
        report.vectors_checked = len(ids)
        if missing:
            by_id = {c.chunk_id: c.doc_id for c in entries}
            for doc_id in sorted({by_id[c] for c in missing}):
                doc_chunks = [c.chunk_id for c in entries if c.doc_id == doc_id]
                report.findings.append(
                    Finding("missing_vectors", doc_id, "chunks the vector index does not return", doc_chunks)
                )

    def _check_lexical(self, entries: list[Chunk], report: DoctorReport) -> None:
        cached = LexicalIndex.load(self.settings.lexical_path)
        if cached is None:
            if entries:
                report.findings.append(
                    Finding("stale_lexical", str(self.settings.lexical_path), "no lexical (BM25) cache")
                )
            return
        current = fingerprint(entries)
        if cached.fingerprint != current:
            report.findings.append(
                Finding(
                    "stale_lexical",
                    str(self.settings.lexical_path),
                    f"the BM25 cache holds {len(cached)} chunks of an older collection ({len(entries)} now)",
                )
            )

    def _check_sentences(self, docs: dict[str, list[Chunk]], report: DoctorReport) -> None:
        """A document whose stored sentence vectors are missing or older than its passages answers
        as well, but encodes its sentences at ask time until the next ingest stores them."""
        model = self.index.embeddings.model_id
        stale = [
            d
            for d, chunks in docs.items()
            if self.index.sentences.fingerprint(d) != sentences_fingerprint(model, chunks)
        ]
        for doc_id in sorted(stale):
            report.findings.append(
                Finding("stale_sentence_vectors", doc_id, "its sentence vectors are missing or older than its passages")
            )

    def _leftovers(self) -> list[Path]:
        data, uploads = self.settings.data_dir, self.settings.uploads_dir
        found: list[Path] = []
        if data.is_dir():
            found += sorted(data.glob(".lexical-*"))
            found += sorted(data.glob(self.settings.lexical_path.name + ".old"))
            found += sorted(data.glob("index.generation.*.tmp"))
            found += sorted(self.settings.sentences_path.glob("*.tmp"))
        if uploads.is_dir():
            found += sorted(uploads.glob(".*.part"))
        return found

    def _check_leftovers(self, report: DoctorReport) -> None:
        for path in self._leftovers():
            report.findings.append(Finding("leftover_file", str(path), "temporary file of an interrupted write"))

    # -- repair ----------------------------------------------------------------------------------
    def repair(self, lock_timeout: float = 30.0) -> DoctorReport:
        """Fix what :meth:`check` finds, under the writer lock, and return the check afterwards."""
        with writer_lock(self.settings, lock_timeout, "doctor --repair"):
            before = self.check()
            done: list[str] = []
            for path in self._leftovers():
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
                done.append(f"removed leftover {path}")
            drop = {"orphan_chunk", "partial_document", "missing_vectors"}
            doomed = sorted({cid for f in before.findings if f.kind in drop for cid in f.chunk_ids})
            if doomed:
                self.index.store.delete(doomed)
                done.append(f"dropped {len(doomed)} chunks that could not be trusted (re-ingested below)")
            report: IngestReport = Ingestor(self.settings, self.index).run_locked()
            self.index.refresh()
            self.index.mark_changed()
            done.append(
                f"ingested the corpus: {report.files_ingested} written, {report.files_removed} removed, "
                f"{len(report.files_skipped)} skipped"
            )
            after = self.check()
        after.repaired = done
        after.ingest = report.to_dict()
        return after
