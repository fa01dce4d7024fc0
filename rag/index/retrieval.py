"""Hybrid retrieval: dense (Chroma) + BM25, fused by reciprocal rank, capped per document."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.core.config import Settings
from rag.core.models import SearchFilters, SearchResult
from rag.index.cards import is_card
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.lexical import LexicalIndex, fingerprint
from rag.index.store import ChunkStore

logger = logging.getLogger(__name__)


def date_key(value: Any) -> int | None:
    """``2012-05-10`` -> 20120510; ``2012-05`` -> 20120500; ``2012`` -> 20120000; else None."""
    if value is None:
        return None
    text = str(value).strip()
    parts = text[:10].split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 0
        day = int(parts[2]) if len(parts) > 2 else 0
    except ValueError:
        return None
    if not (1 <= year <= 9999 and 0 <= month <= 12 and 0 <= day <= 31):
        return None
    return year * 10000 + month * 100 + day


def chroma_where(filters: SearchFilters | None) -> dict[str, Any] | None:
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = []
    if filters.doc_ids:
        clauses.append({"doc_id": {"$in": filters.doc_ids}})
    if filters.doc_types:
        clauses.append({"doc_type": {"$in": filters.doc_types}})
    if filters.topics:
        any_topic = [{"topics": {"$contains": t}} for t in filters.topics]
        clauses.append(any_topic[0] if len(any_topic) == 1 else {"$or": any_topic})
    if filters.date_from:
        clauses.append({"date_key": {"$gte": date_key(filters.date_from.isoformat())}})
    if filters.date_to:
        clauses.append({"date_key": {"$lte": date_key(filters.date_to.isoformat())}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def matches(meta: dict[str, Any], filters: SearchFilters) -> bool:
    """The same semantics as :func:`chroma_where`, for the lexical side."""
    if filters.doc_ids and meta.get("doc_id") not in filters.doc_ids:
        return False
    if filters.doc_types and meta.get("doc_type") not in filters.doc_types:
        return False
    if filters.topics and not set(filters.topics) & set(meta.get("topics") or []):
        return False
    key = meta.get("date_key")
    if filters.date_from and (key is None or key < (date_key(filters.date_from.isoformat()) or 0)):
        return False
    return not (filters.date_to and (key is None or key > (date_key(filters.date_to.isoformat()) or 0)))


def rrf(rankings: list[list[str]], k: int, weights: list[float] | None = None) -> dict[str, float]:
    """Weighted reciprocal rank fusion: ``sum(w / (k + rank))`` over the rankings."""
    fused: dict[str, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] += weight / (k + rank)
    return fused


class SearchIndex:
    """The read side of the index: one per process, shared by requests.

    Holds the embedder, the Chroma collection and the in-memory BM25 index. Nothing is loaded
    until first use; :meth:`warm_up` loads everything eagerly (API start-up).
    """

    def __init__(
        self,
        settings: Settings,
        embeddings: MiniLMEmbeddings | None = None,
        store: ChunkStore | None = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings or MiniLMEmbeddings(
            settings.embedding_model_path, settings.embedding_batch_size, settings.query_cache_size
        )
        self._store = store
        self._lexical: LexicalIndex | None = None
        self._centroid: tuple[str, np.ndarray | None] | None = None
        self._lock = threading.Lock()
        self._active = 0  # searches in flight, so a reopen never pulls the collection from under one
        self._idle = threading.Condition()
        # embedded: a marker file in the data dir; server: a marker in the collection's metadata,
        # read at most every ``sync_interval_s`` (None until first read, so construction stays offline)
        self._generation: str | None = None if settings.chroma_url else self._read_generation()
        self._checked_at = float("-inf")

    @property
    def store(self) -> ChunkStore:
        if self._store is None:
            self._store = ChunkStore(self.settings, self.embeddings)
        return self._store

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
        self.embeddings.embed_query("warm up")
        self.sync()
        _ = self.lexical

    def refresh(self) -> None:
        """Re-derive the lexical side from the collection (after an ingest or upload)."""
        with self._lock:
            self._lexical = self._load_lexical(self._lexical)

    # -- freshness across processes ---------------------------------------------------------------
    @property
    def generation_path(self) -> Path:
        return self.settings.data_dir / "index.generation"

    def _read_generation(self) -> str:
        try:
            return self.generation_path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def mark_changed(self) -> None:
        """Tell every other process (and, on a Chroma server, every other node) that the index
        changed; a writer calls this after its writes."""
        token = uuid.uuid4().hex
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.generation_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(token, encoding="utf-8")
        tmp.replace(self.generation_path)
        if self.settings.chroma_url:
            self.store.set_generation(token)
        self._generation = token
        self._checked_at = time.monotonic()

    def _current_generation(self) -> str | None:
        if not self.settings.chroma_url:
            return self._read_generation()
        now = time.monotonic()
        if now - self._checked_at < self.settings.sync_interval_s:
            return self._generation
        self._checked_at = now
        return self.store.generation()

    def sync(self) -> bool:
        """Pick up writes made elsewhere (another API worker's upload, a CLI ingest, another node).

        Embedded Chroma keeps its vector index in memory per process and does not see other
        processes' writes, so the client is reopened; a Chroma server is always current, so only
        the in-memory BM25 side is re-derived from it. Waits for searches in flight to finish
        first. Returns whether anything was reloaded.
        """
        current = self._current_generation()
        if current == self._generation:
            return False
        with self._idle:
            if current == self._generation:
                return False
            if self._lexical is None:  # nothing loaded yet: the first load will be current
                self._generation = current
                return False
            self._idle.wait_for(lambda: self._active == 0, timeout=30)
            if self._store is not None and not self.settings.chroma_url:
                from chromadb.api.client import SharedSystemClient

                SharedSystemClient.clear_system_cache()
                self._store = None  # reopened on next use
            with self._lock:
                self._lexical = self._load_lexical(self._lexical)
            self._generation = current
            logger.info("index changed (generation %s): reloaded", (current or "")[:8])
        return True

    def documents(self) -> dict[str, dict[str, Any]]:
        """One entry per indexed document: its metadata and chunk count, from the in-memory mirror."""
        self.sync()
        docs: dict[str, dict[str, Any]] = {}
        for meta in self.lexical.metas:
            doc_id = str(meta.get("doc_id", ""))
            entry = docs.setdefault(doc_id, {**meta, "chunks": 0})
            entry["chunks"] += 1
        return docs

    def _load_lexical(self, previous: LexicalIndex | None = None) -> LexicalIndex:
        """The BM25 side of what the collection holds now: the disk cache when its fingerprint
        matches, else rebuilt, fetching only texts it does not already hold (chunk ids are content
        hashes, so a known id's text never changes)."""
        entries = list(self.store.iter_all(include_documents=False))
        current = fingerprint((cid, meta) for cid, meta, _ in entries)
        cache_path = self.settings.lexical_path
        cached = LexicalIndex.load(cache_path)
        if cached is not None and cached.fingerprint == current:
            return cached
        known = previous or cached
        if known is None:
            logger.info("building the lexical index over %d chunks", len(entries))
            full = [(cid, meta, text or "") for cid, meta, text in self.store.iter_all(include_documents=True)]
        else:
            missing = [cid for cid, _, _ in entries if known.record(cid) is None]
            fetched = self.store.get(missing)
            logger.info("rebuilding the lexical index over %d chunks (%d new)", len(entries), len(missing))
            full = []
            for cid, meta, _ in entries:
                rec = known.record(cid) or fetched.get(cid)
                if rec is not None:  # deleted between the two reads: left out
                    full.append((cid, meta, rec[1]))
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
            mask = np.array([matches(m, filters) for m in lexical.metas], dtype=bool)
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
            if cid not in records or (not cards and is_card(records[cid][0])):  # deleted, or a card not asked for
                continue
            doc_id = str(records[cid][0].get("doc_id", ""))
            if per_doc[doc_id] < self.settings.per_doc_cap:
                per_doc[doc_id] += 1
                chosen.append(cid)
                if len(chosen) == k:
                    break
        results = []
        for cid in chosen:
            meta, text = records[cid]
            results.append(
                SearchResult(
                    chunk_id=cid,
                    doc_id=str(meta.get("doc_id", "")),
                    title=str(meta.get("title", "")),
                    section=str(meta.get("section", "")),
                    text=text,
                    score=round(fused[cid], 6),
                    char_start=int(meta.get("char_start", 0)),
                    char_end=int(meta.get("char_end", 0)),
                    dense_score=dense_scores.get(cid),
                    lexical_score=sparse_scores.get(cid),
                    metadata=meta,
                )
            )
        return results

    def neighbours(self, results: list[SearchResult], top: int, window: int) -> list[SearchResult]:
        """The passages just before and after each of the ``top`` best results, from the same
        document and not already among ``results``: the sentences a passage's cut left out
        ("The first case ...", the list items under a lead-in) are read with it."""
        if top <= 0 or window <= 0:
            return []
        lexical, have, out = self.lexical, {r.chunk_id for r in results}, []
        for r in results[:top]:
            index = r.metadata.get("chunk_index")
            if index is None or is_card(r.metadata):
                continue
            for step in [s for d in range(1, window + 1) for s in (-d, d)]:
                cid = lexical.at(r.doc_id, int(index) + step)
                rec = lexical.record(cid) if cid else None
                if cid is None or cid in have or rec is None or is_card(rec[0]):
                    continue
                have.add(cid)
                meta, text = rec
                out.append(SearchResult(chunk_id=cid, doc_id=r.doc_id, title=r.title, text=text, score=0.0,
                                        section=str(meta.get("section", "")), char_start=int(meta["char_start"]),
                                        char_end=int(meta["char_end"]), metadata=meta))  # fmt: skip
        return out

    def _records(self, chunk_ids: list[str], lexical: LexicalIndex) -> dict[str, tuple[dict[str, Any], str]]:
        """Metadata and text per chunk from the in-memory mirror; chunks written since it loaded
        are fetched from Chroma in one call."""
        out: dict[str, tuple[dict[str, Any], str]] = {}
        unknown = []
        for cid in chunk_ids:
            rec = lexical.record(cid)
            if rec is None:
                unknown.append(cid)
            else:
                out[cid] = rec
        out.update(self.store.get(unknown))
        return out


class HybridRetriever(BaseRetriever):
    """LangChain face of :class:`SearchIndex`, so it composes with any LangChain chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: SearchIndex
    k: int = 5
    filters: SearchFilters | None = Field(default=None)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """``invoke(query, k=1)`` overrides ``k`` for one call, as LangChain's retriever contract asks."""
        return [
            Document(
                page_content=r.text,
                id=r.chunk_id,
                metadata={**r.metadata, **r.model_dump(exclude={"text"})},
            )
            for r in self.index.search(query, k if k is not None else self.k, self.filters)
        ]
