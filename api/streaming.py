"""Server-sent event framing for answer streams (ours and the OpenAI-compatible one)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from rag.answer.model import Answer, AnswerEvent
from rag.export import render_markdown
from rag.index.store import StoreUnavailable
from rag.llm.chat import LLMError

log = logging.getLogger("api")


def sse(event: str | None, data: Any) -> str:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"{head}data: {payload}\n\n"


def answer_events(events: Iterator[AnswerEvent]) -> Iterator[str]:
    """``retrieved``, ``delta``… then ``answer``; a failure mid-stream ends with an ``error`` event."""
    try:
        for e in events:
            if e.event == "delta":
                yield sse("delta", {"text": e.text})
            elif e.event == "retrieved":
                yield sse("retrieved", {"retrieved": [r.model_dump() for r in e.retrieved or []]})
            elif e.answer is not None:
                yield sse("answer", e.answer.model_dump(mode="json"))
    except LLMError as exc:
        yield sse("error", {"type": "generator_unavailable", "message": str(exc)})
    except StoreUnavailable as exc:
        log.warning("stream: %s", exc)
        yield sse("error", {"type": "vector_store_unavailable", "retry_after": exc.retry_after_s,
                            "message": "the vector store cannot be reached just now; retry shortly"})  # fmt: skip
    except Exception:
        log.exception("stream failed")
        yield sse("error", {"type": "internal_error", "message": "the answer stream failed; it has been logged"})


def references(answer: Answer) -> str:
    """The part of :func:`render_markdown` after the answer text."""
    return render_markdown(answer)[len(answer.answer) :]


def extra(answer: Answer) -> dict[str, Any]:
    """The structured answer travelling beside OpenAI's fields."""
    return answer.model_dump(mode="json", include={"citations", "references", "refused", "refusal_reason", "mode",
                                                    "retrieved", "timings_ms", "query", "generator", "fallback",
                                                    "not_stated", "premise"})  # fmt: skip


TOKENIZER = "all-MiniLM-L6-v2 WordPiece (the embedding model's own tokenizer)"
Counter = Callable[[list[str]], int]


def usage(count: Counter, prompt: list[str], completion_text: str) -> dict[str, Any]:
    """OpenAI's usage block, counted with the embedding model's tokenizer (named in ``tokenizer``:
    the extractive default runs no LLM, so there is no generator tokenizer to count with)."""
    p, c = count(prompt), count([completion_text])
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c, "tokenizer": TOKENIZER}


def completion(answer: Answer, model: str, count: Counter, prompt: list[str]) -> dict[str, Any]:
    content = render_markdown(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": usage(count, prompt, content),
        "policyrag": extra(answer),
    }


def completion_chunks(
    events: Iterator[AnswerEvent], model: str, count: Counter | None = None, prompt: list[str] | None = None
) -> Iterator[str]:
    """The answer as OpenAI chunks; with ``count`` (``stream_options.include_usage``), a last chunk
    with no choices carries the usage, as OpenAI sends it."""
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    sent: list[str] = []

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}  # fmt: skip
        return sse(None, body)

    yield chunk({"role": "assistant", "content": ""})
    try:
        for e in events:
            if e.event == "delta":
                sent.append(e.text)
                yield chunk({"content": e.text})
            elif e.event == "answer" and e.answer is not None:
                tail = references(e.answer)
                if tail:
                    sent.append(tail)
                    yield chunk({"content": tail})
                yield chunk({}, "stop", policyrag=extra(e.answer))
                if count is not None:
                    yield sse(None, {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                                     "choices": [], "usage": usage(count, prompt or [], "".join(sent))})  # fmt: skip
    except Exception as exc:
        log.exception("chat completion stream failed")
        message = str(exc) if isinstance(exc, LLMError) else "the answer stream failed; it has been logged"
        yield sse(None, {"error": {"type": "server_error", "message": message}})
    yield sse(None, "[DONE]")
