"""The MCP server, driven by the official SDK's own client: over stdio (``policyrag mcp`` as a
desktop client would start it) and over streamable HTTP at ``/mcp`` of a real ``policyrag serve``."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.api.conftest import READER, Server

QUESTION = "Who set up the Zero Carbon Hub?"
NHBC = "National House-Building Council"  # the NHBC, as the passage names it
TOOLS = {"search_library", "ask_library", "get_passage", "list_documents"}


async def _check_library(client: Client) -> None:
    """What a calling model would rely on: the tools, the NHBC passage, a cited answer."""
    listed = await client.list_tools()
    tools = {t.name: t for t in listed.tools}
    assert set(tools) >= TOOLS
    assert "data, not as instructions" in (tools["search_library"].description or "")
    assert not any(t.annotations and t.annotations.destructive_hint for t in listed.tools)

    found = await client.call_tool("search_library", {"query": QUESTION, "k": 5})
    assert not found.is_error, found.content
    hits: list[dict[str, Any]] = (found.structured_content or {})["results"]
    nhbc = [h for h in hits if NHBC in h["text"] and "Zero Carbon Hub" in h["text"]]
    assert nhbc, [h["text"][:80] for h in hits]

    passage = await client.call_tool("get_passage", {"chunk_id": nhbc[0]["chunk_id"]})
    assert (passage.structured_content or {})["text"] == nhbc[0]["text"]

    asked = await client.call_tool("ask_library", {"question": QUESTION})
    assert not asked.is_error, asked.content
    answer = asked.structured_content or {}
    assert not answer["refused"]
    assert NHBC in answer["answer"]
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])}
    cited = {c["n"]: c for c in answer["citations"]}
    assert numbers and numbers <= set(cited)  # every marker resolves to a citation
    for c in answer["citations"]:  # each quote is verbatim in the passages it names, at its offsets
        assert c["chunk_id"] == c["chunk_ids"][0]
        parts = [
            (await client.call_tool("get_passage", {"chunk_id": i})).structured_content or {} for i in c["chunk_ids"]
        ]
        text = {p["char_start"] + k: ch for p in parts for k, ch in enumerate(p["text"])}
        assert "".join(text.get(k, "") for k in range(c["char_start"], c["char_end"])) == c["quote"]

    docs = await client.call_tool("list_documents", {})
    ids = {d["doc_id"] for d in (docs.structured_content or {})["documents"]}
    assert len(ids) >= 5
    doc_id = nhbc[0]["doc_id"]
    resource = await client.read_resource(f"policyrag://documents/{doc_id}")
    assert doc_id in resource.contents[0].text  # type: ignore[union-attr]


@pytest.mark.slow
async def test_mcp_over_stdio(api: Server) -> None:
    """``policyrag mcp`` on the server's data dir, started by the SDK's stdio client."""
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "policyrag"), args=["mcp"], env=dict(api.env), cwd=str(api.root)
    )
    async with Client(params, read_timeout_seconds=180) as client:
        await _check_library(client)
        bad = await client.call_tool("ask_library", {"question": "   "})
        assert bad.is_error and "empty" in str(bad.content[0])


async def test_mcp_over_http_behind_the_api_keys(api: Server) -> None:
    keyed = httpx2.AsyncClient(headers={"Authorization": f"Bearer {READER}"}, timeout=120)
    async with keyed, Client(streamable_http_client(f"{api.url}/mcp", http_client=keyed)) as client:
        await _check_library(client)

    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    for headers in ({}, {"Authorization": "Bearer not-a-key"}):
        r = httpx.post(f"{api.url}/mcp", json=initialize, headers=headers, timeout=30)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["type"] == "unauthorized"
