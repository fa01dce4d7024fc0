from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Still loading"}})
def readyz(request: Request) -> JSONResponse:
    """200 once the model, the store and the BM25 index are loaded."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "loading"}, status_code=503)
    return JSONResponse({"status": "ready", "chunks": services.index.store.count()})
