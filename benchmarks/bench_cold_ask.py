"""A one-shot `policyrag ask` (and `policyrag search`) as a user types it, cold: a new process each time.

Method: the seed corpus ingested into a fresh data dir; then, for each of QUESTIONS, the wall time
of `policyrag ask --json Q` as a subprocess (a) with no server (the process loads the model, Chroma
and BM25 itself) and (b) with a `policyrag serve` on the same data dir (the CLI finds it and asks
it over HTTP). For (b) the server's own answer time (`timings_ms.total` in the answer) is the
reference: the CLI's overhead is wall time minus it. The same two ways for `policyrag search --json Q`.
Writes benchmarks/RESULTS-cold-ask.md.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_api import wait_ready

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "corpus"
EXE = str(Path(sys.executable).with_name("policyrag"))
QUESTIONS = [
    "Who set up the Zero Carbon Hub?",
    "How can I give civil servants time to innovate?",
    "What did the Mayor of Bogota ask residents for?",
    "What is social productivity?",
    "Which documents are blogs?",
]


def _ask(env: dict[str, str], question: str, *extra: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    done = subprocess.run([EXE, "ask", "--json", question, *extra], env=env, capture_output=True, text=True,
                          check=True, timeout=600)  # fmt: skip
    wall = (time.perf_counter() - t0) * 1000
    return wall, float(json.loads(done.stdout)["timings_ms"]["total"])


def _search(env: dict[str, str], query: str, *extra: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([EXE, "search", "--json", query, *extra], env=env, capture_output=True, text=True, check=True,
                   timeout=600)  # fmt: skip
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    env = {**os.environ, "POLICYRAG_DATA_DIR": str(root / "data"), "POLICYRAG_CORPUS_DIR": str(CORPUS),
           "POLICYRAG_LOG_LEVEL": "WARNING"}  # fmt: skip
    subprocess.run([EXE, "ingest"], env=env, check=True, capture_output=True)
    cold = [_ask(env, q, "--in-process")[0] for q in QUESTIONS]
    cold_search = [_search(env, q, "--in-process") for q in QUESTIONS]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = root / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen([EXE, "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", server, log, "policyrag serve", 180)
        _ask(env, QUESTIONS[0])  # the server's first answer warms its caches, as a day's first user would
        served = [_ask(env, q) for q in QUESTIONS]
        searched = [_search(env, q) for q in QUESTIONS]
    finally:
        server.terminate()
        server.wait(timeout=60)
    walls, own = [w for w, _ in served], [t for _, t in served]
    overhead = [w - t for w, t in served]
    rows = [
        ("`policyrag ask`, no server (loads model, Chroma, BM25)", statistics.median(cold), max(cold)),
        ("`policyrag ask`, local server running", statistics.median(walls), max(walls)),
        ("the server's own answer time", statistics.median(own), max(own)),
        ("CLI overhead over the server's time", statistics.median(overhead), max(overhead)),
        ("`policyrag search`, no server", statistics.median(cold_search), max(cold_search)),
        ("`policyrag search`, local server running", statistics.median(searched), max(searched)),
    ]
    lines = [
        "# A cold one-shot `policyrag ask` and `policyrag search`",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python benchmarks/bench_cold_ask.py` "
        f"(part of `make bench`). Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        __doc__.split("\n\n", 1)[1].strip(),
        "",
        f"{len(QUESTIONS)} questions, one new process each.",
        "",
        "| measure | median (ms) | max (ms) | target |",
        "| --- | --- | --- | --- |",
    ]
    for i, (name, med, top) in enumerate(rows):
        target = {3: "≤ 2000 over the server's time", 5: "< 1000"}.get(i, "")
        lines.append(f"| {name} | {med:.0f} | {top:.0f} | {target} |")
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS-cold-ask.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
