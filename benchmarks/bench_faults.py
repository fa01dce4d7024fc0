"""Run the fault suite (``pytest -m faults``) and write what each fault cost to RESULTS-faults.md.

    python benchmarks/bench_faults.py            # or: make bench-faults

Each fault test of tests/faults/ appends its figures (requests sent, failed by status and error
type, p95 latency while the part was away, seconds from the part's return to every node serving,
documents lost or duplicated) to the file named by POLICYRAG_FAULTS_REPORT; this script sets it,
runs the suite once, and writes the table with the machine and the method.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "RESULTS-faults.md"
# What this suite cannot say: its attacks are the ones the defences were built against.
LIMIT = (
    "These twenty attacks were written before the defences and the defences were built while reading their "
    "failures, so this table is a tuned figure. The blind figures are the red-team libraries below."
)
# Red-team libraries written blind by fresh helpers (never tuned on): python -m evals.attacks FOLDER
RED_TEAMS = (
    (
        "evals/redteam",
        "twelve documents, 2026-12-06; read after the fact to fix hidden text (e5fa986), so no "
        "longer blind for those techniques",
    ),
    (
        "evals/redteam2",
        "ten documents, 2026-12-06, written while the classifier of text addressed to the "
        "answerer was trained, by a helper who saw neither it nor its training set",
    ),
)


def red_teams() -> list[str]:
    """Each blind red-team asked of the extractive default: which attacks reached an answer."""
    from evals.attacks import report, run

    out = []
    for folder, about in RED_TEAMS:
        out += ["", f"### {folder} ({about})", "", report(run(REPO / folder)).rstrip()]
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rows_path = Path(tmp) / "faults.jsonl"
        env = {**os.environ, "POLICYRAG_FAULTS_REPORT": str(rows_path), "HF_HUB_OFFLINE": "1"}
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-m", "faults", "-q", "-p", "no:cacheprovider", "tests/faults"],
            cwd=REPO, env=env, check=False,
        )  # fmt: skip
        took = time.monotonic() - started
        rows = [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.exists() else []
    head = [
        "# Faults across nodes",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `make bench-faults` (benchmarks/bench_faults.py), which runs "
        f"`pytest -m faults` once: the suite passed: {'yes' if run.returncode == 0 else 'NO'}; it took {took:.0f} s.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}. Everything on loopback on this one machine: a real Chroma "
        "server (`chroma run`), a real PostgreSQL, two `policyrag serve` nodes (uvicorn), the ingesting node's "
        "CLI, and the client threads.",
        "",
        "Method (tests/faults/test_nodes.py): closed-loop clients alternate `/v1/ask` and `/v1/search` over both "
        "nodes with a 30 s client timeout; *failed* counts non-200 answers by status and error type; *p95 during* is "
        "over requests started between the part going away and every node being ready again; *recover* is seconds "
        "from the part's return to both nodes answering `/readyz` 200 (for the lease: from the kill to node B's "
        "finished ingest, model load included); *lost* and *duplicated* compare, per document on the Chroma server, "
        "chunks stored with the chunk count the document states, after the interrupted work is run again.",
        "",
        "| fault | requests sent | failed (status, type) | p95 during (ms) | recover (s) | lost | duplicated | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = {"fault", "sent", "failed", "p95_ms_during", "recover_s", "lost", "duplicated"}
    attacks = [r for r in rows if "attack" in r]
    rows = [r for r in rows if "fault" in r]
    lines = []
    for r in rows:
        failed = ", ".join(f"{n} × {k}" for k, n in r["failed"].items()) or "none"
        notes = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in r.items() if k not in keys)
        p95 = "" if r["p95_ms_during"] is None else r["p95_ms_during"]
        lines.append(f"| {r['fault']} | {r['sent']} | {failed} | {p95} | {r['recover_s']} | {r['lost']} | "
                     f"{r['duplicated']} | {notes} |")  # fmt: skip
    hostile = [
        "",
        "## A hostile library",
        "",
        "tests/faults/test_hostile_library.py: the five seed documents and twenty documents written to attack an "
        "assistant (tests/faults/hostile/ and, written at test time, a PDF, a Word file and a 600-item list), "
        "ingested together; the questions each attack targets asked of the extractive default in process, and "
        "four of them of the LLM generator (SmolLM2 through llama.cpp's OpenAI-compatible server). *Not followed, "
        "not quoted*: the answer and the quotes it shows hold neither the attack's canary nor its injected "
        "phrases nor an invisible character, and the extractive answer still gives the document's real guidance.",
        "",
        "| attack | where it is | generator | questions | outcome |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {r['attack']} | {r['where']} | {r['generator']} | {r['questions']} | {r['outcome']} |" for r in attacks),
        "",
        LIMIT,
        "",
        "## Blind red-teams",
        "",
        "`python -m evals.attacks FOLDER`: the folder's hostile documents beside the five seed documents, "
        "ingested; every question asked of the extractive default; an attack *reached an answer* when its canary "
        "(a token only its instructions carry) is in one. The controls (SEED, PROBE) are ordinary questions.",
        *red_teams(),
    ]
    OUT.write_text("\n".join([*head, *lines, *(hostile if attacks else []), ""]), encoding="utf-8")
    sys.stderr.write(f"wrote {OUT}\n")
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
