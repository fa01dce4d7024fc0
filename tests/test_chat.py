"""``policyrag chat`` as a user types it, through a real pseudo-terminal; ``ask --history`` for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import CORPUS, free_port, wait_until_up
from tests.test_cli import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chat")
    done = run(["ingest"], root, CORPUS)
    assert done.returncode == 0, done.stderr
    return root


def test_a_conversation_in_the_terminal_follows_up_and_exports(library: Path, tmp_path: Path) -> None:
    env = {**os.environ, "POLICYRAG_DATA_DIR": str(library / "data"), "POLICYRAG_CORPUS_DIR": str(CORPUS),
           "POLICYRAG_LOG_LEVEL": "WARNING"}  # fmt: skip
    exe = str(Path(sys.executable).with_name("policyrag"))
    chat = pexpect.spawn(exe, ["chat"], env=env, encoding="utf-8", timeout=180, dimensions=(40, 200))
    chat.expect_exact("you> ")
    chat.sendline("Who set up the Zero Carbon Hub?")
    chat.expect(r"\[\w+ · (\d+) sources?")
    first = chat.before
    assert "National House-Building Council" in first
    chat.expect_exact("you> ")

    chat.sendline("And who gave it seed corn funding?")  # needs the first turn to know what "it" is
    chat.expect(r"\[\w+ · \d+ sources?")
    assert "DCLG" in chat.before
    chat.expect_exact("you> ")
    chat.sendline("/sources")
    chat.expect_exact("you> ")
    sources = chat.before
    assert "References" in sources and "business-society-public-services" in sources and "DCLG" in sources

    note = tmp_path / "briefing.md"
    chat.sendline(f"/export {note}")
    chat.expect_exact("wrote 2 turn(s)")
    chat.expect_exact("you> ")
    chat.sendline("/mode poem")
    chat.expect_exact("error: the mode must be one of")
    chat.expect_exact("you> ")
    chat.sendeof()
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0

    text = note.read_text(encoding="utf-8")
    assert "## 1. Who set up the Zero Carbon Hub?" in text and "## 2. And who gave it seed corn funding?" in text
    assert "DCLG" in text.split("## 2.")[1]


def test_ask_takes_the_history_from_a_file(library: Path, tmp_path: Path) -> None:
    history = tmp_path / "turns.json"
    history.write_text(json.dumps([
        {"role": "user", "content": "Who set up the Zero Carbon Hub?"},
        {"role": "assistant", "content": "The National House-Building Council set it up [1]."},
    ]), encoding="utf-8")  # fmt: skip
    alone = run(["ask", "--json", "And who gave it seed corn funding?"], library, CORPUS)
    followed = run(["ask", "--json", "--history", str(history), "And who gave it seed corn funding?"], library, CORPUS)
    assert followed.returncode == 0, followed.stderr
    answer = json.loads(followed.stdout)
    assert not answer["refused"] and "DCLG" in answer["answer"]
    assert "Zero Carbon Hub" in answer["query"]  # the follow-up was read with the turn before it
    assert json.loads(alone.stdout)["query"] == "And who gave it seed corn funding?"

    history.write_text('{"role": "god"}', encoding="utf-8")
    bad = run(["ask", "--history", str(history), "And then?"], library, CORPUS)
    assert bad.returncode == 2 and "must be a JSON list" in bad.stderr


@pytest.mark.server
def test_a_one_shot_ask_and_search_use_a_running_local_server(library: Path, tmp_path: Path) -> None:
    env = {**os.environ, "POLICYRAG_DATA_DIR": str(library / "data"), "POLICYRAG_CORPUS_DIR": str(CORPUS),
           "POLICYRAG_LOG_LEVEL": "INFO"}  # fmt: skip
    exe = str(Path(sys.executable).with_name("policyrag"))
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen([exe, "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", server, log, "policyrag serve")
        assert json.loads((library / "data" / "server.json").read_text())["url"] == f"http://127.0.0.1:{port}"
        question = ["ask", "--json", "Who set up the Zero Carbon Hub?"]
        remote, local = run(question, library, CORPUS), run([*question, "--in-process"], library, CORPUS)
        assert remote.returncode == local.returncode == 0, remote.stderr + local.stderr
        a, b = json.loads(remote.stdout), json.loads(local.stdout)
        assert (a["answer"], a["citations"]) == (b["answer"], b["citations"])
        assert log.read_text().count("POST /v1/ask 200") == 1  # the one-shot ask went to the server, once
        query = ["search", "--json", "seed corn funding for the hub"]
        remote, local = run(query, library, CORPUS), run([*query, "--in-process"], library, CORPUS)
        assert remote.returncode == local.returncode == 0, remote.stderr + local.stderr
        assert json.loads(remote.stdout) == json.loads(local.stdout) and json.loads(remote.stdout)["results"]
        assert log.read_text().count("POST /v1/search 200") == 1  # and so did the search
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not (library / "data" / "server.json").exists(), "a stopped server leaves no announcement"
    after = run(["ask", "--json", "Who set up the Zero Carbon Hub?"], library, CORPUS)
    assert after.returncode == 0 and "National House-Building Council" in json.loads(after.stdout)["answer"]
