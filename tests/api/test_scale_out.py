"""The scaled-out picture on loopback: a real Chroma server, a node that ingests, a stateless API
node with an empty data dir that serves, and feedback in a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.core.config import Settings
from rag.index.retrieval import SearchIndex
from rag.persist.feedback import FeedbackStore
from tests.api.conftest import Server, start_server, stop
from tests.conftest import CORPUS

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTIONS = [
    "Who set up the Zero Carbon Hub?",
    "How did Sunderland build a virtual back office?",
    "voluntary taxes in Bogotá",
    "how do I set up a shared space with local business?",
    "What is shared value?",
]
NEW_DOC = """---
title: Lending libraries of tools
doc_type: note
---
# Tool lending
The Riverside tool lending library lends ladders and drills from the old pump house.
"""


def policyrag(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "policyrag"), *args], env=env, check=True, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def node_a(tmp_path_factory: pytest.TempPathFactory, chroma_server: str) -> dict[str, str]:
    """The ingesting node: its own corpus copy and data dir, writing to the Chroma server."""
    root = tmp_path_factory.mktemp("node-a")
    shutil.copytree(CORPUS, root / "corpus")
    env = {
        **os.environ,
        "POLICYRAG_CHROMA_URL": chroma_server,
        "POLICYRAG_COLLECTION": "scaleout",
        "POLICYRAG_DATA_DIR": str(root / "data"),
        "POLICYRAG_CORPUS_DIR": str(root / "corpus"),
        "HF_HUB_OFFLINE": "1",
    }
    policyrag("ingest", "--json", env=env)
    return env


@pytest.fixture(scope="module")
def node_b(
    tmp_path_factory: pytest.TempPathFactory, chroma_server: str, postgres_url: str, node_a: dict[str, str]
) -> Iterator[Server]:
    """A serving node that has never seen the corpus: empty data dir, no corpus files."""
    root = tmp_path_factory.mktemp("node-b")
    (root / "corpus").mkdir()
    server = start_server(
        root,
        ingest=False,
        POLICYRAG_CHROMA_URL=chroma_server,
        POLICYRAG_COLLECTION="scaleout",
        POLICYRAG_DATABASE_URL=postgres_url,
        POLICYRAG_SYNC_INTERVAL_S="0.2",
    )
    yield server
    stop(server)


def _ids_and_scores(hits: list[dict]) -> list[tuple[str, float]]:
    return [(h["chunk_id"], round(h["score"], 6)) for h in hits]


def test_an_empty_node_serves_the_same_hybrid_results_as_embedded_mode(
    node_b: Server, corpus_index: SearchIndex
) -> None:
    assert not any((node_b.root / "corpus").iterdir())
    with node_b.client() as client:
        for q in QUESTIONS:
            theirs = client.post("/v1/search", json={"query": q, "k": 8}).json()["results"]
            ours = [r.model_dump() for r in corpus_index.search(q, 8)]
            assert _ids_and_scores(theirs) == _ids_and_scores(ours), q
            # both retrievers contributed: the lexical side was derived from the server's chunks
            assert any(h["lexical_score"] for h in theirs) and any(h["dense_score"] for h in theirs)
        answer = client.post("/v1/ask", json={"question": QUESTIONS[0]}).json()
    assert not answer["refused"] and answer["citations"]
    assert any("Zero Carbon Hub" in c["quote"] for c in answer["citations"])


def test_a_document_ingested_on_one_node_is_served_by_the_other(node_a: dict[str, str], node_b: Server) -> None:
    query = {"query": "tool lending library pump house", "k": 3}
    with node_b.client() as client:
        assert all(h["doc_id"] != "tool-lending" for h in client.post("/v1/search", json=query).json()["results"])
        new_file = Path(node_a["POLICYRAG_CORPUS_DIR"]) / "tool-lending.md"
        new_file.write_text(NEW_DOC, encoding="utf-8")
        policyrag("ingest", "--json", env=node_a)
        hits = _poll(client, query, lambda hits: bool(hits) and hits[0]["doc_id"] == "tool-lending")
        assert hits[0]["lexical_score"], "the new chunk reached node B's BM25 side too"
        assert "tool-lending" in {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}

        new_file.unlink()
        policyrag("ingest", "--json", env=node_a)
        _poll(client, query, lambda hits: all(h["doc_id"] != "tool-lending" for h in hits))


def _poll(client: httpx.Client, query: dict, done: object, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        hits = client.post("/v1/search", json=query).json()["results"]
        if done(hits):  # type: ignore[operator]
            return hits
        assert time.monotonic() < deadline, f"node B still serves {hits[:1]}"
        time.sleep(0.2)


def test_feedback_from_a_node_lands_in_postgres(node_b: Server, postgres_url: str) -> None:
    body = {"question": "Who set up the Zero Carbon Hub?", "answer": "The Government. [1]", "rating": "up"}
    with node_b.client() as client:
        r = client.post("/v1/feedback", json={**body, "comment": "clear and cited"})
    assert r.status_code == 201, r.text
    rows = FeedbackStore(Settings(database_url=postgres_url)).all()
    assert [(x["question"], x["rating"], x["comment"]) for x in rows][-1] == (body["question"], "up", "clear and cited")
    assert not (node_b.root / "data" / "feedback.sqlite3").exists()
