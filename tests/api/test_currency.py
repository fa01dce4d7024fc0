"""Evidence types, jurisdiction and currency through the API: every citation says what its source
is, filters narrow results, and a newer document that supersedes a corpus document (a claim the
operator trusts) puts a warning on every answer that cites the old one; ``current_only`` cites the
new one instead. Without that trust, the claim labels nothing (tests/faults/test_hostile_library.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.api.conftest import Server, start_server, stop
from tests.conftest import CORPUS

OLD = "business-society-public-services"
NEW = "zero-carbon-guidance-2024"
NEWER = f"""---
title: "Zero Carbon Hub: guidance for councils, 2024"
date: 2024-03-01
doc_type: report
evidence_type: guidance
jurisdiction: England
level: local
supersedes: {OLD}
---

# The Zero Carbon Hub

The Zero Carbon Hub was set up by the National House-Building Council to make new homes carbon neutral.
Councils should ask the Hub for its guidance before they plan new homes.
"""
QUESTION = "Who set up the Zero Carbon Hub?"
ONLY_OLD = "What role does the report give FE colleges in local growth?"  # the superseded document's alone


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("currency")
    shutil.copytree(CORPUS, root / "corpus")
    (root / "corpus" / f"{NEW}.md").write_text(NEWER, encoding="utf-8")  # a newer document, added to the library
    server = start_server(root, POLICYRAG_TRUST_SUPERSEDES="true")  # the operator trusts the newer one's claim
    yield server
    stop(server)


def ask(server: Server, question: str = QUESTION, **filters: object) -> dict:  # type: ignore[type-arg]
    with server.client() as c:
        r = c.post("/v1/ask", json={"question": question, "filters": filters or None})
    assert r.status_code == 200, r.text
    return r.json()


def test_an_answer_citing_a_superseded_document_warns_and_names_the_newer_one(server: Server) -> None:
    answer = ask(server, ONLY_OLD)
    old = [c for c in answer["citations"] if c["doc_id"] == OLD]
    assert old, answer["answer"]
    assert all(c["currency"] == "superseded" and NEW in c["warning"] for c in old)
    assert "has been superseded by “Zero Carbon Hub: guidance for councils, 2024”" in answer["answer"]
    ref = next(r for r in answer["references"] if r["doc_id"] == OLD)
    assert ref["warning"] and NEW in ref["warning"]


def test_current_only_cites_only_current_documents(server: Server) -> None:
    answer = ask(server, current_only=True)
    cited = {c["doc_id"] for c in answer["citations"]}
    assert NEW in cited and OLD not in cited, answer["answer"]
    assert "superseded" not in answer["answer"]
    with server.client() as c:
        hits = c.post("/v1/search", json={"query": "Zero Carbon Hub", "k": 10, "filters": {"current_only": True}})
    assert OLD not in {h["doc_id"] for h in hits.json()["results"]}


def test_every_citation_says_what_its_source_is_and_filters_narrow(server: Server) -> None:
    answer = ask(server)
    for c in answer["citations"]:
        assert c["evidence_type"] and c["jurisdiction"], c
    with server.client() as c:
        for filters, allowed in (({"evidence_types": ["guidance"]}, {NEW}), ({"jurisdictions": ["England"]}, {NEW}),
                                 ({"levels": ["central"]}, {"open-book-social-innovation-notes"})):  # fmt: skip
            hits = c.post("/v1/search", json={"query": "public services and business", "k": 10, "filters": filters})
            assert hits.status_code == 200 and hits.json()["results"], filters
            assert {h["doc_id"] for h in hits.json()["results"]} <= allowed, filters
        docs = {d["doc_id"]: d for d in c.get("/v1/documents").json()["documents"]}
    assert docs[NEW]["evidence_type"] == "guidance" and docs[OLD]["evidence_type"] == "summary"


def test_when_every_source_is_opinion_or_summary_the_answer_says_so(server: Server) -> None:
    answer = ask(server, doc_ids=[OLD])
    assert "Every source of this answer is an opinion piece or a summary" in answer["answer"]
    assert "Every source of this answer" not in ask(server, doc_ids=[NEW])["answer"]


def test_a_document_without_a_date_is_marked_undated(server: Server) -> None:
    with server.client() as c:
        r = c.post("/v1/ask", json={"question": "What is the hypothesis of the citizen centric approach?"})
    cited = [c for c in r.json()["citations"] if c["doc_id"] == "citizen-centric-public-services"]
    assert cited and all(c["currency"] == "undated" for c in cited)
