"""Closed-loop load against a running API: N clients, each with its own connection, sending the
next request as soon as the previous one answers, for a fixed time.

    python benchmarks/load.py http://127.0.0.1:8000 --path /v1/search --clients 16 --seconds 60

Prints one JSON object: requests, errors (any non-200 or transport failure, by kind), requests/s,
p50/p95/p99 latency in ms. Run it as its own process so the client does not share a GIL (or a
core's worth of Python) with what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

import httpx

DEFAULT_QUERIES = [
    "Who set up the Zero Carbon Hub?",
    "How did Sunderland build a virtual back office?",
    "voluntary taxes in Bogotá",
    "how do I set up a shared space with local business?",
    "What is shared value?",
    "How can I give civil servants time to innovate?",
]


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def _client(
    url: str, path: str, queries: list[str], deadline: float, seed: int, latencies: list[float], errors: Counter[str]
) -> None:
    rng = random.Random(seed)
    field = "question" if path.endswith("/ask") else "query"
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        while time.monotonic() < deadline:
            body: dict[str, Any] = {field: rng.choice(queries)}
            started = time.perf_counter()
            try:
                r = await client.post(path, json=body)
                status = str(r.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            if status == "200":
                latencies.append(elapsed)
            else:
                errors[status] += 1


async def load(url: str, path: str, queries: list[str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_client(url, path, queries, deadline, i, latencies, errors) for i in range(clients)))
    wall = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "path": path,
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(latencies) + sum(errors.values()),
        "ok": len(latencies),
        "errors": dict(errors),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
        "p95_ms": round(_percentile(ordered, 0.95), 1),
        "p99_ms": round(_percentile(ordered, 0.99), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--path", default="/v1/search")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--queries", type=argparse.FileType("r"), help="one query per line (default: a few)")
    args = parser.parse_args()
    queries = [q.strip() for q in args.queries if q.strip()] if args.queries else DEFAULT_QUERIES
    result = asyncio.run(load(args.url, args.path, queries, args.clients, args.seconds))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
