"""Real Chroma and PostgreSQL servers the tests start, stop, kill and start again on the same data
and port (the scale-out tests keep theirs up; the fault tests take them away mid-load)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag.local_server import ends_with_parent, wait_ready


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; CI runs as root, so drop to Debian's postgres user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class ChromaServer:
    """``chroma run`` (from the chromadb package) on ``port``, its data under ``root``."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = root / "chroma.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(self.root / "db"),
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
                preexec_fn=ends_with_parent,
            )  # fmt: skip
        if not wait_ready(f"{self.url}/api/v2/heartbeat", self.proc, timeout):
            self.proc.kill()
            raise RuntimeError(f"the Chroma server did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, as a crashed or evicted server goes: no shutdown, no flush."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Postgres:
    """A real PostgreSQL (Debian's ``postgresql``, installed by ``make install-dev``) in a temp dir."""

    def __init__(self, port: int) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed: make install-dev installs Debian's postgresql")
        self.bin = bins[-1].parent
        self.root = Path(tempfile.mkdtemp(prefix="policyrag-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.data, self.port = self.root / "data", port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        self.proc: subprocess.Popen[bytes] | None = None
        subprocess.run(
            _as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E",
                          "UTF8"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        # The server itself (not pg_ctl, which detaches it) as our child, ended with this process even
        # when the test run is killed outright; runuser passes the SIGTERM on to it.
        with (self.root / "pg.log").open("ab") as log:
            self.proc = subprocess.Popen(
                _as_postgres([str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p",
                              str(self.port), "-k", str(self.root)]),
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=ends_with_parent,
            )  # fmt: skip
        ready = [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"]
        for _ in range(120):
            if subprocess.run(ready, capture_output=True, check=False).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        raise RuntimeError(f"PostgreSQL did not start:\n{(self.root / 'pg.log').read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        """A fast shutdown (SIGINT to the server: open sessions are cut, as an operator's restart does)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pid = subprocess.run(["pgrep", "-f", f"postgres -D {self.data}"], capture_output=True, text=True).stdout
        for p in pid.split():
            os.kill(int(p), signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
