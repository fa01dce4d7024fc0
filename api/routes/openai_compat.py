"""OpenAI-compatible endpoints, so the ``openai`` SDK and chat front ends (Open WebUI) can ask."""

from __future__ import annotations

from itertools import chain
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import PipelineDep, Reader, SettingsDep
from api.errors import ApiError
from api.schemas import ChatCompletionRequest, ErrorResponse
from api.streaming import completion, completion_chunks
from rag.core.config import Settings

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Reader],
                   responses={401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})  # fmt: skip


@router.get("/models")
def models(settings: SettingsDep) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "policyrag"}
                                       for name in settings.model_names]}  # fmt: skip


def _supported(body: ChatCompletionRequest, settings: Settings) -> None:
    """Refuse, clearly, what an OpenAI client may ask that policyrag does not do, rather than ignore it."""
    if body.model not in settings.model_names:
        raise ApiError(404, "model_not_found", f"model {body.model!r} does not exist; use one of "
                       f"{', '.join(settings.model_names)} (GET /v1/models)")  # fmt: skip
    if body.n != 1:
        raise ApiError(400, "unsupported_parameter", "n: policyrag gives one answer per request (its answers are "
                       "deterministic, so more choices would repeat it); send n=1")  # fmt: skip
    if body.tools or body.functions or body.tool_choice not in (None, "none"):
        raise ApiError(400, "unsupported_parameter", "tools: policyrag answers from its library and calls no "
                       "tools or functions; send the request without tools, tool_choice and functions")  # fmt: skip


@router.post("/chat/completions", responses={200: {"content": {"text/event-stream": {}}}})
def chat_completions(body: ChatCompletionRequest, pipeline: PipelineDep, settings: SettingsDep) -> Any:
    """The last user message is the question; earlier user/assistant turns are its history.

    The reply's content is the answer with a references section; the structured answer
    (citations, refusal, retrieved passages) travels in the extra ``policyrag`` field.
    """
    _supported(body, settings)
    turns = [m for m in body.messages if m.role in {"user", "assistant"}]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise ApiError(422, "invalid_request", "messages: the last conversation turn must be a non-empty user message")
    question = turns[-1].text()
    history = [{"role": m.role, "content": m.text()} for m in turns[:-1]]
    prompt, count = [m.text() for m in body.messages], pipeline.index.embeddings.count_tokens
    if body.stream:
        events = pipeline.stream(question, history=history)
        first = next(events)
        counted = count if body.stream_options is not None and body.stream_options.include_usage else None
        chunks = completion_chunks(chain([first], events), body.model, counted, prompt)
        return StreamingResponse(chunks, media_type="text/event-stream")
    return completion(pipeline.ask(question, history=history), body.model, count, prompt)
