"""In-process checks of the app's wiring (the behaviour over real HTTP is in test_api.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import Services
from ingest.pipeline import Ingestor
from rag.answer.pipeline import AnswerPipeline
from rag.core.config import Settings
from rag.index.retrieval import SearchIndex
from rag.persist.feedback import FeedbackStore


def services(index: SearchIndex, settings: Settings) -> Services:
    pipeline = AnswerPipeline(settings, index)
    return Services(settings, index, pipeline, Ingestor(settings, index), FeedbackStore(settings))


def test_cors_allows_only_configured_origins(corpus_index: SearchIndex) -> None:
    settings = corpus_index.settings.model_copy(update={"cors_origins": "https://intranet.example.gov.uk"})
    with TestClient(create_app(settings, services(corpus_index, settings))) as client:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        ok = client.options("/v1/search", headers={"Origin": "https://intranet.example.gov.uk", **preflight})
        assert ok.headers.get("access-control-allow-origin") == "https://intranet.example.gov.uk"
        other = client.options("/v1/search", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers


def test_request_ids_are_echoed_or_made(corpus_index: SearchIndex) -> None:
    settings = corpus_index.settings
    with TestClient(create_app(settings, services(corpus_index, settings))) as client:
        assert client.get("/healthz", headers={"X-Request-ID": "trace-42"}).headers["x-request-id"] == "trace-42"
        made = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"}).headers["x-request-id"]
        assert made != "bad id\nwith newline" and len(made) == 32
        assert {"/v1/ask", "/v1/search", "/v1/documents", "/v1/chat/completions"} <= set(
            client.get("/openapi.json").json()["paths"]
        )
