"""HTML as Markdown-like text: the page's content (``<main>``, else ``<article>``, else the body)
without its furniture (navigation, banners, breadcrumbs, feedback forms), headings as ``#``
lines, list items as ``-`` lines, tables as Markdown tables. A page saved from GOV.UK ingests to
its content only."""

from __future__ import annotations

from typing import Any

from ingest.hidden import css_rules, hidden_elements
from ingest.tables import markdown_table

FURNITURE_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe",
                  "button", "svg"]  # fmt: skip
# Page furniture that sits inside the content on common sites (GOV.UK's design system among them).
FURNITURE_SELECTORS = (
    "[role=navigation], [role=banner], [role=contentinfo], [aria-label*=breadcrumb i], .govuk-breadcrumbs, "
    ".govuk-skip-link, .govuk-cookie-banner, .gem-c-cookie-banner, .gem-c-feedback, .gem-c-related-navigation, "
    ".gem-c-contextual-sidebar, .gem-c-contents-list, .gem-c-print-link, .gem-c-single-page-notification-button, "
    ".govuk-phase-banner, .app-c-back-to-top, .gem-c-share-links, [hidden]"
)
BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "table", "dt", "dd"]


def _meta(soup: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if soup.title and soup.title.get_text(strip=True):
        meta["title"] = soup.title.get_text(strip=True)
    for name, key in (("author", "authors"), ("date", "date"), ("dcterms.date", "date"), ("description", "summary"),
                      ("govuk:first-published-at", "date")):  # fmt: skip
        tag = soup.find("meta", attrs={"name": name})
        content = tag.get("content") if tag else None
        if isinstance(content, str) and content.strip() and key not in meta:
            meta[key] = (
                [content.strip()] if key == "authors" else content.strip()[:10] if key == "date" else content.strip()
            )
    return meta


def _table(el: Any) -> list[str]:
    rows = [[" ".join(cell.get_text(" ", strip=True).split()) for cell in tr.find_all(["th", "td"])]
            for tr in el.find_all("tr")]  # fmt: skip
    return markdown_table(rows)


def html_blocks(data: bytes) -> tuple[list[str], dict[str, Any]]:
    """The page's blocks of text, in order, and what its ``<head>`` says about it."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    meta = _meta(soup)
    rules = css_rules(soup)
    root: Any = soup.find("main") or soup.select_one("[role=main]") or soup.find("article") or soup.body or soup
    for tag in hidden_elements(root, rules):  # text a reader cannot see is not the page's content
        if not tag.decomposed:
            tag.decompose()
    for tag in root.find_all(FURNITURE_TAGS):
        tag.decompose()
    for tag in root.select(FURNITURE_SELECTORS):
        tag.decompose()
    blocks: list[str] = []
    for el in root.find_all(BLOCKS):
        if el.find_parent(["p", "li", "blockquote", "pre", "table", "dd"]) is not None:
            continue  # nested block; its text is in the parent's
        if el.name == "table":
            blocks.extend(_table(el))
            continue
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name and el.name[0] == "h" and el.name[1:].isdigit():
            blocks.append("#" * int(el.name[1:]) + " " + text)
        elif el.name == "li":
            blocks.append("- " + text)
        else:
            blocks.append(text)
    if not blocks:
        loose = " ".join(root.get_text(" ", strip=True).split())
        if loose:
            blocks.append(loose)
    if "title" not in meta:
        h1 = next((b[2:] for b in blocks if b.startswith("# ")), None)
        if h1:
            meta["title"] = h1
    return blocks, meta
