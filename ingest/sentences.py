"""The sentence-vector stage of ingest: every text the answer composer will score, encoded once.

After the chunks are written and the lexical side refreshed, each document whose passages changed
since its vectors were stored is read as the composer reads it (``document_units``), and the
texts the ranker encodes (``texts_of``) get vectors: those the document's previous file already
had are kept, the rest encoded. Documents no longer indexed lose their file. A crash part-way
leaves some documents with old or no files; the next ingest finishes them, and until then their
texts are encoded at ask time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import numpy as np

from rag.answer.rank import texts_of
from rag.answer.units import READING, document_units
from rag.core.chunks import Chunk
from rag.core.models import SearchResult
from rag.index.retrieval import SearchIndex

logger = logging.getLogger(__name__)
BATCH = 256  # texts encoded per call, between progress reports


def fingerprint(model_id: str, chunks: list[Chunk]) -> str:
    """What a document's stored vectors were computed from: its passages (ids are content hashes)
    and headings, the model, and the version of the unit reading."""
    h = hashlib.sha256(f"{model_id}\n{READING}".encode())
    for c in sorted(chunks, key=lambda c: c.chunk_id):
        h.update(f"\n{c.chunk_id}\t{c.doc.title}\t{c.section}".encode())
    return h.hexdigest()[:32]


def texts_to_encode(chunks: list[Chunk]) -> list[str]:
    """Every text the composer encodes for one document's passages (its units read as the composer
    reads them), in the order they are stored."""
    ordered = sorted(chunks, key=lambda c: (c.is_card, c.chunk_index))
    return texts_of(document_units([SearchResult.of(c) for c in ordered]))


def store_sentence_vectors(index: SearchIndex, progress: Callable[[int, int], None] | None = None) -> int:
    """Bring every indexed document's stored sentence vectors up to date; the number of texts encoded."""
    vectors = index.sentences
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in index.lexical.chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    stale = []
    for doc_id, chunks in by_doc.items():
        fp = fingerprint(index.embeddings.model_id, chunks)
        if vectors.fingerprint(doc_id) != fp:
            stale.append((doc_id, fp, chunks))
    vectors.prune(set(by_doc))
    if not stale:
        return 0
    work = []
    for doc_id, fp, chunks in stale:
        texts = texts_to_encode(chunks)
        old = vectors.load(doc_id)
        kept = {t: v for t, v in zip(texts, old.read(texts) if old else [], strict=False) if v is not None}
        work.append((doc_id, fp, texts, kept))
    total = sum(len(texts) - len(kept) for _, _, texts, kept in work)
    done = 0
    for doc_id, fp, texts, kept in work:
        new = [t for t in texts if t not in kept]
        for start in range(0, len(new), BATCH):
            batch = new[start : start + BATCH]
            kept.update(zip(batch, index.embeddings.encode(batch), strict=True))
            done += len(batch)
            if progress:
                progress(done, total)
        matrix = np.stack([kept[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)
        vectors.save(doc_id, fp, texts, matrix)
    logger.info("sentence vectors: %d documents brought up to date, %d texts encoded", len(work), total)
    return total
