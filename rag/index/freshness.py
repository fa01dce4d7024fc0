"""The change marker: how every reader learns that a writer changed the index.

A writer (an ingest, an upload or delete in any API worker) moves a token after its writes:
embedded, a small file in the data dir; on a Chroma server, also the collection's metadata, so
nodes without a shared disk see it. A reader compares the token with the one it loaded before
each search (the file: one small read; the server: at most every ``sync_interval_s``).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from rag.core.config import Settings
from rag.index.store import ChunkStore


class ChangeMarker:
    def __init__(self, settings: Settings, store: ChunkStore) -> None:
        self.settings = settings
        self.store = store
        self._server_token: str | None = None
        self._checked_at = float("-inf")

    @property
    def path(self) -> Path:
        return self.settings.data_dir / "index.generation"

    def local(self) -> str:
        """The token in the data dir's file ('' before any write); never touches the network."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def current(self) -> str | None:
        """The latest token: the file, or the server's (read at most every ``sync_interval_s``)."""
        if not self.settings.chroma_url:
            return self.local()
        now = time.monotonic()
        if now - self._checked_at >= self.settings.sync_interval_s:
            self._checked_at = now
            self._server_token = self.store.generation()
        return self._server_token

    def mark(self) -> str:
        """Move the token (a writer calls this after its writes); returns the new one."""
        token = uuid.uuid4().hex
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(token, encoding="utf-8")
        tmp.replace(self.path)
        if self.settings.chroma_url:
            self.store.set_generation(token)
            self._server_token, self._checked_at = token, time.monotonic()
        return token
