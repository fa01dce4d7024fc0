"""Principle 2: no code path reaches the network. Every non-loopback connection attempt fails the test."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ingest.pipeline import Ingestor
from rag.compose import compose
from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings

LOCAL = ("127.", "::1", "localhost", "0.0.0.0")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(LOCAL):
            attempts.append(f"connect {host}")
            raise OSError(f"network access attempted: {host}")
        return real_connect(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not str(host).startswith(LOCAL):
            attempts.append(f"resolve {host}")
            raise socket.gaierror(f"network access attempted: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield attempts


def test_load_ingest_and_search_make_no_network_access(
    no_network: list[str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    index = compose(settings, MiniLMEmbeddings()).index  # a fresh model load, under the guard
    report = Ingestor(settings, index).run()
    assert report.files_ingested == 5
    assert index.search("Who set up the Zero Carbon Hub?", k=1)
    # Chroma's own text path must use our embedding function, not its downloading default.
    res = index.store.collection.query(query_texts=["voluntary taxes"], n_results=1)
    assert res["ids"][0]
    assert no_network == []
