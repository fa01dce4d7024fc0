"""BM25 beside Chroma (Chroma's local mode has no sparse index), and an in-memory mirror of the
chunks' texts and metadata, so a search reads nothing but Chroma's vector index.

Everything here is derived from what the Chroma collection holds, cached on disk under a
fingerprint of the collection's contents, and rebuilt when the fingerprint changes. So any node,
including one with an empty data dir talking to a Chroma server, gets the same lexical side.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from rag.core.text import tokenize

logger = logging.getLogger(__name__)


def fingerprint(entries: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """Content fingerprint of a collection: chunk ids are content hashes, file hashes cover metadata."""
    h = hashlib.sha256()
    for cid, meta in sorted(entries, key=lambda e: e[0]):
        h.update(cid.encode())
        h.update(str(meta.get("file_hash", "")).encode())
    return h.hexdigest()[:32]


class LexicalIndex:
    """An in-memory BM25 index over chunk texts, with every chunk's text and metadata."""

    def __init__(
        self, ids: list[str], metas: list[dict[str, Any]], texts: list[str], bm25: bm25s.BM25 | None, fp: str
    ) -> None:
        self.ids = ids
        self.metas = metas
        self.texts = texts
        self.bm25 = bm25
        self.fingerprint = fp
        self._position = {cid: i for i, cid in enumerate(ids)}
        self._places: dict[tuple[str, int], str] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, token: str) -> float:
        """Inverse document frequency of a stemmed token over the chunks (BM25's own), so a sentence
        that shares the question's rare words ("Sunderland") outranks one that shares common ones."""
        if self.bm25 is None:
            return 1.0
        col = self.bm25.vocab_dict.get(token)
        n = int(self.bm25.scores["num_docs"])
        if col is None:
            return float(np.log(1 + (n + 0.5) / 0.5))
        indptr = self.bm25.scores["indptr"]
        df = int(indptr[col + 1] - indptr[col])
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def record(self, chunk_id: str) -> tuple[dict[str, Any], str] | None:
        i = self._position.get(chunk_id)
        return None if i is None else (self.metas[i], self.texts[i])

    def at(self, doc_id: str, chunk_index: int) -> str | None:
        """The id of a document's ``chunk_index``-th passage (its neighbours, for sentence windows)."""
        if self._places is None:
            self._places = {(str(m.get("doc_id")), int(m.get("chunk_index", -1))): cid
                            for cid, m in zip(self.ids, self.metas, strict=True)}  # fmt: skip
        return self._places.get((doc_id, chunk_index))

    @classmethod
    def build(cls, entries: list[tuple[str, dict[str, Any], str]]) -> LexicalIndex:
        ids = [e[0] for e in entries]
        metas = [e[1] for e in entries]
        texts = [e[2] for e in entries]
        fp = fingerprint((e[0], e[1]) for e in entries)
        if not entries:
            return cls([], [], [], None, fp)
        bm25 = bm25s.BM25()
        bm25.index(tokenize(texts), show_progress=False)
        return cls(ids, metas, texts, bm25, fp)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top-k ``(id, bm25 score)`` with a positive score; ``mask`` is a boolean filter over chunks."""
        if self.bm25 is None or k <= 0:
            return []
        vocab = self.bm25.vocab_dict
        tokens = [t for t in tokenize([query])[0] if t in vocab]
        if not tokens:
            return []
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(k, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write atomically: a crash mid-save leaves the previous cache (or none), never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".lexical-", dir=path.parent))
        try:
            if self.bm25 is not None:
                self.bm25.save(str(tmp / "bm25"), show_progress=False)
            (tmp / "chunks.json").write_text(
                json.dumps(
                    {"fingerprint": self.fingerprint, "ids": self.ids, "metas": self.metas, "texts": self.texts}
                ),
                encoding="utf-8",
            )
            old = path.with_name(path.name + ".old")
            if path.exists():
                path.replace(old)
            tmp.replace(path)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex | None:
        """The cached index, or None if absent or unreadable (the caller rebuilds)."""
        try:
            data = json.loads((path / "chunks.json").read_text(encoding="utf-8"))
            bm25 = None
            if data["ids"]:
                bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
            return cls(data["ids"], data["metas"], data["texts"], bm25, data["fingerprint"])
        except FileNotFoundError:
            logger.debug("no lexical cache at %s yet; it will be built", path)
            return None
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("lexical cache at %s not usable (%s); it will be rebuilt", path, exc)
            return None
