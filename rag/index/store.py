"""Chroma access: embedded ``PersistentClient`` by default, ``HttpClient`` when a server URL is set.

Chroma is the single source of truth for chunks. Each chunk's metadata carries its file hash and
its document's chunk count, so the ingest manifest and the lexical index are derived from it.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import Embeddings

from rag.core.chunks import Chunk
from rag.core.config import Settings
from rag.index.batcher import Batcher
from rag.index.embeddings import ChromaEmbeddingFunction

logger = logging.getLogger(__name__)

PAGE = 2000
GENERATION_KEY = "policyrag_generation"
# Chroma rebuilds in memory, at random, the part of its HNSW index not yet written to disk (by
# default up to 1,000 vectors): between 100 and 1,000 chunks, the same query then found different
# passages after each restart (chroma-core/chroma#2675). Writing the index every 100 vectors leaves
# only a tail Chroma searches exactly, so results are the same on every start; measured cost on
# 22,000 upserts: none (15.8 s against 16.5 s).
HNSW_WRITES = {"batch_size": 100, "sync_threshold": 100}


class StoreError(RuntimeError):
    """Raised by the store stage: the index cannot be opened or read."""


class StoreUnavailable(StoreError):
    """The vector store cannot be reached (a Chroma server down, restarting or not answering): the
    same request should work again later, so callers say so (HTTP 503 with Retry-After) instead of
    failing as if the index were broken."""

    retry_after_s = 5


P = ParamSpec("P")
R = TypeVar("R")
# What a Chroma server that is down, restarting or unreachable raises through its HTTP client
UNREACHABLE = (httpx.TransportError, ConnectionError, TimeoutError)


def reaching(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Name the store in a transport failure of ``what`` (``StoreUnavailable``) rather than letting
    an HTTP client's ConnectError reach the API as an unexpected error."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except UNREACHABLE as exc:
                store = args[0]
                store.lost = True  # type: ignore[attr-defined]
                where = getattr(getattr(store, "settings", None), "chroma_url", None) or "the vector store"
                raise StoreUnavailable(f"store: the vector store at {where} cannot be reached ({what}): {exc}") from exc

        return call

    return wrap


def make_client(settings: Settings) -> ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in {"http", "https"} or not url.hostname:
                raise StoreError(
                    f"store: POLICYRAG_CHROMA_URL must be http(s)://host:port, got {settings.chroma_url!r}"
                )
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    except StoreError:
        raise
    except UNREACHABLE as exc:
        raise StoreUnavailable(f"store: the vector store at {settings.chroma_url} cannot be reached: {exc}") from exc
    except Exception as exc:
        where = settings.chroma_url or settings.chroma_path
        raise StoreError(f"store: cannot open Chroma at {where}: {exc}") from exc


class ChunkStore:
    """The chunk collection, with the few operations ingest and retrieval need."""

    def __init__(self, settings: Settings, embeddings: Embeddings, client: ClientAPI | None = None) -> None:
        self.settings = settings
        self.embedding_function = ChromaEmbeddingFunction(embeddings)
        self._client = client
        self._collection: Collection | None = None
        self._written_often = False
        self.lost = False  # it could not be reached since it was last (re)opened: readers reload on return
        # concurrent searches' nearest-neighbour queries share one call (``rag.index.batcher``)
        self._queries = Batcher(self._query_batch, settings.query_batch_max) if settings.query_batch_max > 1 else None

    @property
    def client(self) -> ClientAPI:
        """Opened on first use, so building the store opens nothing."""
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    @property
    def collection(self) -> Collection:
        if self._collection is None:
            self._collection = self._open()
        return self._collection

    def reopen(self) -> None:
        """Open the collection afresh on next use: embedded Chroma keeps its vector index in memory
        per process and does not see another process's writes until it is reopened."""
        self.lost = False
        if self._client is not None and not self.settings.chroma_url:
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
            self._client = None
        self._collection = None

    def _open(self) -> Collection:
        # cosine goes in the configuration, so the metadata stays free for the generation marker
        return self.client.get_or_create_collection(
            self.settings.collection,
            embedding_function=cast(Any, self.embedding_function),
            configuration=cast(Any, {"hnsw": {"space": "cosine", **HNSW_WRITES}}),
        )

    def _write_often(self) -> None:
        """An index made before ``HNSW_WRITES`` gets them at its next write (ingest, not a reader)."""
        if self._written_often:
            return
        hnsw = dict((self.collection.configuration or {}).get("hnsw") or {})
        if hnsw and any(hnsw.get(k) != v for k, v in HNSW_WRITES.items()):
            self.collection.modify(configuration=cast(Any, {"hnsw": HNSW_WRITES}))
            logger.info("store: the HNSW index is now written every %d vectors", HNSW_WRITES["sync_threshold"])
        self._written_often = True

    # -- change marker shared by every node on a Chroma server --------------------------------------
    @reaching("reading the change token")
    def generation(self) -> str:
        """The writer's last change token, read fresh from the server (one round trip)."""
        fresh = self.client.get_collection(
            self.settings.collection, embedding_function=cast(Any, self.embedding_function)
        )
        return str((fresh.metadata or {}).get(GENERATION_KEY, ""))

    @reaching("writing the change token")
    def set_generation(self, token: str) -> None:
        self.collection.modify(metadata={GENERATION_KEY: token})

    @reaching("recreating the collection")
    def reset(self) -> None:
        """Drop and recreate the collection (``ingest --rebuild``)."""
        try:
            self.client.delete_collection(self.settings.collection)
        except Exception:  # noqa: BLE001 - absent collection is fine
            logger.debug("collection %s did not exist", self.settings.collection)
        self._collection = self._open()

    @reaching("counting chunks")
    def count(self) -> int:
        return self.collection.count()

    @reaching("writing chunks")
    def upsert(self, chunks: Sequence[Chunk], embeddings: Any) -> None:
        self._write_often()
        for start in range(0, len(chunks), PAGE):
            page = chunks[start : start + PAGE]
            self.collection.upsert(
                ids=[c.chunk_id for c in page],
                embeddings=embeddings[start : start + PAGE],
                documents=[c.text for c in page],
                metadatas=[c.to_metadata() for c in page],
            )

    @reaching("updating metadata")
    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite stored chunks' metadata (same ids, same text): a document renamed or moved."""
        for start in range(0, len(chunks), PAGE):
            page = chunks[start : start + PAGE]
            self.collection.update(ids=[c.chunk_id for c in page], metadatas=[c.to_metadata() for c in page])

    @reaching("deleting chunks")
    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), PAGE):
            self.collection.delete(ids=list(ids[start : start + PAGE]))

    def iter_all(self, include_documents: bool = False) -> Iterator[Chunk]:
        """Every chunk (its text only with ``include_documents``), paged so memory stays flat on
        big collections."""
        include: list[Any] = ["metadatas", "documents"] if include_documents else ["metadatas"]
        offset = 0
        while True:
            page = self._page(include, offset)
            ids = page["ids"]
            if not ids:
                return
            metas = page["metadatas"] or [{}] * len(ids)
            docs = page["documents"] if include_documents and page["documents"] else [None] * len(ids)
            for cid, meta, doc in zip(ids, metas, docs, strict=True):
                yield Chunk.from_record(cid, meta or {}, doc)
            offset += len(ids)

    @reaching("reading vectors")
    @reaching("reading chunks")
    def _page(self, include: list[Any], offset: int) -> Any:
        return self.collection.get(include=include, limit=PAGE, offset=offset)

    def centroid(self) -> np.ndarray | None:
        """The unit mean of every chunk vector: what the collection is about on average. A sentence
        close to it says what most of the library says, and answers no question in particular."""
        total: np.ndarray | None = None
        offset = 0
        while True:
            page = self.collection.get(include=["embeddings"], limit=PAGE, offset=offset)
            if not page["ids"]:
                break
            vecs = np.asarray(page["embeddings"], dtype=np.float32)
            total = vecs.sum(axis=0) if total is None else total + vecs.sum(axis=0)
            offset += len(page["ids"])
        if total is None or not np.linalg.norm(total):
            return None
        return total / np.linalg.norm(total)

    @reaching("reading chunks")
    def get(self, ids: Sequence[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        for start in range(0, len(ids), PAGE):
            page = self.collection.get(ids=list(ids[start : start + PAGE]), include=["metadatas", "documents"])
            metas = page["metadatas"] or []
            docs = page["documents"] or []
            out.update(
                {cid: Chunk.from_record(cid, m or {}, d) for cid, m, d in zip(page["ids"], metas, docs, strict=True)}
            )
        return out

    def query(self, embedding: Sequence[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """Dense nearest neighbours as ``(id, cosine similarity)``; ids only, as fetching metadata
        here costs more than the search itself on large collections."""
        if self._queries is None or k <= 0:
            return self.query_many([embedding], k, where)[0]
        return self._queries.submit((tuple(embedding), k, json.dumps(where, sort_keys=True) if where else ""))

    def _query_batch(self, items: list[tuple[tuple[float, ...], int, str]]) -> list[list[tuple[str, float]]]:
        """The neighbours of each ``(vector, k, where as JSON)``: one call per ``(k, where)``."""
        groups: dict[tuple[int, str], list[int]] = {}
        for i, (_, k, where) in enumerate(items):
            groups.setdefault((k, where), []).append(i)
        out: list[list[tuple[str, float]]] = [[] for _ in items]
        for (k, where), at in groups.items():
            found = self.query_many([items[i][0] for i in at], k, json.loads(where) if where else None)
            for i, hits in zip(at, found, strict=True):
                out[i] = hits
        return out

    @reaching("querying")
    def query_many(
        self, embeddings: Sequence[Sequence[float]], k: int, where: dict[str, Any] | None = None
    ) -> list[list[tuple[str, float]]]:
        """:meth:`query` for several vectors in one call (one trip through Chroma's bindings)."""
        if k <= 0 or not embeddings:
            return [[] for _ in embeddings]
        res = self.collection.query(
            query_embeddings=np.asarray(embeddings, dtype=np.float32), n_results=k, where=where, include=["distances"]
        )
        distances = res["distances"] or [[] for _ in res["ids"]]
        return [
            [(cid, 1.0 - float(d)) for cid, d in zip(ids, dist, strict=True)]
            for ids, dist in zip(res["ids"], distances, strict=True)
        ]
