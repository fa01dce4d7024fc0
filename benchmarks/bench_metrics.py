"""What Prometheus metrics cost a search: `/v1/search` p50 with metrics on against metrics off.

Method: the seed corpus ingested into a fresh data dir; two `policyrag serve` (one worker each) on
it, one with metrics on (the default) and one with `POLICYRAG_METRICS_ENABLED=false`. The same
QUERIES distinct 8-word queries (spans of the corpus, fixed seed, so no answer comes from a cache)
go to both, one at a time, alternating which server goes first, after WARM warm-up queries each.
The wall time of each request is measured by the client over loopback. Writes
benchmarks/RESULTS-metrics.md.
"""

from __future__ import annotations

import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_api import percentile, wait_ready

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "corpus"
EXE = str(Path(sys.executable).with_name("policyrag"))
QUERIES, WARM = 600, 30


def queries(n: int) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", " ".join(p.read_text() for p in sorted(CORPUS.glob("*.md"))))
    rng = random.Random(20261202)
    out: set[str] = set()
    while len(out) < n:
        start = rng.randrange(len(words) - 8)
        out.add(" ".join(words[start : start + 8]))
    return sorted(out, key=lambda _: rng.random())


def serve(env: dict[str, str], root: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = root / f"{name}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([EXE, "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/readyz", proc, log, f"policyrag serve ({name})", 180)
    return proc, url


def timed(client: httpx.Client, query: str) -> float:
    t0 = time.perf_counter()
    r = client.post("/v1/search", json={"query": query, "k": 5})
    ms = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    return ms


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    env = {**os.environ, "POLICYRAG_DATA_DIR": str(root / "data"), "POLICYRAG_CORPUS_DIR": str(CORPUS),
           "POLICYRAG_LOG_LEVEL": "WARNING"}  # fmt: skip
    subprocess.run([EXE, "ingest"], env=env, check=True, capture_output=True)
    qs = queries(QUERIES + WARM)
    on_proc, on_url = serve(env, root, "metrics-on")
    off_proc, off_url = serve({**env, "POLICYRAG_METRICS_ENABLED": "false"}, root, "metrics-off")
    times: dict[str, list[float]] = {"on": [], "off": []}
    try:
        with httpx.Client(base_url=on_url, timeout=60) as on, httpx.Client(base_url=off_url, timeout=60) as off:
            assert on.get("/metrics").status_code == 200 and off.get("/metrics").status_code == 404
            for q in qs[:WARM]:
                timed(on, q), timed(off, q)
            for i, q in enumerate(qs[WARM:]):
                order = [("on", on), ("off", off)] if i % 2 == 0 else [("off", off), ("on", on)]
                for name, client in order:
                    times[name].append(timed(client, q))
    finally:
        for proc in (on_proc, off_proc):
            proc.terminate()
            proc.wait(timeout=60)
    p50 = {k: statistics.median(v) for k, v in times.items()}
    p95 = {k: percentile(v, 0.95) for k, v in times.items()}
    overhead = (p50["on"] / p50["off"] - 1) * 100
    lines = [
        "# What metrics cost a search",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python benchmarks/bench_metrics.py` "
        f"(part of `make bench`). Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        (__doc__ or "").split("\n\n", 1)[1].strip().replace("QUERIES", str(QUERIES)).replace("WARM", str(WARM)),
        "",
        "| `/v1/search` (k=5) | p50 (ms) | p95 (ms) |",
        "| --- | --- | --- |",
        f"| metrics off | {p50['off']:.2f} | {p95['off']:.2f} |",
        f"| metrics on | {p50['on']:.2f} | {p95['on']:.2f} |",
        "",
        f"p50 with metrics on is **{overhead:+.1f}%** against off (target: within 5%).",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS-metrics.md").write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
