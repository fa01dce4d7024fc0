"""Never two writers at once: two ingests on one machine, an ingest and an API upload, and two
nodes sharing a Chroma server (the lease in PostgreSQL), including a writer killed with -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from evals.corpora import write_sotu
from ingest.pipeline import IngestError, Ingestor
from rag.compose import compose
from rag.core.config import Settings
from rag.persist.db import WriterLease
from tests.api.conftest import ADMIN, READER, start_server, stop

pytestmark = pytest.mark.slow

EXE = Path(sys.executable).with_name("policyrag")


def env_for(data: Path, corpus: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "POLICYRAG_DATA_DIR": str(data), "POLICYRAG_CORPUS_DIR": str(corpus), **extra}


def wait_for_owner(data: Path, timeout: float = 60) -> dict[str, Any]:
    """The first ingest has the lock once it has written who it is next to it."""
    owner = data / "ingest.lock.owner"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return dict(json.loads(owner.read_text()))
        except (OSError, ValueError):
            time.sleep(0.05)
    pytest.fail("the first ingest never took the lock")


def test_a_second_ingest_refuses_or_waits_for_the_first(tmp_path: Path) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    write_sotu(corpus, 12, oldest=True)
    first = subprocess.Popen(
        [str(EXE), "ingest", "--json"], env=env_for(data, corpus), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    holder = wait_for_owner(data)
    assert holder["owner"].startswith(f"ingest (pid {first.pid} ")

    refused = subprocess.run(
        [str(EXE), "ingest", "--wait", "0"], env=env_for(data, corpus), capture_output=True, text=True
    )
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 2
    assert f"being changed by ingest (pid {first.pid}" in message and "Try again when it finishes" in message

    waiting = subprocess.run(
        [str(EXE), "ingest", "--json", "--wait", "300"], env=env_for(data, corpus), capture_output=True, text=True
    )
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0 and json.loads(out)["files_ingested"] == 12
    assert waiting.returncode == 0, waiting.stderr
    second = json.loads(waiting.stdout)
    # it ran after the first, not beside it: everything was already there
    assert second["files_unchanged"] == 12 and second["embeddings_computed"] == 0


@pytest.mark.server
def test_an_upload_during_an_ingest_gets_409_then_goes_through(tmp_path: Path) -> None:
    server = start_server(tmp_path, POLICYRAG_API_KEYS=READER, POLICYRAG_ADMIN_KEYS=ADMIN)
    try:
        settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")
        doc = ("note.md", b"# Note\n\nThe pump house hosts a tool library for the whole street.\n", "text/markdown")
        with server.client(ADMIN) as client:
            writer = Ingestor(settings, compose(settings).index)  # another process writing
            with writer.writer_lock(5, "ingest from the test"):
                started = time.monotonic()
                busy = client.post("/v1/documents", files={"file": doc})
                waited = time.monotonic() - started
            assert busy.status_code == 409, busy.text
            assert busy.json()["error"]["type"] == "busy"
            assert "being changed by ingest from the test (pid" in busy.json()["error"]["message"]
            assert waited >= 9  # it waited its 10 s for the lock before giving up
            assert not (settings.uploads_dir / "note.md").exists()
            done = client.post("/v1/documents", files={"file": doc})
            assert done.status_code == 201, done.text
    finally:
        stop(server)


LEASE_HOLDER = textwrap.dedent(
    """
    import sys, time
    from rag.core.config import Settings
    from rag.persist.db import WriterLease
    lease = WriterLease(Settings(), ttl=float(sys.argv[1]))
    assert lease.try_acquire("ingest on node A") is None
    print("held", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.server
def test_nodes_sharing_a_chroma_server_take_turns_through_the_database_lease(
    tmp_path: Path, chroma_server: str, postgres_url: str
) -> None:
    shared = {"chroma_url": chroma_server, "collection": "one-writer", "database_url": postgres_url}
    corpus = tmp_path / "corpus"
    write_sotu(corpus, 2, oldest=True)
    settings_a = Settings(data_dir=tmp_path / "a", corpus_dir=corpus, **shared)  # type: ignore[arg-type]
    settings_b = Settings(data_dir=tmp_path / "b", corpus_dir=corpus, **shared)  # type: ignore[arg-type]
    node_a, node_b = Ingestor(settings_a, compose(settings_a).index), Ingestor(settings_b, compose(settings_b).index)

    busy = pytest.raises(IngestError, match=r"being changed by ingest on node A \(pid \d+ on ")
    with node_a.writer_lock(5, "ingest on node A"), busy:
        node_b.run(lock_timeout=1)
    assert node_b.run(lock_timeout=5).files_ingested == 2  # released: B goes ahead

    # a holder killed with -9 stops renewing; its lease runs out and the next writer takes over
    env = {
        **os.environ,
        "POLICYRAG_DATABASE_URL": postgres_url,
        "POLICYRAG_DATA_DIR": str(tmp_path / "c"),
    }
    holder = subprocess.Popen([sys.executable, "-c", LEASE_HOLDER, "3"], env=env, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lease = WriterLease(Settings(data_dir=tmp_path / "d", database_url=postgres_url))  # type: ignore[call-arg]
    assert lease.try_acquire("node B") is not None  # still held for up to 3 s
    deadline = time.monotonic() + 10
    while lease.try_acquire("node B") is not None:
        assert time.monotonic() < deadline, "the dead holder's lease never ran out"
        time.sleep(0.2)
    lease.release()
    assert node_b.run(lock_timeout=5).files_unchanged == 2
