"""The ``policyrag`` command as a user runs it: real processes, real model, real Chroma."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS

pytestmark = pytest.mark.slow

INGEST_KEYS = {
    "files_seen", "files_ingested", "files_unchanged", "files_removed", "files_skipped", "warnings",
    "chunks_added", "chunks_removed", "chunks_total", "embeddings_computed", "cases_total", "sentences_encoded",
    "seconds",
}  # fmt: skip


def run(args: list[str], tmp_path: Path, corpus: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "POLICYRAG_DATA_DIR": str(tmp_path / "data"),
        "POLICYRAG_CORPUS_DIR": str(corpus),
        "POLICYRAG_LOG_LEVEL": "WARNING",
    }
    exe = Path(sys.executable).with_name("policyrag")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_ingest_then_search_json(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    first = run(["ingest", "--json"], tmp_path, corpus)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert set(report) == INGEST_KEYS
    assert report["files_ingested"] == 5 and report["embeddings_computed"] == report["chunks_total"] > 0

    again = json.loads(run(["ingest", "--json"], tmp_path, corpus).stdout)
    assert again["files_unchanged"] == 5 and again["embeddings_computed"] == 0

    found = run(["search", "Who set up the Zero Carbon Hub?", "--k", "3", "--json"], tmp_path, corpus)
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert len(results) == 3
    assert {"chunk_id", "doc_id", "title", "section", "text", "score"} <= set(results[0])
    assert "National House-Building Council" in results[0]["text"]

    human = run(["search", "pledgebanks"], tmp_path, corpus)
    assert human.returncode == 0 and "Nuggets from @nesta_uk" in human.stdout

    assert report["cases_total"] >= 11  # Zero Carbon Hub, Sunderland, Bogotá's voluntary taxes, ... (not the Open Book)
    cases = run(["cases", "back office", "--json"], tmp_path, corpus)
    assert cases.returncode == 0, cases.stderr
    sunderland = json.loads(cases.stdout)["cases"][0]
    assert sunderland["name"] == "Sunderland City Council’s ‘virtual’ back office"
    assert sunderland["who"][0]["quote"] == "Sunderland City Council" and sunderland["funding"] == []
    listed = run(["cases", "Bogotá"], tmp_path, corpus)
    assert listed.returncode == 0 and "voluntary taxes" in listed.stdout
    assert "Who: “the Mayor of Bogota” (open-book-social-innovation-notes, chars" in listed.stdout
    assert "Funding: not stated" in listed.stdout


def test_ingest_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.md").write_bytes(b"")
    (bad / "scan.pdf").write_bytes(b"%PDF-1.4 not really")
    nothing = run(["ingest", "--json", str(bad)], tmp_path, bad)
    assert nothing.returncode == 1, "nothing at all could be read"
    assert len(json.loads(nothing.stdout)["files_skipped"]) == 2

    (bad / "ok.txt").write_text("Shared spaces need a host.\n", encoding="utf-8")
    some = run(["ingest", str(bad)], tmp_path, bad)
    assert some.returncode == 0
    assert "skipped" in some.stdout and "empty file" in some.stdout


@pytest.mark.server
def test_up_scaled_starts_a_chroma_server_two_workers_and_the_ui(tmp_path: Path) -> None:
    """The run command's scaled option, as the README tells a user to start it."""
    import re
    import signal
    import time

    import httpx

    from tests.conftest import free_port, wait_until_up

    shutil.copytree(CORPUS, tmp_path / "corpus")
    api, ui, chroma = free_port(), free_port(), free_port()
    env = {**os.environ, "POLICYRAG_DATA_DIR": str(tmp_path / "data"), "POLICYRAG_CORPUS_DIR": str(tmp_path / "corpus")}
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("policyrag")), "up", "--scaled",
             "--api-port", str(api), "--ui-port", str(ui), "--chroma-port", str(chroma)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
            # as a CI runner or a shell's background job starts it: with SIGINT ignored
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{ui}/_stcore/health", proc, log, "policyrag up --scaled", timeout=240)
        deadline = time.monotonic() + 90
        while len(set(re.findall(r"worker (\d+) ready", log.read_text(errors="replace")))) < 2 or (
            "Ctrl-C stops everything" not in log.read_text(errors="replace")
        ):
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        hits = httpx.post(f"http://127.0.0.1:{api}/v1/search", json={"query": "Zero Carbon Hub"}, timeout=60).json()
        assert hits["results"] and hits["results"][0]["doc_id"]
        # the chunks live in the Chroma server, not in an embedded store on this node
        assert (tmp_path / "data" / "chroma-server").is_dir() and not (tmp_path / "data" / "chroma").exists()
        assert httpx.get(f"http://127.0.0.1:{chroma}/api/v2/heartbeat", timeout=5).status_code == 200
        assert f"API:    http://127.0.0.1:{api}  (2 workers" in log.read_text(errors="replace")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
            proc.kill()
            pytest.fail("policyrag up did not stop on SIGINT:\n" + log.read_text(errors="replace")[-2000:])
    for port in (api, ui, chroma):  # Ctrl-C stopped every server it started
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_feedback_export_round_trips_as_jsonl_and_csv(tmp_path: Path) -> None:
    import csv

    from rag.core.config import Settings
    from rag.persist.feedback import Feedback, FeedbackStore

    store = FeedbackStore(Settings(data_dir=tmp_path / "data"))
    tricky = 'Good, but "step 2" was vague;\nsee the second source'
    store.add(Feedback(question="Who set up the Zero Carbon Hub?", answer="The Government. [1]", rating="up"), "r-1")
    store.add(
        Feedback(question="How do I start?", answer="Map assets. [2]", rating="down", comment=tricky,
                 citations=[{"n": 2, "chunk_id": "abc"}]),
    )  # fmt: skip

    as_jsonl = run(["feedback", "export"], tmp_path, tmp_path)
    assert as_jsonl.returncode == 0, as_jsonl.stderr
    rows = [json.loads(line) for line in as_jsonl.stdout.splitlines()]
    assert [(r["id"], r["rating"], r["comment"], r["request_id"]) for r in rows] == [
        (1, "up", None, "r-1"),
        (2, "down", tricky, None),
    ]
    assert rows[1]["citations"] == [{"n": 2, "chunk_id": "abc"}] and rows[0]["created_at"].startswith("20")

    out = tmp_path / "feedback.csv"
    as_csv = run(["feedback", "export", "--out", str(out)], tmp_path, tmp_path)
    assert as_csv.returncode == 0, as_csv.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["comment"] for r in table] == ["", tricky]
    assert json.loads(table[1]["citations"]) == [{"n": 2, "chunk_id": "abc"}]

    bad = run(["feedback", "export", "--format", "xml"], tmp_path, tmp_path)
    assert bad.returncode == 2 and "use jsonl or csv" in bad.stderr
