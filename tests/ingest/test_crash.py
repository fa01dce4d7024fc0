"""``kill -9`` during ``policyrag ingest`` of real State of the Union addresses, then re-ingest.

The ingest runs as a real process writing real embedded Chroma. It is killed at three moments
(just after its first batch of chunks is written, half-way through by the clock, and while it
builds the lexical index); after each kill ``policyrag doctor`` must report rather than crash.
The final, uninterrupted ingest must leave exactly what a clean ingest leaves: the same chunk
ids, no duplicates, and a doctor with nothing to say.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from evals.corpora import write_sotu
from rag.core.config import Settings
from rag.index.store import ChunkStore

pytestmark = pytest.mark.slow

EXE = Path(sys.executable).with_name("policyrag")
SPEECHES = 30  # the oldest 30 addresses: 864 chunks, about 30 s to ingest on 2 cores
BATCH = 48  # chunks per write, so the ingest writes ~18 times and a kill lands between writes


def env_for(data: Path, corpus: Path) -> dict[str, str]:
    return {
        **os.environ,
        "POLICYRAG_DATA_DIR": str(data),
        "POLICYRAG_CORPUS_DIR": str(corpus),
        "POLICYRAG_INGEST_BATCH_CHUNKS": str(BATCH),
        "POLICYRAG_LOG_LEVEL": "INFO",
        "COLUMNS": "200",
    }


def ingest(data: Path, corpus: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(EXE), "ingest", "--json"], env=env_for(data, corpus), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def doctor(data: Path, corpus: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [str(EXE), "doctor", "--json"], env=env_for(data, corpus), capture_output=True, text=True, timeout=300
    )
    assert done.returncode in (0, 1), f"doctor crashed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done.returncode, dict(json.loads(done.stdout))


def ingest_killed(
    data: Path, corpus: Path, *, when_logged: str | None = None, after_s: float | None = None, nth: int = 1,
    then_s: float = 0.0,
) -> str:  # fmt: skip
    """Start an ingest and SIGKILL it when a log line matches for the ``nth`` time (``then_s`` later:
    inside the work that follows it), or when a delay passes; returns its log."""
    proc = subprocess.Popen(
        [str(EXE), "ingest"], env=env_for(data, corpus), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    hit = threading.Event()
    seen = 0

    def read() -> None:
        nonlocal seen
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if when_logged and re.search(when_logged, line) and not hit.is_set():
                seen += 1
                if seen < nth:
                    continue
                if then_s:
                    threading.Timer(then_s, proc.send_signal, (signal.SIGKILL,)).start()
                else:
                    proc.send_signal(signal.SIGKILL)  # from the reader thread: no poll delay
                hit.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if after_s is not None:
        time.sleep(after_s)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=600)
    reader.join(timeout=10)
    log = "".join(lines)
    assert proc.returncode == -signal.SIGKILL, f"the ingest finished before the kill:\n{log[-2000:]}"
    if when_logged:
        assert hit.is_set()
    return log


def chunk_ids(data: Path, corpus: Path, embeddings: Any) -> list[str]:
    store = ChunkStore(Settings(data_dir=data, corpus_dir=corpus), embeddings)
    return sorted(c.chunk_id for c in store.iter_all())


def test_kill_9_during_ingest_then_reingest_matches_a_clean_ingest(tmp_path: Path, embeddings: Any) -> None:
    corpus = tmp_path / "corpus"
    assert write_sotu(corpus, SPEECHES, oldest=True) == SPEECHES

    clean = ingest(tmp_path / "clean", corpus)
    assert clean["files_ingested"] == SPEECHES and not clean["files_skipped"]

    crashed = tmp_path / "crashed"
    reports = []
    ingest_killed(crashed, corpus, when_logged=r"ingested \S+: \d+ chunks")  # right after a write
    reports.append(doctor(crashed, corpus))
    # half-way, inside the next address's work (by progress, not by the clock: a second run can be
    # twice as fast as the first, and a kill timed on the first then came after the end)
    ingest_killed(crashed, corpus, when_logged=r"ingested \S+: \d+ chunks", nth=SPEECHES // 2 - 1, then_s=0.4)
    reports.append(doctor(crashed, corpus))
    ingest_killed(crashed, corpus, when_logged=r"lexical index")  # while BM25 is being built
    reports.append(doctor(crashed, corpus))
    # each crash left part of the corpus unwritten, and the doctor said so
    for _, report in reports:
        assert not report["up_to_date"]
        assert {f["kind"] for f in report["findings"]} <= {
            "not_indexed", "partial_document", "stale_lexical", "leftover_file", "orphan_chunk", "missing_vectors",
            "stale_sentence_vectors",
        }  # fmt: skip

    final = ingest(crashed, corpus)
    assert final["chunks_total"] == clean["chunks_total"]
    assert final["files_unchanged"] + final["files_ingested"] == SPEECHES

    ids = chunk_ids(crashed, corpus, embeddings)
    assert len(ids) == len(set(ids)) == clean["chunks_total"]
    assert ids == chunk_ids(tmp_path / "clean", corpus, embeddings)

    code, report = doctor(crashed, corpus)
    assert code == 0 and report["clean"] and report["up_to_date"], report["findings"]
    assert report["chunks"] == clean["chunks_total"] and report["documents"] == SPEECHES
    assert report["vectors_checked"] > 0


def test_doctor_repair_fixes_what_a_crash_can_leave(tmp_path: Path, embeddings: Any) -> None:
    """The states a crash can leave, made by hand, each named by the doctor and fixed by --repair."""
    corpus = tmp_path / "corpus"
    write_sotu(corpus, 4, oldest=True)
    data = tmp_path / "data"
    clean = ingest(data, corpus)

    settings = Settings(data_dir=data, corpus_dir=corpus)
    store = ChunkStore(settings, embeddings)
    entries = list(store.iter_all())
    victim = entries[0].doc_id
    store.delete([c.chunk_id for c in entries if c.doc_id == victim][:3])  # half-written document
    store.collection.add(ids=["stray"], embeddings=[[0.1] * 384], documents=["x"], metadatas=[{"x": 1}])
    (data / ".lexical-interrupted").mkdir()
    (corpus / "uploads").mkdir()
    (corpus / "uploads" / ".report.md.123.part").write_text("half an upload")
    del store

    code, report = doctor(data, corpus)
    kinds = {(f["kind"], f["subject"]) for f in report["findings"]}
    assert code == 1 and not report["clean"]
    assert ("partial_document", victim) in kinds and ("orphan_chunk", "stray") in kinds
    assert {"stale_lexical", "leftover_file"} <= {k for k, _ in kinds}

    repaired = subprocess.run(
        [str(EXE), "doctor", "--repair", "--json"], env=env_for(data, corpus), capture_output=True, text=True
    )
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    after = json.loads(repaired.stdout)
    assert after["clean"] and after["up_to_date"] and after["repaired"]
    assert after["chunks"] == clean["chunks_total"]
    assert not (data / ".lexical-interrupted").exists()
    assert not (corpus / "uploads" / ".report.md.123.part").exists()
