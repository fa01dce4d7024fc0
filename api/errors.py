"""Every error leaves as JSON ``{"error": {type, message, request_id}}``: never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.pipeline import IngestError
from ingest.uploads import BadName, Conflict, TooLarge, Unreadable, Unsupported, UploadError
from rag.answer.model import AnswerError
from rag.answer.pipeline import NoMatchingDocuments
from rag.index.store import StoreError, StoreUnavailable
from rag.llm.chat import LLMError
from rag.persist.db import DatabaseUnavailable

log = logging.getLogger("api")
# Each kind of refused upload and the HTTP status that says it.
UPLOAD_STATUS: dict[type[UploadError], int] = {
    BadName: 400,
    Unsupported: 415,
    TooLarge: 413,
    Unreadable: 422,
    Conflict: 409,
}


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.details = status, type_, message, details


def error_response(
    request: Request,
    status: int,
    type_: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    retry_after: int | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "message": message, "request_id": getattr(request.state, "request_id", None)}
    if details:
        body["details"] = details
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", "")), "type": err.get("type")})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.type, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {"loc": [], "msg": "invalid request", "type": ""}
        if first["type"] == "json_invalid":
            return error_response(request, 422, "invalid_json", "the request body is not valid JSON", details)
        where = ".".join(p for p in first["loc"] if p != "body") or "request"
        return error_response(request, 422, "invalid_request", f"{where}: {first['msg']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's word for a body json cannot read at all (one nested thousands of levels deep)
            return error_response(request, 422, "invalid_json", "the request body is not valid JSON, or is nested "
                                  "too deeply to read", None)  # fmt: skip
        kinds = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
        return error_response(request, exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(AnswerError)
    async def bad_question(request: Request, exc: AnswerError) -> JSONResponse:
        kind = "no_matching_documents" if isinstance(exc, NoMatchingDocuments) else "invalid_question"
        return error_response(request, 422, kind, str(exc))

    @app.exception_handler(UploadError)
    async def bad_upload(request: Request, exc: UploadError) -> JSONResponse:
        status = next((s for kind, s in UPLOAD_STATUS.items() if isinstance(exc, kind)), 400)
        return error_response(request, status, "invalid_upload", str(exc))

    @app.exception_handler(IngestError)
    async def busy(request: Request, exc: IngestError) -> JSONResponse:
        return error_response(request, 409, "busy", str(exc))

    @app.exception_handler(LLMError)
    async def llm_down(request: Request, exc: LLMError) -> JSONResponse:
        log.warning("generate failed: %s", exc)
        return error_response(request, 502, "generator_unavailable", str(exc))

    @app.exception_handler(StoreError)
    async def store_down(request: Request, exc: StoreError) -> JSONResponse:
        if isinstance(exc, StoreUnavailable):  # away for now (a Chroma server restarting): retry
            log.warning("vector store unreachable: %s", exc)
            message = f"the vector store cannot be reached just now; retry in {exc.retry_after_s} s"
            return error_response(request, 503, "vector_store_unavailable", message, retry_after=exc.retry_after_s)
        log.error("store failed: %s", exc)
        return error_response(request, 503, "index_unavailable", str(exc), retry_after=30)

    @app.exception_handler(DatabaseUnavailable)
    async def database_down(request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.warning("%s", exc)
        message = f"the database cannot be reached just now; nothing was written; retry in {exc.retry_after_s} s"
        return error_response(request, 503, "database_unavailable", message, retry_after=exc.retry_after_s)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(request, 500, "internal_error", "an unexpected error occurred; it has been logged")
