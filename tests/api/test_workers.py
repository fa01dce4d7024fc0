"""Two uvicorn workers on one data dir: a change made by any process is seen by every worker."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import start_server, stop

pytestmark = [pytest.mark.server, pytest.mark.slow]

DOC = "# {title}\n\nThe {place} council opened a {thing} and {result}.\n"


def found_everywhere(url: str, query: str, doc_id: str, n: int = 24) -> list[bool]:
    """``n`` searches on fresh connections, 6 at a time, so both workers take some."""

    def one(_: int) -> bool:
        with httpx.Client(base_url=url, timeout=60) as c:  # a new connection each time
            hits = c.post("/v1/search", json={"query": query, "k": 3}).json()["results"]
        return any(h["doc_id"] == doc_id for h in hits)

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(one, range(n)))


def test_two_workers_see_every_change(tmp_path: Path) -> None:
    server = start_server(tmp_path, workers=2)
    try:
        deadline = time.monotonic() + 90  # /readyz answered from one worker; wait for the other too
        while len(set(re.findall(r"worker (\d+) ready", server.log.read_text(errors="replace")))) < 2:
            assert time.monotonic() < deadline, server.log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)

        # A change by another process entirely (a CLI ingest): both workers must pick it up.
        (tmp_path / "corpus" / "moss-lane.md").write_text(
            DOC.format(title="Moss Lane", place="Moss Lane", thing="seed library", result="lent 900 seed packets"),
            encoding="utf-8",
        )
        cli = Path(sys.executable).parent / "policyrag"
        subprocess.run([cli, "ingest", "--json"], env=server.env, check=True, capture_output=True)
        assert all(found_everywhere(server.url, "Moss Lane seed library packets", "moss-lane"))

        # An upload through one worker: the other must see it too.
        with httpx.Client(base_url=server.url, timeout=120) as c:
            body = DOC.format(title="Quarry Hill", place="Quarry Hill", thing="repair cafe", result="fixed 300 kettles")
            r = c.post("/v1/documents", files={"file": ("quarry-hill.md", body.encode(), "text/markdown")})
            assert r.status_code == 201, r.text
        assert all(found_everywhere(server.url, "Quarry Hill repair cafe kettles", "quarry-hill"))

        with httpx.Client(base_url=server.url, timeout=120) as c:
            assert c.delete("/v1/documents/quarry-hill").status_code == 200
        assert not any(found_everywhere(server.url, "Quarry Hill repair cafe kettles", "quarry-hill"))

        served = set(re.findall(r"POST /v1/search 200 .* pid=(\d+)", server.log.read_text(errors="replace")))
        assert len(served) == 2, "both workers served searches (6 concurrent fresh connections at a time)"
        assert "Traceback" not in server.log.read_text(errors="replace")
    finally:
        stop(server)
