"""Hybrid retrieval: dense (Chroma) + BM25, fused by reciprocal rank, capped per document."""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from dataclasses import replace

import numpy as np

from rag.core.chunks import Chunk, DocumentMeta, IndexedDocument
from rag.core.config import Settings
from rag.core.models import SearchFilters, SearchResult
from rag.core.text import titled
from rag.index.currency import current_ids
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.filters import chroma_where, matches
from rag.index.freshness import ChangeMarker
from rag.index.lexical import LexicalIndex, fingerprint
from rag.index.sentences import SentenceVectors
from rag.index.store import ChunkStore

logger = logging.getLogger(__name__)


def rrf(rankings: list[list[str]], k: int, weights: list[float] | None = None) -> dict[str, float]:
    """Weighted reciprocal rank fusion: ``sum(w / (k + rank))`` over the rankings."""
    fused: dict[str, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] += weight / (k + rank)
    return fused


class SearchIndex:
    """The read side of the index: one per process, shared by requests.

    Reads through the embedder, the chunk store and the change marker it is given (built once, by
    ``rag.compose``), and derives the in-memory BM25 index from the store. Nothing is loaded
    until first use; :meth:`warm_up` loads everything eagerly (API start-up).
    """

    def __init__(
        self, settings: Settings, embeddings: MiniLMEmbeddings, store: ChunkStore, marker: ChangeMarker
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.store = store
        self.marker = marker
        self._lexical: LexicalIndex | None = None
        self._from_cache = False  # the last load found the disk cache current
        self.sentences = SentenceVectors(
            settings.sentences_path, embeddings, settings.sentence_cache_docs, settings.metrics_enabled
        )
        self._documents: tuple[LexicalIndex, dict[str, IndexedDocument]] | None = None
        self._centroid: tuple[str, np.ndarray | None] | None = None
        self._lock = threading.Lock()
        self._active = 0  # searches in flight, so a reopen never pulls the collection from under one
        self._idle = threading.Condition()
        # the change token this process has loaded (None on a Chroma server until first read, so
        # construction stays offline)
        self._generation: str | None = None if settings.chroma_url else marker.local()

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            with self._lock:
                if self._lexical is None:
                    self._lexical = self._load_lexical()
        return self._lexical

    def centroid(self) -> np.ndarray | None:
        """The collection's mean vector, derived once per state of the lexical mirror (which moves
        with every change to the collection)."""
        lexical = self.lexical
        cached = self._centroid
        if cached is None or cached[0] != lexical.fingerprint:
            cached = self._centroid = (lexical.fingerprint, self.store.centroid() if len(lexical) else None)
        return cached[1]

    def warm_up(self) -> None:
        """Load what the first search would (the model, the BM25 mirror, Chroma's vector index), and
        trace the model for the many queries to come."""
        self.sync()
        self.embeddings.warm_up()
        self.store.query(self.embeddings.embed_query("warm up"), 1)
        _ = self.lexical

    def refresh(self, records: list[Chunk] | None = None) -> bool:
        """Re-derive the lexical side from the collection (after an ingest or upload). True when the
        collection holds what this process's mirror (or, before one was loaded, the disk cache) did
        not: a writer that died after writing and before telling the other nodes left that.
        ``records``: the collection's records (no texts) as the caller has just read them."""
        with self._lock:
            before = self._lexical.fingerprint if self._lexical is not None else None
            self._lexical = self._load_lexical(self._lexical, records)
            return self._lexical.fingerprint != before and not (before is None and self._from_cache)

    # -- freshness across processes ---------------------------------------------------------------
    def mark_changed(self) -> None:
        """Tell every other process (and, on a Chroma server, every other node) that the index
        changed; a writer calls this after its writes."""
        self._generation = self.marker.mark()

    def sync(self) -> bool:
        """Pick up writes made elsewhere (another API worker's upload, a CLI ingest, another node).

        Embedded Chroma keeps its vector index in memory per process and does not see other
        processes' writes, so the store is reopened; a Chroma server is always current, so only
        the in-memory BM25 side is re-derived from it. Waits for searches in flight to finish
        first. Returns whether anything was reloaded.
        """
        current = self.marker.current()
        # a store that was away may hold writes whose token never moved (their writer died with it)
        if current == self._generation and not self.store.lost:
            return False
        with self._idle:
            if current == self._generation and not self.store.lost:
                return False
            if self._lexical is None:  # nothing loaded yet: the first load will be current
                self._generation = current
                return False
            self._idle.wait_for(lambda: self._active == 0, timeout=30)
            self.store.reopen()
            with self._lock:
                self._lexical = self._load_lexical(self._lexical)
            self._generation = current
            logger.info("index changed (generation %s): reloaded", (current or "")[:8])
        return True

    def documents(self) -> dict[str, IndexedDocument]:
        """One entry per indexed document: its metadata and chunk count, from the in-memory mirror."""
        self.sync()
        lexical = self.lexical
        if self._documents is None or self._documents[0] is not lexical:  # once per loaded mirror
            counts: Counter[str] = Counter()
            metas: dict[str, DocumentMeta] = {}
            for chunk in lexical.chunks:
                doc = chunk.doc
                metas.setdefault(doc.doc_id, doc)
                counts[doc.doc_id] += 1
            self._documents = (lexical, {d: IndexedDocument(meta, counts[d]) for d, meta in metas.items()})
        return dict(self._documents[1])

    def current(self, filters: SearchFilters) -> SearchFilters:
        """``current_only`` as a document list: the current documents, within ``doc_ids`` if given."""
        keep = current_ids(self.documents(), trust_claims=self.settings.trust_supersedes)
        if filters.doc_ids:
            keep = [d for d in keep if d in filters.doc_ids]
        return filters.model_copy(update={"doc_ids": keep or ["(no current document)"], "current_only": False})

    def _load_lexical(self, previous: LexicalIndex | None = None, records: list[Chunk] | None = None) -> LexicalIndex:
        """The BM25 side of what the collection holds now (``records``, when just read): the disk
        cache when its fingerprint matches, else rebuilt, fetching only texts it does not already
        hold (chunk ids are content hashes, so a known id's text never changes)."""
        entries = records if records is not None else list(self.store.iter_all(include_documents=False))
        current = fingerprint(entries)
        cache_path = self.settings.lexical_path
        cached = LexicalIndex.load(cache_path)
        self._from_cache = cached is not None and cached.fingerprint == current
        if cached is not None and cached.fingerprint == current:
            return cached
        known = previous or cached
        if known is None:
            logger.info("building the lexical index over %d chunks", len(entries))
            full = list(self.store.iter_all(include_documents=True))
        else:
            missing = [c.chunk_id for c in entries if known.record(c.chunk_id) is None]
            fetched = self.store.get(missing)
            logger.info("rebuilding the lexical index over %d chunks (%d new)", len(entries), len(missing))
            full = []
            for chunk in entries:
                rec = known.record(chunk.chunk_id) or fetched.get(chunk.chunk_id)
                if rec is not None:  # deleted between the two reads: left out
                    full.append(replace(chunk, text=rec.text))
        index = LexicalIndex.build(full)
        try:
            index.save(cache_path)
        except OSError as exc:  # a read-only node still serves from memory
            logger.warning("could not cache the lexical index at %s: %s", cache_path, exc)
        return index

    def search(
        self, query: str, k: int | None = None, filters: SearchFilters | None = None, cards: bool = False
    ) -> list[SearchResult]:
        """The ``k`` best passages for ``query``; documents' cards (their front matter) compete only
        when ``cards`` is set, for a question about the documents themselves."""
        self.sync()
        if filters is not None and filters.current_only:
            filters = self.current(filters)
        with self._idle:
            self._active += 1
        try:
            return self._search(query, k, filters, cards)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _search(self, query: str, k: int | None, filters: SearchFilters | None, cards: bool) -> list[SearchResult]:
        k = k or self.settings.search_k
        cand = max(self.settings.candidate_k, k)
        query_vec = self.embeddings.embed_query(query)
        dense = self.store.query(query_vec, cand, where=chroma_where(filters))

        lexical = self.lexical
        mask = None
        if filters is not None and not filters.is_empty():
            mask = np.array([matches(c.doc, filters) for c in lexical.chunks], dtype=bool)
        sparse = lexical.search(query, cand, mask)

        fused = rrf(
            [[cid for cid, _ in dense], [cid for cid, _ in sparse]],
            self.settings.rrf_k,
            [1.0, self.settings.lexical_weight],
        )
        dense_scores = dict(dense)
        sparse_scores = dict(sparse)
        records = self._records(list(fused), lexical)
        ordered = sorted(fused, key=lambda cid: (-fused[cid], -dense_scores.get(cid, -1.0), cid))

        chosen: list[str] = []
        per_doc: dict[str, int] = defaultdict(int)
        for cid in ordered:
            if cid not in records or (not cards and records[cid].is_card):  # deleted, or a card not asked for
                continue
            doc_id = records[cid].doc_id
            if per_doc[doc_id] < self.settings.per_doc_cap:
                per_doc[doc_id] += 1
                chosen.append(cid)
                if len(chosen) == k:
                    break
        return [
            SearchResult.of(records[cid], round(fused[cid], 6), dense_scores.get(cid), sparse_scores.get(cid))
            for cid in chosen
        ]

    def neighbours(
        self, results: list[SearchResult], top: int, window: int, only: list[int] | None = None
    ) -> list[SearchResult]:
        """The passages of the same document around each of the ``top`` best results (after those at positions
        ``only``), not among ``results``: what a cut left out ("The first case ...", a list's items)."""
        if (top <= 0 and only is None) or window <= 0:
            return []
        lexical, have, out = self.lexical, {r.chunk_id for r in results}, []
        steps = list(range(1, window + 1)) if only is not None else [s for d in range(1, window + 1) for s in (-d, d)]
        for r in results[:top] if only is None else [results[i] for i in only]:
            if r.chunk is None or r.is_card:
                continue
            for step in steps:
                cid = lexical.at(r.doc_id, r.chunk.chunk_index + step)
                rec = lexical.record(cid) if cid else None
                if cid is None or cid in have or rec is None or rec.is_card:
                    continue
                have.add(cid)
                out.append(SearchResult.of(rec))
        return out

    def short_documents(
        self, results: list[SearchResult], top: int, max_words: int, query: str = ""
    ) -> list[SearchResult]:
        """Every passage, not already among ``results``, of each document of the ``top`` best results,
        and of the one whose title alone shares a phrase with ``query`` (:func:`titled`: "the first
        social enterprise"), that is at most ``max_words`` long (an abstract, a blog post): a short
        document is read whole, so the item of a list or the second case a passage boundary cut off
        can be picked, and a question that names a document by its subject reads it."""
        if max_words <= 0:
            return []
        docs = [r.doc_id for r in results[: max(top, 0)] if not r.is_card]
        if query and (named := titled(query, {d: e.meta.title for d, e in self.documents().items()})):
            docs.append(named)
        lexical, have, out = self.lexical, {r.chunk_id for r in results}, []
        for doc_id in dict.fromkeys(docs):
            passages = lexical.passages(doc_id)
            if sum(len(c.text.split()) for c in passages) > max_words:
                continue
            for rec in passages:
                if rec.chunk_id not in have:
                    have.add(rec.chunk_id)
                    out.append(SearchResult.of(rec))
        return out

    def _records(self, chunk_ids: list[str], lexical: LexicalIndex) -> dict[str, Chunk]:
        """Each chunk from the in-memory mirror; chunks written since it loaded are fetched from
        Chroma in one call."""
        out: dict[str, Chunk] = {}
        unknown = []
        for cid in chunk_ids:
            rec = lexical.record(cid)
            if rec is None:
                unknown.append(cid)
            else:
                out[cid] = rec
        out.update(self.store.get(unknown))
        return out
