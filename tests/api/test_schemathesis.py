"""Schemathesis generates requests from /openapi.json (valid and invalid); none may get a 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start_server, stop

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def open_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No keys: every route, uploads and deletes included, is reachable by the fuzzer."""
    server = start_server(tmp_path_factory.mktemp("fuzz"), POLICYRAG_MAX_FILE_MB="0.5")
    yield server
    stop(server)


def test_schemathesis_finds_no_server_error(open_api: Server) -> None:
    st = Path(sys.executable).parent / "schemathesis"
    run = subprocess.run(
        [st, "run", f"{open_api.url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", "30",
         "--seed", "20261123", "--workers", "1", "--request-timeout", "120", "--no-shrink", "--warnings", "off"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout
    cases = re.search(r"Test cases:\s+(\d+) generated", run.stdout)
    assert cases and int(cases.group(1)) >= 200, run.stdout[-2000:]  # it really exercised the API
    log = open_api.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
