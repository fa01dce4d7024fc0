"""The HTTP API's speed over loopback: a real ``policyrag serve`` (uvicorn, one worker) on a data
dir that is already ingested, measured by a client in this process (sequential latency) and by
``load.py`` in its own process (16 concurrent clients)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from rag.local_server import wait_ready as ready

HERE = Path(__file__).resolve().parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


IDLE_S = 2.0  # after the load, memory is read again this long after the last request


def _rss_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float) -> None:
    """Until ``url`` answers 200; raises with the server's log if it exits or takes too long."""
    if not ready(url, proc, timeout, every=0.5):
        raise RuntimeError(f"bench: {what} did not start:\n{log.read_text(errors='replace')[-2000:]}")


def _timed(client: httpx.Client, path: str, body: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    r = client.post(path, json=body)
    elapsed = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    return elapsed


BLOCK = 20  # queries searched, then embedded, in turn


def measure_api(
    data_dir: Path,
    corpus_dir: Path,
    queries: list[str],
    questions: list[str],
    load_queries: list[str],
    load_seconds: float,
    clients: int = 16,
    port: int = 8765,
    pythonpath: Path | None = None,
    embed: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Sequential and loaded latency of a server on ``data_dir``; ``pythonpath``: serve the code of
    that tree instead of this one (an older revision, measured beside this one).

    ``embed`` (the stock query embedding, in this process) is timed on the same queries in turn with
    the searches, ``BLOCK`` of each (``embed_p50``): the ratio of the two is then read on the same
    minutes of the machine, whose speed drifts by a fifth from one minute to the next on a shared
    host; in blocks, each side runs warm, as it would measured alone."""
    env = {
        **os.environ,
        **({"PYTHONPATH": str(pythonpath)} if pythonpath else {}),
        "POLICYRAG_DATA_DIR": str(data_dir),
        "POLICYRAG_CORPUS_DIR": str(corpus_dir),
        "POLICYRAG_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }
    log = data_dir / "bench-serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "policyrag"), "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/readyz", proc, log, "the API", timeout=600)
        results: dict[str, Any] = {"rss_ready_kb": _rss_kb(proc.pid)["VmRSS"]}
        with httpx.Client(base_url=url, timeout=120) as client:
            for q in questions[:3]:  # warm the answer path once (sentence splitter, first verify)
                _timed(client, "/v1/ask", {"question": q + " (warm-up)"})
            search: list[float] = []
            embedded: list[float] = []
            for start in range(0, len(queries), BLOCK):
                block = queries[start : start + BLOCK]
                search += [_timed(client, "/v1/search", {"query": q, "k": 5}) for q in block]
                for q in block if embed is not None else []:
                    t0 = time.perf_counter()
                    embed(q)
                    embedded.append((time.perf_counter() - t0) * 1000)
            cached = [_timed(client, "/v1/search", {"query": q, "k": 5}) for q in queries]
            ask = [_timed(client, "/v1/ask", {"question": q}) for q in questions]
        results.update(
            search_p50=statistics.median(search),
            search_p95=percentile(search, 0.95),
            search_cached_p50=statistics.median(cached),
            search_cached_p95=percentile(cached, 0.95),
            ask_p50=statistics.median(ask),
            ask_p95=percentile(ask, 0.95),
            n_search=len(search),
            **({"embed_p50": statistics.median(embedded)} if embedded else {}),
            n_ask=len(ask),
        )
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write("\n".join(load_queries))
            qfile = fh.name
        for path, key in (("/v1/search", "load_search"), ("/v1/ask", "load_ask")):
            out = subprocess.run(
                [sys.executable, str(HERE / "load.py"), url, "--path", path, "--clients", str(clients),
                 "--seconds", str(load_seconds), "--queries", qfile],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            results[key] = json.loads(out.stdout)
        mem = _rss_kb(proc.pid)
        results.update(rss_after_load_kb=mem["VmRSS"], rss_peak_kb=mem["VmHWM"])
        time.sleep(IDLE_S)  # and once the worker has had no request for a moment
        results.update(rss_idle_kb=_rss_kb(proc.pid)["VmRSS"])
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _load(r: dict[str, Any]) -> str:
    return (f"{r['requests_per_s']} req/s, p50 {r['p50_ms']} / p95 {r['p95_ms']} ms, {r['ok']} ok, "
            f"errors {r['errors'] or 0}")  # fmt: skip


def _memory(a: dict[str, Any]) -> str:
    ready, after, idle = a["rss_ready_kb"], a["rss_after_load_kb"], a.get("rss_idle_kb", 0)
    return f"{ready >> 10} → {after >> 10} → {idle >> 10} MiB ({after / ready:.2f} ×)"


# The rows of the API table (issue 40's targets): name, cell of one run, target.
API_ROWS: list[tuple[str, Callable[[dict[str, Any]], str], str]] = [
    ("`/v1/search` p50 / p95, new queries", lambda a: f"{a['search_p50']:.1f} / {a['search_p95']:.1f} ms", ""),
    (
        "`/v1/search` p50 / stock query embedding p50",
        lambda a: f"**{a['search_p50'] / a['embed_p50']:.2f}** ({a['embed_p50']:.1f} ms)",
        "≤ 1.3",
    ),
    (
        "`/v1/search` p50 / p95, repeated queries",
        lambda a: f"{a['search_cached_p50']:.1f} / {a['search_cached_p95']:.1f} ms",
        "",
    ),
    ("`/v1/ask` extractive p50 / p95", lambda a: f"**{a['ask_p50']:.0f}** / {a['ask_p95']:.0f} ms", "p50 ≤ 250 ms"),
    ("`/v1/ask` p50 / `/v1/search` p50", lambda a: f"{a['ask_p50'] / a['search_p50']:.1f}", "≤ 3"),
    ("`/v1/search`, 16 clients", lambda a: _load(a["load_search"]), "≥ 200 req/s, p95 < 150 ms, 0 errors"),
    ("`/v1/ask` extractive, 16 clients", lambda a: _load(a["load_ask"]), "≥ 40 req/s, 0 errors"),
    ("memory when ready → right after load → 2 s idle", _memory, "after load ≤ 1.3 × ready"),
]


def api_table(runs: dict[str, dict[str, Any]]) -> list[str]:
    """The API table's Markdown lines, a column per run (this code, then any baselines)."""
    return [
        "| measure | " + " | ".join(runs) + " | target |",
        "| --- | " + " | ".join("---" for _ in runs) + " | --- |",
        *(
            f"| {name} | " + " | ".join(cell(r) for r in runs.values()) + f" | {target} |"
            for name, cell, target in API_ROWS
        ),
    ]


def measure_revision(rev: str, repo: Path, **kwargs: Any) -> dict[str, Any]:
    """:func:`measure_api` on the code of git revision ``rev`` (a temporary worktree of ``repo`` put
    first on the server's PYTHONPATH), with the same data dir and queries as ``kwargs``."""
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(tree), rev],
                       check=True, capture_output=True)  # fmt: skip
        try:
            return measure_api(pythonpath=tree, **kwargs)
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)  # fmt: skip
