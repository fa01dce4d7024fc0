from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rag.index.store import StoreError, StoreUnavailable

log = logging.getLogger("api")

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Still loading, or the vector store is away"}})
def readyz(request: Request) -> JSONResponse:
    """200 once the model, the store and the BM25 index are loaded and the vector store answers; 503
    with the reason otherwise, so a load balancer takes the node out of rotation while its vector
    store is away (``/healthz`` says whether the process itself is alive)."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "5"})
    try:
        chunks = services.index.store.count()
    except StoreError as exc:
        log.warning("not ready: %s", exc)
        away = isinstance(exc, StoreUnavailable)
        reason = "the vector store cannot be reached" if away else "the index cannot be read"
        body = {"status": "unavailable", "reason": reason}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5" if away else "30"})
    return JSONResponse({"status": "ready", "chunks": chunks})
