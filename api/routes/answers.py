from __future__ import annotations

from itertools import chain

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from api.deps import IndexDep, PipelineDep, Reader
from api.schemas import AskRequest, ErrorResponse, SearchHit, SearchRequest, SearchResponse
from api.streaming import answer_events
from rag.answer.model import Answer

router = APIRouter(prefix="/v1", dependencies=[Reader], responses={
    401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})  # fmt: skip


@router.post(
    "/ask",
    response_model=Answer,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The Answer, or its event stream"}},
)
def ask(body: AskRequest, pipeline: PipelineDep) -> Response:
    """Answer from the library with verified citations, or refuse."""
    history = [t.model_dump() for t in body.history] if body.history else None
    if body.stream:
        events = pipeline.stream(body.question, history=history, mode=body.mode, filters=body.filters, k=body.k)
        first = next(events)  # validation and retrieval errors surface here, as a JSON 4xx
        return StreamingResponse(
            answer_events(chain([first], events)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return as_json(pipeline.ask(body.question, history=history, mode=body.mode, filters=body.filters, k=body.k))


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, index: IndexDep) -> Response:
    """Hybrid (dense + BM25) passage search."""
    results = index.search(body.query, body.k, body.filters)
    return as_json(SearchResponse(results=[SearchHit.model_validate(r.model_dump()) for r in results]))


def as_json(model: BaseModel) -> Response:
    """The response body made here, in the request's worker thread: returned as a model, FastAPI
    would validate it again and serialise it on the event loop, which every request shares."""
    return Response(model.model_dump_json(), media_type="application/json")
