"""Page logic with streamlit's AppTest; the API is faked only at the HTTP boundary (httpx transport)."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO
from ui.client import ApiClient
from ui.render import ask_prompt, cases_placeholder, highlight

APP = str(REPO / "ui" / "Chat.py")
DOCS = [{"doc_id": "framework", "title": "Business, Society and Public Services", "authors": ["Atif Shafique"],
         "publisher": "2020 Public Services Hub", "date": "2012-05-10", "doc_type": "blog", "topics": ["shared value"],
         "chunks": 7, "path": "framework.md", "source": None}]  # fmt: skip
PASSAGE = "This requires:\n• The report looks at the Zero Carbon Hub, set up by the National House-Building Council."
QUOTE = "• The report looks at the Zero Carbon Hub, set up by the National House-Building Council."
ANSWER = {
    "answer": "The report looks at the Zero Carbon Hub, set up by the National House-Building Council. [1]",
    "citations": [
        {
            "n": 1,
            "chunk_id": "c1",
            "doc_id": "framework",
            "title": "Business, Society and Public Services",
            "section": "",
            "quote": QUOTE,
            "char_start": 10,
            "char_end": 99,
            "score": 1.0,
            "passage": PASSAGE,
        }
    ],
    "refused": False,
    "refusal_reason": None,
    "mode": "precedent",
    "retrieved": [
        {"chunk_id": "c1", "doc_id": "framework", "title": "Business, Society and Public Services", "score": 0.03}
    ],
    "timings_ms": {},
    "unsupported": [],
    "query": "",
    "generator": "extractive",
    "fallback": False,
    "dropped": [],
}
REFUSAL = {**ANSWER, "answer": "The library does not cover “capital of France”.", "citations": [], "refused": True,
           "refusal_reason": "weak_retrieval"}  # fmt: skip


class FakeApi:
    """Records requests and answers like the real API would."""

    def __init__(self, answer: dict[str, Any] = ANSWER, down: bool = False) -> None:
        self.answer, self.down = answer, down
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        body = json.loads(request.content) if request.content and request.method == "POST" else None
        self.requests.append((request.method, request.url.path, body))
        if request.url.path == "/v1/documents":
            return httpx.Response(200, json={"documents": DOCS})
        if request.url.path == "/v1/feedback":
            return httpx.Response(201, json={"id": 1})
        if request.url.path == "/v1/ask":
            text = self.answer["answer"]
            events = [
                ("retrieved", {"retrieved": self.answer["retrieved"]}),
                ("delta", {"text": text[:20]}),
                ("delta", {"text": text[20:]}),
                ("answer", self.answer),
            ]
            sse = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events)
            return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})
        return httpx.Response(404, json={"error": {"message": "no such route"}})


def app_with(api: FakeApi) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["client"] = ApiClient("http://api.test", transport=httpx.MockTransport(api))
    return at.run()


def ask(at: AppTest, question: str) -> AppTest:
    return at.chat_input[0].set_value(question).run()


def test_a_cited_answer_shows_its_source_card() -> None:
    api = FakeApi()
    at = ask(app_with(api), "Who set up the Zero Carbon Hub?")
    assert not at.exception
    assert any("National House-Building Council. [1]" in m.value for m in at.markdown)
    card = next(e for e in at.expander if e.label.startswith("[1] Business, Society"))
    assert any("<mark>" in m.value and "Zero Carbon Hub" in m.value for m in card.markdown)
    assert any("Atif Shafique" in c.value and "2012-05-10" in c.value for c in card.caption)
    method, path, body = api.requests[-1]
    assert (method, path) == ("POST", "/v1/ask") and body["stream"] is True and body["mode"] == "auto"


def test_the_chosen_style_is_shown_and_another_is_one_click_away() -> None:
    api = FakeApi()
    at = ask(app_with(api), "Who set up the Zero Carbon Hub?")
    assert any(c.value.startswith("Answered as: Precedent (cases)") for c in at.caption)
    labels = [b.label for b in at.button]
    assert "How-to (steps)" in labels and "Explain" in labels and "Precedent (cases)" not in labels
    api.answer = {**ANSWER, "mode": "howto", "answer": "1. " + ANSWER["answer"]}
    at = next(b for b in at.button if b.label == "How-to (steps)").click().run()
    _, path, body = api.requests[-1]
    assert (path, body["mode"], body["question"]) == ("/v1/ask", "howto", "Who set up the Zero Carbon Hub?")
    assert len(at.session_state["turns"]) == 1  # the answer was replaced, not added
    assert any(c.value.startswith("Answered as: How-to (steps)") for c in at.caption)


def test_a_refusal_looks_different_and_names_the_closest_documents() -> None:
    at = ask(app_with(FakeApi(answer=REFUSAL)), "What is the capital of France?")
    assert at.warning and "does not cover" in at.warning[0].value
    assert any("Closest documents" in m.value for m in at.markdown)
    assert not [e for e in at.expander if e.label.startswith("[1]")]


def test_follow_ups_send_the_history_and_new_conversation_clears_it() -> None:
    api = FakeApi()
    at = ask(app_with(api), "Who set up the Zero Carbon Hub?")
    at = ask(at, "And who paid for it?")
    body = api.requests[-1][2]
    assert body["history"][0] == {"role": "user", "content": "Who set up the Zero Carbon Hub?"}
    assert len(at.session_state["turns"]) == 2
    at = next(b for b in at.button if b.label == "New conversation").click().run()
    assert at.session_state["turns"] == []


def test_feedback_goes_to_the_api_once() -> None:
    api = FakeApi()
    at = ask(app_with(api), "Who set up the Zero Carbon Hub?")
    at.text_input(key="comment0").input("clear and sourced")
    at = next(b for b in at.button if b.label == "Helpful").click().run()
    sent = [body for method, path, body in api.requests if path == "/v1/feedback"]
    assert sent == [{"question": "Who set up the Zero Carbon Hub?", "answer": ANSWER["answer"], "rating": "up",
                     "comment": "clear and sourced", "citations": ANSWER["citations"]}]  # fmt: skip
    assert not [b for b in at.button if b.label == "Helpful"]  # recorded: no second vote


def test_sidebar_choices_reach_the_request() -> None:
    api = FakeApi()
    at = app_with(api)
    at.selectbox[0].select("How-to (steps)")
    at.slider[0].set_value(3)
    at.multiselect[0].select("framework")
    at = ask(at.run(), "How do I set up a shared space?")
    body = api.requests[-1][2]
    assert body["mode"] == "howto" and body["k"] == 3 and body["filters"] == {"doc_ids": ["framework"]}


def test_an_unreachable_api_is_said_plainly() -> None:
    at = app_with(FakeApi(down=True))
    assert at.error and "not reachable" in at.error[0].value and "policyrag serve" in at.error[0].value


def test_export_has_numbered_references() -> None:
    from docx import Document

    from rag.export import to_docx, to_markdown

    turns = [{"question": "Who set up the Zero Carbon Hub?", "answer": ANSWER, "feedback": "up"}]
    md = to_markdown(turns)
    assert "## 1. Who set up the Zero Carbon Hub?" in md and "### References" in md
    assert "- Business, Society and Public Services (framework)\n  - [1] “• The report looks at" in md
    doc = Document(io.BytesIO(to_docx(turns)))
    texts = [p.text for p in doc.paragraphs]
    assert "References" in texts and "Business, Society and Public Services (framework)" in texts
    assert any(t.startswith("[1] “• The report looks at") for t in texts)


def test_a_document_quoted_twice_is_one_reference_and_one_card() -> None:
    from rag.export import to_markdown

    second = {**ANSWER["citations"][0], "n": 2, "chunk_id": "c2", "quote": "Another sentence of it.",
              "char_start": 200, "char_end": 223, "passage": "Another sentence of it."}  # fmt: skip
    answer = {**ANSWER, "answer": ANSWER["answer"] + " Another sentence of it. [2]",
              "citations": [ANSWER["citations"][0], second]}  # fmt: skip
    md = to_markdown([{"question": "q?", "answer": answer}])
    assert md.count("Business, Society and Public Services (framework)") == 1
    assert "  - [1] “" in md and "  - [2] “Another sentence of it.”" in md
    at = ask(app_with(FakeApi(answer=answer)), "Who set up the Zero Carbon Hub?")
    cards = [e for e in at.expander if "Business, Society" in e.label]
    assert len(cards) == 1 and cards[0].label.startswith("[1] [2] ")
    assert sum("<mark>" in m.value for m in cards[0].markdown) == 2


def test_upload_is_offered_only_with_an_admin_key() -> None:
    assert not [h for h in app_with(FakeApi()).header if h.value == "Add a document"]
    api = FakeApi()
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["client"] = ApiClient("http://api.test", transport=httpx.MockTransport(api))
    at.session_state["admin_client"] = ApiClient("http://api.test", transport=httpx.MockTransport(api))
    assert [h for h in at.run().header if h.value == "Add a document"]


NAMED = QUOTE[2:]  # the sentence naming the case, at characters 12-99 of its document
WHO_AT = 12 + NAMED.index("National House-Building Council")
CASE = {
    "id": "zero-carbon-hub", "name": "Zero Carbon Hub", "aliases": [],
    "who": [{"quote": "National House-Building Council", "doc_id": "framework", "title": "Business, Society and "
             "Public Services", "chunk_id": "c1", "char_start": WHO_AT, "char_end": WHO_AT + 31}],
    "where": [], "what": [], "funding": [], "outcome": [], "documents": ["framework"], "topics": ["shared value"],
    "mentions": [{"quote": NAMED, "doc_id": "framework", "title": "Business, Society and Public Services",
                  "chunk_id": "c1", "char_start": 12, "char_end": 12 + len(NAMED)}],
}  # fmt: skip


class CaseApi(FakeApi):
    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/cases":
            self.requests.append((request.method, request.url.path, dict(request.url.params)))
            return httpx.Response(200, json={"cases": [CASE], "total": 1})
        if request.url.path == "/v1/cases/zero-carbon-hub":
            return httpx.Response(
                200,
                json={**CASE, "similar": [{"id": "open-data-institute", "name": "Open Data Institute", "score": 0.41}]},
            )
        return super().__call__(request)


def test_the_cases_page_lists_cases_and_opens_one_with_its_quotes_marked() -> None:
    api = CaseApi()
    at = AppTest.from_file(str(REPO / "ui" / "pages" / "2_Cases.py"), default_timeout=30)
    at.session_state["client"] = ApiClient("http://api.test", transport=httpx.MockTransport(api))
    at = at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Case"]) == ["Zero Carbon Hub"] and list(table["Funding"]) == ["not stated"]
    shown = " ".join(m.value for m in at.markdown)
    assert "**Who:** “National House-Building Council”" in shown and "**Funding:** *not stated*" in shown
    assert "<mark>National House-Building Council</mark>" in shown  # the field, marked in the sentence naming it
    assert [b.label for b in at.button] == ["Open Data Institute (similarity 0.41)"]
    at = at.text_input[0].input("back office").run()
    assert api.requests[-1][2] == {"q": "back office", "limit": "500"}


def test_an_answer_links_the_cases_it_names_and_filters_reach_the_request() -> None:
    docs = [{**DOCS[0], "evidence_type": "summary", "jurisdiction": "UK", "level": "any"}]
    api = FakeApi(answer={**ANSWER, "cases": [{"id": "zero-carbon-hub", "name": "Zero Carbon Hub"}]})
    original = api.__call__

    def call(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/documents":
            return httpx.Response(200, json={"documents": docs})
        return original(request)

    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["client"] = ApiClient("http://api.test", transport=httpx.MockTransport(call))
    at = at.run()
    picks = {m.label: m for m in at.multiselect}
    picks["Evidence type"].select("summary")
    picks["Jurisdiction"].select("UK")
    next(c for c in at.checkbox if c.label == "Current documents only").check()
    at = ask(at.run(), "Who set up the Zero Carbon Hub?")
    body = api.requests[-1][2]
    assert body["filters"] == {"evidence_types": ["summary"], "jurisdictions": ["UK"], "current_only": True}
    assert not at.exception
    assert any("Cases in this answer" in m.value for m in at.markdown)
    links = [(el.proto.label, el.proto.page, el.proto.query_string) for el in page_links(at.main)]
    assert links == [("Zero Carbon Hub", "Cases", "case=zero-carbon-hub")], "the case opens in the Cases page"


def page_links(node: Any) -> list[Any]:
    """Every page link under ``node`` (AppTest has no accessor for them)."""
    found = []
    for child in getattr(node, "children", {}).values():
        found += [child] if child.type == "page_link" else page_links(child)
    return found


def test_exports_list_the_cases_evidence_types_and_warnings() -> None:
    from docx import Document

    from rag.export import to_docx, to_markdown

    cited = {**ANSWER["citations"][0], "evidence_type": "summary", "jurisdiction": "UK",
             "warning": "Superseded by zero-carbon-guidance-2024 (Zero Carbon Hub: guidance, 2024)."}  # fmt: skip
    answer = {**ANSWER, "citations": [cited], "cases": [{"id": "zero-carbon-hub", "name": "Zero Carbon Hub"}]}
    md = to_markdown([{"question": "Who set up the Zero Carbon Hub?", "answer": answer}])
    assert "- Business, Society and Public Services (framework) [summary, UK]" in md
    assert "  - Warning: Superseded by zero-carbon-guidance-2024" in md
    assert "### Cases\n\n- Zero Carbon Hub (case zero-carbon-hub;" in md
    texts = [p.text for p in Document(io.BytesIO(to_docx([{"question": "q?", "answer": answer}]))).paragraphs]
    assert "Cases" in texts and any(t.startswith("Zero Carbon Hub (case zero-carbon-hub") for t in texts)
    assert any(t.startswith("Warning: Superseded") for t in texts)


def test_the_chat_box_speaks_of_the_library_in_use_not_our_seed_corpus() -> None:
    at = app_with(FakeApi())
    assert at.chat_input[0].placeholder == "Ask about shared value"
    assert ask_prompt([{"title": "Card sorting", "topics": ["user research", "content"]},
                       {"title": "Forms", "topics": ["accessibility", "user research"]}]) == (
        "Ask about user research, accessibility or content")  # fmt: skip
    assert ask_prompt([{"title": "Card sorting"}, {"title": "Forms"}]) == "Ask about Card sorting or Forms"
    assert cases_placeholder([{"name": "Sunderland's back office"}, {"name": "Bogotá"}, {"name": "x"}]) == (
        "e.g. Sunderland's back office, Bogotá"
    )
    assert cases_placeholder([]) == "Search the cases the library names"


def test_a_highlighted_quote_is_bold_in_its_source_card() -> None:
    assert "<mark><b>" in highlight(PASSAGE, QUOTE, answering=True)
    assert "<b>" not in highlight(PASSAGE, QUOTE)
    words = QUOTE.split()
    a = QUOTE.index(words[1])
    b = a + len(words[1])
    marked = highlight(PASSAGE, QUOTE, answering=True, bold=[(a, b)])  # a unit's quote, one sentence of it bold
    assert f"<b>{words[1]}</b>" in marked and f"<mark>{words[0]}" in marked
