"""The same query finds the same passages after every restart (real embedded Chroma).

Chroma rebuilds in memory, at random, the part of its HNSW index not yet written to disk; with its
default of writing every 1,000 vectors, a library of a few hundred passages found different
passages for one query from one start to the next (chroma-core/chroma#2675).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import Embeddings

from rag.core.chunks import Chunk, DocumentMeta
from rag.core.config import Settings
from rag.index.store import HNSW_WRITES, ChunkStore

N, DIM, QUERIES, K = 600, 384, 30, 10

QUERY = """
import json, sys
import numpy as np
from rag.core.config import Settings
from rag.index.store import ChunkStore
settings = Settings(data_dir=sys.argv[1])
store = ChunkStore(settings, embeddings=None)
queries = np.load(sys.argv[2])
print(json.dumps([[cid for cid, _ in store.query(q.tolist(), {k})] for q in queries]))
"""


class NoEmbeddings(Embeddings):
    """Vectors are given; nothing is embedded."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise AssertionError("not used")

    def embed_query(self, text: str) -> list[float]:
        raise AssertionError("not used")


def unit(rows: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def chunks(n: int) -> list[Chunk]:
    doc = DocumentMeta(doc_id="d", title="D", chunk_count=n)
    return [Chunk(chunk_id=f"c{i}", doc=doc, text=f"passage {i}", char_end=1, chunk_index=i) for i in range(n)]


def test_a_few_hundred_passages_are_found_alike_after_every_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    vectors, queries = unit(N, 0), unit(QUERIES, 1)
    ChunkStore(settings, NoEmbeddings()).upsert(chunks(N), vectors)
    np.save(tmp_path / "q.npy", queries)
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", QUERY.format(k=K), str(settings.data_dir), str(tmp_path / "q.npy")],
                capture_output=True, text=True, check=True, timeout=120,
            ).stdout
        )
        for _ in range(4)
    ]  # fmt: skip
    assert all(run == runs[0] for run in runs[1:]), "a restart changed what a query finds"
    exact = [[f"c{i}" for i in np.argsort(-(vectors @ q))[:K]] for q in queries]
    found = sum(len(set(a) & set(b)) for a, b in zip(runs[0], exact, strict=True))
    assert found / (QUERIES * K) >= 0.95  # approximate search, but it finds what is nearest


def test_an_index_made_with_chromas_defaults_is_written_often_from_its_next_write(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.chroma_path.mkdir(parents=True)
    client = chromadb.PersistentClient(str(settings.chroma_path), settings=ChromaSettings(anonymized_telemetry=False))
    client.create_collection(settings.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
    store = ChunkStore(settings, NoEmbeddings(), client=client)
    before: dict[str, object] = dict(store.collection.configuration.get("hnsw") or {})
    assert before["sync_threshold"] == 1000
    store.upsert(chunks(3), unit(3, 2))
    after: dict[str, object] = dict(store.collection.configuration.get("hnsw") or {})
    assert {k: after[k] for k in HNSW_WRITES} == HNSW_WRITES
