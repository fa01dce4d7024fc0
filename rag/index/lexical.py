"""BM25 beside Chroma (Chroma's local mode has no sparse index), and an in-memory mirror of the
chunks' texts and metadata, so a search reads nothing but Chroma's vector index.

Everything here is derived from what the Chroma collection holds, cached on disk under a
fingerprint of the collection's contents, and rebuilt when the fingerprint changes. So any node,
including one with an empty data dir talking to a Chroma server, gets the same lexical side.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np

from rag.core.chunks import Chunk
from rag.core.text import TOKENIZER, tokenize

logger = logging.getLogger(__name__)
FAMILY = 5  # letters two words of one family share ("succeed", "success"; "compulsory" has none in the corpus)


def fingerprint(chunks: Iterable[Chunk]) -> str:
    """Content fingerprint of a collection: chunk ids are content hashes, file hashes cover metadata."""
    h = hashlib.sha256(TOKENIZER.encode())
    for chunk in sorted(chunks, key=lambda c: c.chunk_id):
        h.update(chunk.chunk_id.encode())
        h.update(chunk.doc.file_hash.encode())
    return h.hexdigest()[:32]


class LexicalIndex:
    """An in-memory BM25 index over chunk texts, with every chunk (text and metadata)."""

    def __init__(self, chunks: list[Chunk], bm25: bm25s.BM25 | None, fp: str) -> None:
        self.chunks = chunks
        self.ids = [c.chunk_id for c in chunks]
        self.bm25 = bm25
        self.fingerprint = fp
        self._position = {cid: i for i, cid in enumerate(self.ids)}
        self._places: dict[tuple[str, int], str] | None = None
        self._passages: dict[str, list[Chunk]] | None = None
        self._vocab: list[str] | None = None

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

    def knows(self, token: str) -> bool:
        """Does any passage of the library use this stemmed token, or a word of its family (the same
        first five letters: "succeed" is known from "successfully")? True without an index: no claim."""
        if self.bm25 is None or token in self.bm25.vocab_dict:
            return True
        if self._vocab is None:
            self._vocab = sorted(self.bm25.vocab_dict)
        root = token[:FAMILY]
        if len(token) < FAMILY:
            return False
        at = bisect.bisect_left(self._vocab, root)
        return at < len(self._vocab) and self._vocab[at].startswith(root)

    def record(self, chunk_id: str) -> Chunk | None:
        i = self._position.get(chunk_id)
        return None if i is None else self.chunks[i]

    def at(self, doc_id: str, chunk_index: int) -> str | None:
        """The id of a document's ``chunk_index``-th passage (its neighbours, for sentence windows)."""
        if self._places is None:
            self._places = {(c.doc_id, c.chunk_index): c.chunk_id for c in self.chunks}
        return self._places.get((doc_id, chunk_index))

    def passages(self, doc_id: str) -> list[Chunk]:
        """A document's passages (not its card), in document order."""
        if self._passages is None:
            by_doc: dict[str, list[Chunk]] = {}
            for c in self.chunks:
                if not c.is_card:
                    by_doc.setdefault(c.doc_id, []).append(c)
            self._passages = {d: sorted(cs, key=lambda c: c.chunk_index) for d, cs in by_doc.items()}
        return self._passages.get(doc_id, [])

    @classmethod
    def build(cls, chunks: list[Chunk]) -> LexicalIndex:
        fp = fingerprint(chunks)
        if not chunks:
            return cls([], None, fp)
        bm25 = bm25s.BM25()
        bm25.index(tokenize([c.text for c in chunks]), show_progress=False)
        return cls(chunks, bm25, fp)

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
            metas, texts = [c.to_metadata() for c in self.chunks], [c.text for c in self.chunks]
            (tmp / "chunks.json").write_text(
                json.dumps({"fingerprint": self.fingerprint, "ids": self.ids, "metas": metas, "texts": texts}),
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
            chunks = [
                Chunk.from_record(*entry) for entry in zip(data["ids"], data["metas"], data["texts"], strict=True)
            ]
            return cls(chunks, bm25, data["fingerprint"])
        except FileNotFoundError:
            logger.debug("no lexical cache at %s yet; it will be built", path)
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("lexical cache at %s not usable (%s); it will be rebuilt", path, exc)
            return None
