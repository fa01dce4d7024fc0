from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import FeedbackDep, Reader
from api.schemas import ErrorResponse, FeedbackResponse
from rag.persist.feedback import Feedback

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Reader],
                   responses={401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})  # fmt: skip


@router.post("/feedback", response_model=FeedbackResponse, status_code=201)
async def feedback(body: Feedback, request: Request, store: FeedbackDep) -> FeedbackResponse:
    """A rating (up/down) of an answer, with an optional comment and the citations shown."""
    new_id = await run_in_threadpool(store.add, body, getattr(request.state, "request_id", None))
    return FeedbackResponse(id=new_id)
