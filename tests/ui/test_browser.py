"""End to end in a real browser: the API and the UI on loopback, headless Debian Chromium via Playwright."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.local_server import ends_with_parent
from tests.api.conftest import ADMIN, READER, Server, start_server, stop
from tests.conftest import REPO, free_port, wait_until_up

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("POLICYRAG_TEST_ARTIFACTS", REPO / "test-artifacts"))
# The screenshots the README and the documentation site show: the real UI on the seed library, taken here
# so they never go stale. A file is rewritten only when the picture changed.
DOCS_ASSETS = REPO / "docs" / "assets"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]  # fmt: skip


def start_stack(root: Path, **env: str) -> Iterator[tuple[Server, str]]:
    """The API (with ``env``) and the UI in front of it, until the generator is closed."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: make test installs it (apt-get install chromium)"
    api = start_server(root, POLICYRAG_API_KEYS=READER, POLICYRAG_ADMIN_KEYS=ADMIN, **env)
    port = free_port()
    env = {**api.env, "POLICYRAG_API_URL": api.url, "POLICYRAG_API_KEY": READER}
    log = api.root / "ui.log"
    with log.open("wb") as out:
        ui = subprocess.Popen([Path(sys.executable).parent / "policyrag", "ui", "--port", str(port)], env=env,
                              stdout=out, stderr=subprocess.STDOUT, preexec_fn=ends_with_parent)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stcore/health", ui, log, "the UI", timeout=90)
        yield api, url
    finally:
        ui.terminate()
        ui.wait(timeout=30)
        stop(api)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    # the operator trusts a newer document's claim to supersede an older one (off by default)
    yield from start_stack(tmp_path_factory.mktemp("e2e"), POLICYRAG_TRUST_SUPERSEDES="true")


@pytest.fixture(scope="module")
def seed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """The seed library as shipped: no test has added a document to it."""
    yield from start_stack(tmp_path_factory.mktemp("e2e-seed"))


# The conversation scrolled to its end, where Streamlit's chat keeps it (the sidebar stays at its top): the
# picture does not depend on whether Streamlit's own scroll had caught up with the last element.
SCROLL_TO_END = """() => { for (const e of document.querySelectorAll("*")) {
    const scrolls = /auto|scroll/.test(getComputedStyle(e).overflowY);
    const inSidebar = e.closest('[data-testid="stSidebar"]') !== null;
    if (scrolls && !inSidebar && e.scrollHeight > e.clientHeight) e.scrollTop = e.scrollHeight;
} }"""


def save_docs_screenshot(page: Any, name: str) -> None:
    """The window as a reader sees it (not the whole page), for docs/assets/NAME."""
    page.mouse.move(1150, 700)  # off the control clicked last (no hover style), on blank margin
    page.evaluate(SCROLL_TO_END)
    page.wait_for_timeout(300)
    png = page.screenshot(animations="disabled")
    target = DOCS_ASSETS / name
    if not target.exists() or target.read_bytes() != png:
        target.write_bytes(png)


def ask_in_page(page: Any, url: str, question: str) -> Any:
    """Open the chat, ask as a user types, and return the (assistant's) answer message."""
    page.goto(url, timeout=60_000)
    box = page.get_by_placeholder("Ask about")
    box.wait_for(timeout=60_000)
    box.fill(question)
    box.press("Enter")
    return page.get_by_test_id("stChatMessage").nth(1)


def test_ask_read_sources_rate_and_export_in_a_browser(stack: tuple[Server, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    api, url = stack
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400}, accept_downloads=True)
        answer = ask_in_page(page, url, "Who set up the Zero Carbon Hub?")
        expect(answer).to_contain_text("National House-Building Council", timeout=60_000)
        expect(answer).to_contain_text("[1]")
        card = page.get_by_text(re.compile(r"^\[1\](?: \[\d+\])* Business, Society and Public Services")).first
        expect(card).to_be_visible(timeout=30_000)
        card.click()
        expect(page.locator("mark").filter(has_text="Zero Carbon Hub").first).to_be_visible()  # the quote it cites

        with page.expect_download() as download:
            page.get_by_role("button", name="Markdown").last.click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert "### References" in exported and "National House-Building Council" in exported
        (ARTIFACTS / "ui-answer.md").write_text(exported, encoding="utf-8")

        page.get_by_role("button", name="Helpful", exact=True).click()
        expect(page.get_by_text("your feedback (up) was recorded")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "ui-answer.png"), full_page=True)
        browser.close()

    with sqlite3.connect(api.root / "data" / "feedback.sqlite3") as db:
        rows = db.execute("select question, rating from feedback").fetchall()
    assert rows == [("Who set up the Zero Carbon Hub?", "up")]


def test_a_hostile_document_is_shown_as_text_and_runs_nothing(stack: tuple[Server, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.rag.test_hostile_docs import HOSTILE

    api, url = stack
    with api.client(ADMIN) as client:
        added = client.post("/v1/documents", files={"file": ("kitchens.md", HOSTILE.encode(), "text/markdown")})
        assert added.status_code == 201, added.text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        answer = ask_in_page(page, url, "What happened to the Lowfield community kitchens?")
        expect(answer).to_contain_text("Lowfield", timeout=60_000)
        # the title, shown as text in the source card's label
        card = page.get_by_test_id("stExpander").filter(has_text="Community kitchens <script>").first
        expect(card).to_be_visible(timeout=30_000)
        card.locator("summary").click()
        expect(card.locator("mark").first).to_be_visible()
        assert "<script>window.__pwned = true; alert('pwned')</script>" in card.inner_text()
        page.screenshot(path=str(ARTIFACTS / "ui-hostile.png"), full_page=True)
        assert page.evaluate("() => window.__pwned === undefined")
        assert dialogs == []
        assert page.locator("img[src='x']").count() == 0
        browser.close()


def test_a_case_opens_from_an_answer_and_a_superseded_source_is_flagged(stack: tuple[Server, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.api.test_currency import NEW, NEWER

    api, url = stack
    with api.client(ADMIN) as client:
        added = client.post("/v1/documents", files={"file": (f"{NEW}.md", NEWER.encode(), "text/markdown")})
        assert added.status_code == 201, added.text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        answer = ask_in_page(page, url, "What did the report look at for new shared spaces?")
        expect(answer).to_contain_text("Zero Carbon Hub", timeout=60_000)
        card = page.get_by_test_id("stExpander").filter(has_text="Business, Society and Public Services").first
        card.locator("summary").click()
        warning = card.get_by_test_id("stAlert")
        expect(warning).to_contain_text("zero-carbon-guidance-2024", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "ui-warning.png"), full_page=True)

        link, heading = (
            answer.get_by_role("link", name="Zero Carbon Hub").first,
            page.get_by_role("heading", name="Zero Carbon Hub"),
        )
        for _ in range(3):  # the case, in the case library; a click that lands while the page re-runs is lost:
            if link.is_visible():  # a user clicks again
                link.click()
            try:
                expect(heading).to_be_visible(timeout=20_000)
                break
            except AssertionError:
                continue
        expect(heading).to_be_visible(timeout=20_000)
        expect(page.get_by_text("Who: “National House-Building Council”").first).to_be_visible()  # and the new doc
        expect(page.locator("blockquote mark").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "ui-case.png"), full_page=True)

        page.get_by_label("Search cases").fill("back office")
        page.get_by_label("Search cases").press("Enter")
        expect(page.get_by_role("heading", name="Sunderland City Council’s ‘virtual’ back office")).to_be_visible(
            timeout=60_000
        )
        expect(page.get_by_text("Funding: not stated").first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "ui-cases.png"), full_page=True)
        browser.close()


def test_the_sentences_that_answer_are_highlighted_in_the_answer_and_its_source_card(
    seed_stack: tuple[Server, str],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    _, url = seed_stack
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        answer = ask_in_page(page, url, "Who set up the Zero Carbon Hub?")
        expect(answer).to_contain_text("National House-Building Council", timeout=60_000)
        expect(answer.locator("strong").first).to_contain_text("Zero Carbon Hub")  # bold: it answers
        card = page.get_by_test_id("stExpander").filter(has_text="Business, Society and Public Services").first
        expect(card).to_be_visible(timeout=30_000)
        expect(page.get_by_placeholder("What was wrong or useful?")).to_be_visible()  # the answer's last element
        save_docs_screenshot(page, "chat.png")  # question, cited answer, sources: README.md and docs/ show it
        card.locator("summary").click()
        expect(card.locator("mark b").first).to_contain_text("National House-Building Council")
        page.screenshot(path=str(ARTIFACTS / "ui-highlights.png"), full_page=True)
        browser.close()
