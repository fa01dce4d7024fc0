"""The HTTP API as its users meet it: a real uvicorn server on loopback, real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from rag.core.config import Settings
from rag.persist.feedback import FeedbackStore
from tests.api.conftest import ADMIN, READER, Server

pytestmark = [pytest.mark.server, pytest.mark.slow]

UPLOAD = b"""---
title: Parish Pump Lending Libraries
doc_type: note
---
# Parish pump lending libraries

The parish of Upper Wibbleton set up a tool lending library in its old pump house, run by volunteers
from the allotment society, and lent out four hundred tools in its first year.
"""


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines.get("event", ""), json.loads(lines["data"])))
    return events


def test_health_and_readiness(api: Server) -> None:
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api.url}/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] > 0


def test_keys_guard_reading_and_writing(api: Server) -> None:
    with api.client(None) as anon:
        r = anon.post("/v1/search", json={"query": "shared spaces"})
        assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized"
    with api.client("wrong-key") as wrong:
        assert wrong.get("/v1/documents").status_code == 401
    with api.client(READER) as reader:
        assert reader.post("/v1/search", json={"query": "shared spaces"}).status_code == 200
        r = reader.post("/v1/documents", files={"file": ("reader.md", UPLOAD, "text/markdown")})
        assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden"
        assert reader.delete("/v1/documents/business-society-public-services").status_code == 403
    log = api.log.read_text(errors="replace")
    assert READER not in log and ADMIN not in log and "wrong-key" not in log


def test_an_uploaded_document_is_searchable_and_deletable(api: Server) -> None:
    with api.client(ADMIN) as admin:
        r = admin.post("/v1/documents", files={"file": ("parish pump.md", UPLOAD, "text/markdown")})
        assert r.status_code == 201, r.text
        doc = r.json()["document"]
        assert doc["doc_id"] == "parish-pump" and doc["title"] == "Parish Pump Lending Libraries"
        assert (api.root / "corpus" / "uploads" / "parish-pump.md").read_bytes() == UPLOAD

        hits = admin.post("/v1/search", json={"query": "tool lending library pump house", "k": 3}).json()["results"]
        assert hits[0]["doc_id"] == "parish-pump" and "four hundred tools" in hits[0]["text"]
        assert admin.get("/v1/documents/parish-pump").json()["chunks"] >= 1

        answer = admin.post("/v1/ask", json={"question": "Who runs the Upper Wibbleton tool lending library?"}).json()
        assert not answer["refused"] and any(c["doc_id"] == "parish-pump" for c in answer["citations"])

        r = admin.delete("/v1/documents/parish-pump")
        assert r.status_code == 200 and r.json()["chunks_removed"] >= 1
        assert admin.get("/v1/documents/parish-pump").status_code == 404
        assert not (api.root / "corpus" / "uploads" / "parish-pump.md").exists()
        hits = admin.post("/v1/search", json={"query": "tool lending library pump house"}).json()["results"]
        assert all(h["doc_id"] != "parish-pump" for h in hits)
        assert admin.delete("/v1/documents/parish-pump").status_code == 404


@pytest.mark.parametrize("name", ["../../x.md", "..\\..\\x.md", "/etc/x.md", ".hidden.md", "..", "a/b.md"])
def test_upload_names_cannot_escape_the_corpus(api: Server, name: str) -> None:
    with api.client(ADMIN) as admin:
        r = admin.post("/v1/documents", files={"file": (name, UPLOAD, "text/markdown")})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_upload", r.text
    assert not (api.root / "x.md").exists() and not (api.root.parent / "x.md").exists()
    assert not list(api.root.rglob("x.md"))


def test_streaming_answer_events_arrive_in_order_and_end_with_citations(api: Server) -> None:
    with api.client() as c, c.stream("POST", "/v1/ask", json={"question": "Who set up the Zero Carbon Hub?",
                                                              "stream": True}) as r:  # fmt: skip
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    kinds = [k for k, _ in events]
    assert kinds[0] == "retrieved" and kinds[-1] == "answer" and set(kinds[1:-1]) == {"delta"}
    final = events[-1][1]
    assert final["citations"] and not final["refused"]
    assert "".join(d["text"] for k, d in events if k == "delta") == final["answer"]
    assert "National House-Building Council" in final["answer"]


def test_an_answer_lists_each_document_once_with_its_quotes(api: Server) -> None:
    with api.client() as c:
        answer = c.post("/v1/ask", json={"question": "How can I give civil servants time to innovate?"}).json()
    refs = answer["references"]
    assert [r["doc_id"] for r in refs] == list(dict.fromkeys(c["doc_id"] for c in answer["citations"]))
    assert sorted(q["n"] for r in refs for q in r["quotes"]) == sorted(c["n"] for c in answer["citations"])
    for ref in refs:
        for q in ref["quotes"]:
            cited = next(c for c in answer["citations"] if c["n"] == q["n"])
            assert (q["quote"], q["char_start"], q["char_end"]) == (
                cited["quote"],
                cited["char_start"],
                cited["char_end"],
            )


def test_the_openai_sdk_sees_usage_and_clear_refusals_of_what_is_not_supported(api: Server) -> None:
    client = OpenAI(base_url=f"{api.url}/v1", api_key=READER)
    question = [{"role": "user", "content": "Who set up the Zero Carbon Hub?"}]
    reply = client.chat.completions.create(model="policyrag", messages=question)  # type: ignore[arg-type]
    assert reply.usage is not None and reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 10
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert "MiniLM" in (reply.usage.model_extra or {})["tokenizer"]

    stream = client.chat.completions.create(model="policyrag", messages=question, stream=True,  # type: ignore[arg-type]
                                            stream_options={"include_usage": True})  # fmt: skip
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == reply.usage.completion_tokens  # the same text, counted the same
    assert all(ch.usage is None for ch in chunks[:-1])

    with pytest.raises(openai.BadRequestError, match="n=1"):
        client.chat.completions.create(model="policyrag", messages=question, n=2)  # type: ignore[arg-type]
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(openai.BadRequestError, match="calls no tools"):
        client.chat.completions.create(model="policyrag", messages=question, tools=[tool])  # type: ignore[arg-type,list-item]
    with pytest.raises(openai.NotFoundError, match="does not exist") as missing:
        client.chat.completions.create(model="gpt-4o", messages=question)  # type: ignore[arg-type]
    assert missing.value.status_code == 404


def test_the_openai_sdk_gets_cited_answers(api: Server) -> None:
    client = OpenAI(base_url=f"{api.url}/v1", api_key=READER)
    assert [m.id for m in client.models.list()] == ["policyrag"]
    question = [{"role": "user", "content": "Who set up the Zero Carbon Hub?"}]
    reply = client.chat.completions.create(model="policyrag", messages=question)  # type: ignore[arg-type]
    content = reply.choices[0].message.content or ""
    assert "National House-Building Council" in content and "References" in content
    extra = (reply.model_extra or {})["policyrag"]
    assert extra["citations"] and " ".join(extra["citations"][0]["quote"].split()) in content  # as References show it

    stream = client.chat.completions.create(model="policyrag", messages=question, stream=True)  # type: ignore[arg-type]
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["policyrag"]["citations"] == extra["citations"]

    follow_up = [*question, {"role": "assistant", "content": content}, {"role": "user", "content": "Who paid for it?"}]
    again = client.chat.completions.create(model="policyrag", messages=follow_up)  # type: ignore[arg-type]
    assert "DCLG" in (again.choices[0].message.content or "")


def test_feedback_is_stored(api: Server) -> None:
    with api.client() as c:
        r = c.post("/v1/feedback", json={"question": "q?", "answer": "a [1]", "rating": "up", "comment": "useful",
                                         "citations": [{"n": 1, "chunk_id": "x"}]})  # fmt: skip
        assert r.status_code == 201 and r.json()["id"] >= 1
        assert c.post("/v1/feedback", json={"question": "q", "answer": "a", "rating": "meh"}).status_code == 422
    assert (api.root / "data" / "feedback.sqlite3").exists()
    stored = FeedbackStore(Settings(data_dir=api.root / "data")).all()
    assert [(f["question"], f["rating"], f["comment"], f["citations"]) for f in stored] == [
        ("q?", "up", "useful", [{"n": 1, "chunk_id": "x"}])
    ]


BAD = [
    ("post", "/v1/ask", {"question": ""}, 422),
    ("post", "/v1/ask", {"question": "   "}, 422),
    ("post", "/v1/ask", {"question": "x" * 2001}, 422),
    ("post", "/v1/ask", {"question": 5}, 422),
    ("post", "/v1/ask", {"question": "q", "mode": "poem"}, 422),
    ("post", "/v1/ask", {"question": "q", "surprise": 1}, 422),
    ("post", "/v1/ask", {"question": "q", "filters": {"colour": "red"}}, 422),
    ("post", "/v1/ask", {"question": "q", "history": [{"role": "god", "content": "x"}]}, 422),
    ("post", "/v1/search", {"query": "q", "k": 0}, 422),
    ("post", "/v1/search", {"query": "q", "k": 1000}, 422),
    ("post", "/v1/search", {"query": "q", "filters": {"date_from": "not a date"}}, 422),
    ("post", "/v1/search", {}, 422),
    ("post", "/v1/chat/completions", {"model": "policyrag", "messages": []}, 422),
    ("post", "/v1/chat/completions", {"messages": [{"role": "assistant", "content": "hi"}]}, 422),
    ("get", "/v1/documents/no-such-doc", None, 404),
    ("get", "/v1/nowhere", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD)
def test_bad_input_gets_a_json_4xx(api: Server, method: str, path: str, body: object, status: int) -> None:
    with api.client() as c:
        r = c.request(method, path, json=body) if body is not None else c.request(method, path)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["message"] and error["request_id"] and "Traceback" not in r.text


def test_errors_agree_with_each_other(api: Server) -> None:
    with api.client() as c:
        empty, blank = (c.post("/v1/ask", json={"question": q}).json()["error"] for q in ("", "   "))
        assert (empty["type"], empty["message"]) == (blank["type"], blank["message"]) == (
            "invalid_question", "answer: the question is empty")  # fmt: skip
        deep = b'{"question": "q", "history": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        r = c.post("/v1/ask", content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_json", r.text
        r = c.post("/v1/ask", json={"question": "Who set up the Zero Carbon Hub?", "filters": {"doc_types": ["poem"]}})
        assert r.status_code == 422 and r.json()["error"]["type"] == "no_matching_documents"
        assert "no document matches these filters (doc_types: poem)" in r.json()["error"]["message"]
        for path, body in (("/v1/ask", {"question": "q"}), ("/v1/search", {"query": "q"})):
            r = c.post(path, json={**body, "filters": {"date_from": "2013-01-01", "date_to": "2012-01-01"}})
            assert r.status_code == 422 and "date_from (2013-01-01) is after date_to" in r.json()["error"]["message"]


def test_malformed_json_and_bad_uploads_get_a_json_4xx(api: Server) -> None:
    with api.client(ADMIN) as c:
        r = c.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["type"] == "invalid_json"
        r = c.post("/v1/documents", files={"file": ("big.md", b"word " * 60_000, "text/markdown")})
        assert r.status_code == 413 and "limit" in r.json()["error"]["message"]
        r = c.post("/v1/documents", files={"file": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")})
        assert r.status_code == 415
        r = c.post("/v1/documents", files={"file": ("broken.pdf", b"%PDF-1.4 not really", "application/pdf")})
        assert r.status_code == 422 and "cannot be read" in r.json()["error"]["message"]
        r = c.post("/v1/documents", files={"file": ("business-society-public-services.md", UPLOAD, "text/markdown")})
        assert r.status_code == 409
        assert c.post("/v1/documents").status_code == 422  # no file at all
    assert not Path(api.root / "corpus" / "uploads" / "broken.pdf").exists()


def test_configured_model_aliases_are_the_names_answered_to() -> None:
    names = Settings(model_aliases="gpt-4o-mini, policyrag ,open-webui").model_names
    assert names == ["policyrag", "gpt-4o-mini", "open-webui"]
    assert Settings().model_names == ["policyrag"]
