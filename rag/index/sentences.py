"""Sentence vectors computed once at ingest and kept beside the index, read at ask time.

The answer composer scores every sentence of the units it reads (and their section headings)
against the question. Encoding those per question was most of an answer's time at scale
(benchmarks/RESULTS-ask.md). So ingest encodes each document's sentences once and writes them,
one file per document under ``data_dir/sentences/``, keyed by a hash of the exact text the ranker
encodes. An unchanged document keeps its file; a changed one encodes only the texts it did not
have. At ask time a text found in its document's file is read, not encoded. Anything else is
encoded as before: a node whose data dir has no files yet, a sentence a stretch boundary cut
differently. The answer is the same either way, only slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.core.observability import metrics
from rag.index.embeddings import MiniLMEmbeddings

logger = logging.getLogger(__name__)

KEY_BYTES = 16


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=KEY_BYTES).digest()


@dataclass(frozen=True)
class DocVectors:
    """One document's stored vectors: ``vectors[rows[text_key(t)]]`` is the vector of ``t``."""

    fingerprint: str
    rows: dict[bytes, int]
    vectors: np.ndarray

    def get(self, text: str) -> np.ndarray | None:
        row = self.rows.get(text_key(text))
        return None if row is None else self.vectors[row]


class SentenceVectors:
    """The per-document vector files, an LRU of the loaded ones, and the encoder behind them."""

    def __init__(self, path: Path, embeddings: MiniLMEmbeddings, cache_docs: int = 128, record: bool = False) -> None:
        self.path = path
        self.embeddings = embeddings
        self.cache_docs = cache_docs
        self.record = record  # count reads and encodes, and the documents held, in /metrics
        if record:
            metrics().cache_limit.labels("sentence_docs").set(cache_docs)
        self._loaded: OrderedDict[str, tuple[tuple[int, int], DocVectors]] = OrderedDict()
        self._lock = threading.Lock()
        self.read = 0  # texts whose vector was read from a file (for /metrics)
        self.encoded = 0  # texts encoded at ask time (no file had them)

    # -- ask time ---------------------------------------------------------------------------------
    def embed(self, texts: list[str], docs: list[str | None]) -> np.ndarray:
        """Unit vectors of ``texts``, each looked up in the file of its document (``docs``, None for
        a text of no document, such as the question); the rest encoded through the model's cache."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        found: list[np.ndarray | None] = [None] * len(texts)
        loaded = {d: self.load(d) for d in dict.fromkeys(d for d in docs if d is not None)}
        for i, (text, doc) in enumerate(zip(texts, docs, strict=True)):
            stored = loaded.get(doc) if doc is not None else None
            if stored is not None:
                found[i] = stored.get(text)
        missing = [i for i, v in enumerate(found) if v is None]
        read, encoded = len(texts) - len(missing), sum(1 for i in missing if docs[i] is not None)
        self.read += read
        self.encoded += encoded
        if self.record:
            counter = metrics().sentence_vectors
            counter.labels("read").inc(read)
            counter.labels("encoded").inc(encoded)
        if missing:
            for i, vec in zip(missing, self.embeddings.embed_cached([texts[i] for i in missing]), strict=True):
                found[i] = vec
        return np.stack([np.asarray(v, dtype=np.float32) for v in found])

    def load(self, doc_id: str) -> DocVectors | None:
        """The document's stored vectors, read once and kept while its file is unchanged."""
        file = self.file(doc_id)
        try:
            st = file.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._loaded.get(doc_id)
            if hit is not None and hit[0] == stamp:
                self._loaded.move_to_end(doc_id)
                return hit[1]
        stored = self._read(file)
        if stored is None:
            return None
        with self._lock:
            self._loaded[doc_id] = (stamp, stored)
            self._loaded.move_to_end(doc_id)
            while len(self._loaded) > self.cache_docs:
                self._loaded.popitem(last=False)
            held = len(self._loaded)
        if self.record:
            metrics().cache_entries.labels("sentence_docs").set(held)
        return stored

    def cached_docs(self) -> int:
        return len(self._loaded)

    # -- ingest -----------------------------------------------------------------------------------
    def file(self, doc_id: str) -> Path:
        return self.path / f"{hashlib.blake2b(doc_id.encode(), digest_size=12).hexdigest()}.npz"

    def fingerprint(self, doc_id: str) -> str | None:
        """What the document's stored vectors were computed from (None: no readable file)."""
        try:
            with np.load(self.file(doc_id), allow_pickle=False) as data:
                return str(data["fingerprint"])
        except (OSError, ValueError, KeyError):
            return None

    def save(self, doc_id: str, fingerprint: str, texts: list[str], vectors: np.ndarray) -> None:
        """Write a document's vectors whole (a temporary file renamed over the old one), so a
        reader sees the old file or the new, never half of one."""
        self.path.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8).reshape(len(texts), KEY_BYTES)
        fd, tmp = tempfile.mkstemp(dir=self.path, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, fingerprint=np.asarray(fingerprint), keys=keys,
                         vectors=np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))  # fmt: skip
            Path(tmp).replace(self.file(doc_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def prune(self, doc_ids: set[str]) -> int:
        """Remove the files of documents no longer indexed (and any temporary file a crash left)."""
        if not self.path.is_dir():
            return 0
        keep = {self.file(d).name for d in doc_ids}
        removed = 0
        for file in self.path.iterdir():
            if file.name not in keep:
                file.unlink(missing_ok=True)
                removed += 1
        return removed

    @staticmethod
    def _read(file: Path) -> DocVectors | None:
        try:
            with np.load(file, allow_pickle=False) as data:
                blob = np.asarray(data["keys"], dtype=np.uint8).tobytes()
                vectors = np.asarray(data["vectors"], dtype=np.float32)
                fingerprint = str(data["fingerprint"])
        except (OSError, ValueError, KeyError) as exc:
            if file.exists():
                logger.warning("sentence vectors: cannot read %s (%s); its texts are encoded at ask time", file, exc)
            return None
        rows = {blob[i : i + KEY_BYTES]: n for n, i in enumerate(range(0, len(blob), KEY_BYTES))}
        return DocVectors(fingerprint, rows, vectors)
