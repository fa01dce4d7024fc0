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
import struct
import tempfile
import threading
import zipfile
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
    """One document's stored vectors, read row by row: the keys are held in memory, a vector is
    read from the file when asked for (the OS keeps the file's pages cached, not this process), so
    a process that has read many documents holds their keys, not their vectors."""

    fingerprint: str
    rows: dict[bytes, int]
    file: Path
    stamp: tuple[int, int, int]  # (inode, mtime_ns, size) of the file its keys were read from: a save is a new file
    offset: int  # where the vector matrix's data starts in the file
    dtype: np.dtype
    dim: int

    def get(self, text: str) -> np.ndarray | None:
        return self.read([text])[0]

    def read(self, texts: list[str]) -> list[np.ndarray | None]:
        """The stored vector of each of ``texts`` (None: not stored, or the file changed since its
        keys were read, so its rows may mean other texts)."""
        rows = [self.rows.get(text_key(t)) for t in texts]
        out: list[np.ndarray | None] = [None] * len(texts)
        if all(r is None for r in rows):
            return out
        size = self.dim * self.dtype.itemsize
        try:
            with self.file.open("rb") as fh:
                st = os.fstat(fh.fileno())
                if _stamp(st) != self.stamp:
                    return out
                for i, row in sorted(enumerate(rows), key=lambda x: x[1] if x[1] is not None else -1):
                    if row is not None:
                        fh.seek(self.offset + row * size)
                        out[i] = np.frombuffer(fh.read(size), dtype=self.dtype).astype(np.float32)
        except (OSError, ValueError):
            return [None] * len(texts)
        return out


class SentenceVectors:
    """The per-document vector files, an LRU of the loaded ones, and the encoder behind them."""

    def __init__(self, path: Path, embeddings: MiniLMEmbeddings, cache_docs: int = 128, record: bool = False) -> None:
        self.path = path
        self.embeddings = embeddings
        self.cache_docs = cache_docs
        self.record = record  # count reads and encodes, and the documents held, in /metrics
        if record:
            metrics().cache_limit.labels("sentence_docs").set(cache_docs)
        self._loaded: OrderedDict[str, tuple[tuple[int, int, int], DocVectors]] = OrderedDict()
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
        by_doc: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            if doc is not None:
                by_doc.setdefault(doc, []).append(i)
        for doc, at in by_doc.items():
            if (stored := loaded[doc]) is not None:
                for i, vec in zip(at, stored.read([texts[i] for i in at]), strict=True):
                    found[i] = vec
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
        stamp = _stamp(st)
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
        """The fingerprint and keys of a vector file, and where its vectors start: they are read
        row by row when asked for (``np.savez`` stores each array uncompressed, so its data is one
        contiguous stretch of the file)."""
        try:
            with file.open("rb") as fh:
                st = os.fstat(fh.fileno())
                with np.load(fh, allow_pickle=False) as data:
                    blob = np.asarray(data["keys"], dtype=np.uint8).tobytes()
                    fingerprint = str(data["fingerprint"])
                    info = data.zip.getinfo("vectors.npy")
                if info.compress_type != zipfile.ZIP_STORED:
                    raise ValueError("the vectors are compressed")
                fh.seek(info.header_offset + 26)
                name_len, extra_len = struct.unpack("<HH", fh.read(4))
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                version = np.lib.format.read_magic(fh)
                fmt = np.lib.format
                shape, fortran, dtype = (
                    fmt.read_array_header_1_0(fh) if version == (1, 0) else fmt.read_array_header_2_0(fh)
                )
                if fortran or len(shape) != 2 or shape[0] * KEY_BYTES != len(blob):
                    raise ValueError(f"unexpected vector matrix {shape}")
                offset = fh.tell()
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            if file.exists():
                logger.warning("sentence vectors: cannot read %s (%s); its texts are encoded at ask time", file, exc)
            return None
        rows = {blob[i : i + KEY_BYTES]: n for n, i in enumerate(range(0, len(blob), KEY_BYTES))}
        return DocVectors(fingerprint, rows, file, _stamp(st), offset, np.dtype(dtype), shape[1])


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_mtime_ns, st.st_size)
