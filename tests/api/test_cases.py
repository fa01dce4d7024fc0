"""The case library through a real ``policyrag serve``: search, filters, one case with its similar
cases, a 404 that says what to do, a case merged across two documents, and answers that name
the cases they cite."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.api.conftest import Server, start_server, stop
from tests.conftest import CORPUS

pytestmark = [pytest.mark.server, pytest.mark.slow]

SECOND = """---
title: "The Zero Carbon Hub, five years on"
doc_type: case study
evidence_type: case study
jurisdiction: England
level: central
topics:
  - housing
---

The Zero Carbon Hub, funded by DCLG, has successfully agreed a standard for new homes with the builders.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("cases")
    shutil.copytree(CORPUS, root / "corpus")
    (root / "corpus" / "zero-carbon-hub-review.md").write_text(SECOND, encoding="utf-8")
    server = start_server(root)
    yield server
    stop(server)


def test_back_office_finds_sunderland_with_its_quoted_source(server: Server) -> None:
    with server.client() as c:
        r = c.get("/v1/cases", params={"q": "back office"})
    assert r.status_code == 200, r.text
    first = r.json()["cases"][0]
    assert first["name"] == "Sunderland City Council’s ‘virtual’ back office"
    source = (CORPUS / "business-society-public-services.md").read_text(encoding="utf-8")
    for q in first["who"] + first["where"] + first["what"] + first["mentions"]:
        assert q["doc_id"] == "business-society-public-services"
        assert source[q["char_start"] : q["char_end"]] == q["quote"]
    assert first["funding"] == [] and first["outcome"] == [], "not stated, and not guessed"


def test_one_case_merges_two_documents_and_has_similar_cases(server: Server) -> None:
    with server.client() as c:
        hub = c.get("/v1/cases/zero-carbon-hub").json()
        missing = c.get("/v1/cases/no-such-case")
    assert hub["documents"] == ["business-society-public-services", "zero-carbon-hub-review"]
    assert {q["quote"] for q in hub["funding"]} == {"seed corn funding from DCLG", "funded by DCLG"}
    assert [q["quote"] for q in hub["who"]] == ["National House-Building Council"]
    assert len(hub["similar"]) == 3 and all(s["id"] != "zero-carbon-hub" for s in hub["similar"])
    assert missing.status_code == 404 and "GET /v1/cases" in missing.json()["error"]["message"]


def test_filters_by_document_and_topic(server: Server) -> None:
    with server.client() as c:
        in_review = c.get("/v1/cases", params={"doc_id": "zero-carbon-hub-review"}).json()
        housing = c.get("/v1/cases", params={"topic": "Housing"}).json()
        everything = c.get("/v1/cases").json()
        bad = c.get("/v1/cases", params={"limit": 0})
    assert [x["id"] for x in in_review["cases"]] == ["zero-carbon-hub"]
    assert [x["id"] for x in housing["cases"]] == ["zero-carbon-hub"]  # topics of any document that names it
    assert everything["total"] >= 11 and len(everything["cases"]) == everything["total"]
    assert bad.status_code == 422


def test_an_answer_names_the_cases_it_cites(server: Server) -> None:
    with server.client() as c:
        r = c.post("/v1/ask", json={"question": "Who set up the Zero Carbon Hub?"})
    answer = r.json()
    assert r.status_code == 200 and not answer["refused"], answer
    assert {"id": "zero-carbon-hub", "name": "Zero Carbon Hub"} in answer["cases"]
