"""OpenAI-compatible endpoints, so the ``openai`` SDK and chat front ends (Open WebUI) can ask."""

from __future__ import annotations

from itertools import chain
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import PipelineDep, Reader
from api.errors import ApiError
from api.schemas import ChatCompletionRequest, ErrorResponse
from api.streaming import completion, completion_chunks

MODEL_ID = "policyrag"

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Reader],
                   responses={401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})  # fmt: skip


@router.get("/models")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "policyrag"}]}


@router.post("/chat/completions", responses={200: {"content": {"text/event-stream": {}}}})
def chat_completions(body: ChatCompletionRequest, pipeline: PipelineDep) -> Any:
    """The last user message is the question; earlier user/assistant turns are its history.

    The reply's content is the answer with a references section; the structured answer
    (citations, refusal, retrieved passages) travels in the extra ``policyrag`` field.
    """
    turns = [m for m in body.messages if m.role in {"user", "assistant"}]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise ApiError(422, "invalid_request", "messages: the last conversation turn must be a non-empty user message")
    question = turns[-1].text()
    history = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    if body.stream:
        events = pipeline.stream(question, history=history)
        first = next(events)
        return StreamingResponse(completion_chunks(chain([first], events), body.model), media_type="text/event-stream")
    return completion(pipeline.ask(question, history=history), body.model)
