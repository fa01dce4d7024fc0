"""A Word document as Markdown-like text, in the document's own order: headings as ``#`` lines,
list items as ``-`` lines, tables as Markdown tables (where they stand, not at the end), and
footnotes as "(note N)" at their reference with the notes themselves under a last "Notes" heading."""

from __future__ import annotations

from typing import Any

from ingest.tables import markdown_table

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _footnotes(document: Any) -> dict[str, str]:
    """Footnote id -> its text, from the package's footnotes part (python-docx has no API for it)."""
    from lxml import etree

    for part in document.part.package.iter_parts():
        if str(part.partname).endswith("/footnotes.xml"):
            root = etree.fromstring(part.blob, parser=etree.XMLParser(resolve_entities=False, no_network=True))
            notes = {}
            for note in root.iter(f"{W}footnote"):
                number = note.get(f"{W}id")
                text = " ".join("".join(t.text or "" for t in note.iter(f"{W}t")).split())
                if number is not None and text and int(number) > 0:  # ids 0 and -1 are separators
                    notes[number] = text
            return notes
    return {}


def _unseen(run: Any) -> bool:
    """A run (``w:r``) a reader does not see: hidden (``w:vanish``), too small to read, or white text
    (``w:color`` FFFFFF) with no shading of its own (the page is white)."""
    props = run.find(f"{W}rPr") if run is not None else None
    if props is None:
        return False
    vanish = props.find(f"{W}vanish")
    if vanish is not None and vanish.get(f"{W}val", "true") not in ("0", "false"):
        return True
    size = props.find(f"{W}sz")  # in half-points: 4 is 2 pt, too small to read (ingest.hidden.UNREADABLE_PX)
    if size is not None and str(size.get(f"{W}val", "")).isdigit() and int(size.get(f"{W}val")) <= 4:
        return True
    color = props.find(f"{W}color")
    return color is not None and str(color.get(f"{W}val", "")).upper() == "FFFFFF" and props.find(f"{W}shd") is None


def _text(paragraph: Any, notes: dict[str, str], cited: list[str]) -> str:
    """The paragraph's text with "(note N)" where it refers to a footnote."""
    out: list[str] = []
    for el in paragraph._p.iter(f"{W}t", f"{W}tab", f"{W}br", f"{W}footnoteReference"):
        if _unseen(el.getparent()):
            continue  # a run marked hidden or coloured white: a reader of the document does not see it
        if el.tag == f"{W}t":
            out.append(el.text or "")
        elif el.tag == f"{W}footnoteReference":
            number = el.get(f"{W}id")
            if number in notes:
                cited.append(number)
                out.append(f" (note {len(cited)})")
        else:
            out.append(" ")
    return " ".join("".join(out).split())


def _paragraph(text: str, style: str) -> str:
    if style.startswith("Heading") and style[7:].strip().isdigit():
        return "#" * min(int(style[7:]), 6) + " " + text
    if style == "Title":
        return "# " + text
    if "List" in style:
        return "- " + text
    return text


def word_blocks(document: Any) -> list[str]:
    """The document's blocks of text, in order."""
    from docx.table import Table

    notes, cited = _footnotes(document), list[str]()
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(markdown_table([[cell.text for cell in row.cells] for row in item.rows]))
            continue
        text = _text(item, notes, cited)
        if text:
            blocks.append(_paragraph(text, (item.style.name if item.style is not None else "") or ""))
    if cited:
        blocks.append("## Notes")
        blocks.extend(f"{i}. {notes[number]}" for i, number in enumerate(cited, start=1))
    return blocks
