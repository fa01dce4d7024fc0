"""Loaders turn a file into text plus metadata, or raise ``LoadError`` with a reason a person reads.

Character offsets of chunks index into ``LoadedDocument.text``. For Markdown and plain text that is
the file's own decoded text (front matter included, chunking starts after it), so a citation's
offsets can be checked against the file itself. For HTML, PDF and DOCX it is the extracted text.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
TEXT_TYPES = (".md", ".markdown", ".txt", ".html", ".htm")
MAX_PDF_PAGES = 2000
MAX_UNPACKED_MB = 200  # a .docx is a zip: what it may unpack to, whatever its size on disk
MAX_ZIP_ENTRIES = 5000
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class LoadError(Exception):
    """A file that cannot be ingested; the message is shown to the user as the skip reason."""


class ContentMismatch(LoadError):
    """The bytes are another kind of file than the name says (checked by magic bytes)."""


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a character cut at the 8 KB boundary is still text
    return False


def check_content(data: bytes, path: Path) -> None:
    """Refuse content whose magic bytes contradict the extension: a PDF must be a PDF, a .docx a
    ZIP package, and a text type must not be a binary format under a text name."""
    import filetype

    suffix = path.suffix.lower()
    head = data[:8192]
    kind = filetype.guess(head)
    found = f"{kind.mime} (.{kind.extension})" if kind else "unrecognised binary data"
    if suffix == ".pdf" and (kind is None or kind.extension != "pdf"):
        raise ContentMismatch(f"named .pdf but the content is {found if kind else 'not a PDF'}")
    if suffix == ".docx" and (kind is None or kind.extension not in {"docx", "zip"}):
        raise ContentMismatch(f"named .docx but the content is {found if kind else 'not a Word (ZIP) package'}")
    if suffix in TEXT_TYPES and kind is not None and _looks_binary(head):
        raise ContentMismatch(f"named {suffix} but the content is {found}; give the file its real extension")


@dataclass
class LoadedDocument:
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    content_start: int = 0  # where the body starts in ``text`` (after front matter)
    page_starts: list[int] | None = None  # a PDF's: where page i+1 begins in ``text``
    ocr_pages: set[int] = field(default_factory=set)  # pages read by OCR
    warnings: list[str] = field(default_factory=list)  # what of the file could not be read (pages skipped)


PROPERTY_FIELDS = ("title", "authors", "affiliation", "publisher", "date", "doc_type", "about", "topics", "source",
                   "evidence_type", "jurisdiction", "level", "review_by", "superseded_by", "supersedes")  # fmt: skip
LIST_PROPERTIES = ("authors", "topics")


def with_properties(body: str, meta: dict[str, Any]) -> LoadedDocument:
    """A document whose metadata comes from its file's properties (a PDF's document information, a
    Word document's core properties, an HTML page's ``<meta>`` tags) rather than front matter:
    the properties are written as a front-matter block before the extracted text, so the card
    built from them (``rag.index.cards``) cites where each value stands, as it does for Markdown.
    A file's creation date is never taken for the document's date: it is when the file was written
    (often a conversion), not when the document was published."""
    lines = []
    for key in PROPERTY_FIELDS:
        value = meta.get(key)
        values = [" ".join(str(v).split()) for v in (value if isinstance(value, list) else [value]) if v]
        if key in LIST_PROPERTIES and values:
            lines += [f"{key}:", *(f"  - {v}" for v in values)]
        elif values:
            lines.append(f"{key}: {values[0]}")
    if not lines:
        return LoadedDocument(text=body, metadata=meta)
    front = "---\n" + "\n".join(lines) + "\n---\n\n"
    return LoadedDocument(text=front + body, metadata=meta, content_start=len(front))


def _decode(data: bytes) -> str:
    if not data.strip():
        raise LoadError("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError("not valid UTF-16 text despite its byte-order mark") from exc
    if b"\x00" in data[:8192]:
        raise LoadError("binary content, not text (it contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text (undecodable byte at position {exc.start}); re-save it as UTF-8") from exc
    if not text.strip():
        raise LoadError("empty file")
    return text


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings; lists of scalars stay lists (Chroma stores them)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [str(_plain(v)) for v in value if v is not None]
    return value


def load_markdown(data: bytes, path: Path) -> LoadedDocument:
    text = _decode(data)
    meta: dict[str, Any] = {}
    start = 0
    match = FRONT_MATTER.match(text)
    if match:
        try:
            parsed = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise LoadError(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from exc
        if not isinstance(parsed, dict):
            raise LoadError("front matter must be a YAML mapping of fields")
        meta = {str(k): _plain(v) for k, v in parsed.items() if v is not None}
        start = match.end()
    if not text[start:].strip():
        raise LoadError("no text after the front matter")
    if "title" not in meta:
        heading = re.search(r"^#\s+(.+)$", text[start:], re.MULTILINE)
        if heading:
            meta["title"] = heading.group(1).strip()
    return LoadedDocument(text=text, metadata=meta, content_start=start)


def load_text(data: bytes, path: Path) -> LoadedDocument:
    text = _decode(data)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    meta = {"title": first[:200]} if 0 < len(first) <= 200 else {}
    return LoadedDocument(text=text, metadata=meta)


def load_html(data: bytes, path: Path) -> LoadedDocument:
    from ingest.html import html_blocks

    if not data.strip():
        raise LoadError("empty file")
    if b"\x00" in data[:8192]:
        raise LoadError("binary content, not HTML")
    blocks, meta = html_blocks(data)
    if not blocks:
        raise LoadError("no readable text in the HTML")
    return with_properties("\n\n".join(blocks) + "\n", meta)


def load_pdf(data: bytes, path: Path, max_pages: int = MAX_PDF_PAGES) -> LoadedDocument:
    """Text in reading order, with pages and structure (``ingest.pdf``)."""
    from ingest.pdf import PdfError, read_pdf

    try:
        pdf = read_pdf(data, max_pages)
    except PdfError as exc:
        raise LoadError(str(exc)) from exc
    doc = with_properties(pdf.text, pdf.metadata)
    doc.page_starts = [doc.content_start + start for start in pdf.page_starts]
    doc.ocr_pages, doc.warnings = pdf.ocr_pages, [f"page {n} skipped: {why}" for n, why in pdf.skipped_pages]
    return doc


def load_docx(data: bytes, path: Path) -> LoadedDocument:
    import zipfile

    from docx import Document as open_docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoadError(f"corrupt or unreadable Word document ({exc.__class__.__name__})") from exc
    unpacked = sum(e.file_size for e in entries)  # zipfile never inflates an entry past its declared size
    if len(entries) > MAX_ZIP_ENTRIES:
        raise LoadError(f"the Word document holds {len(entries)} parts, more than the limit of {MAX_ZIP_ENTRIES}")
    if "word/document.xml" not in {e.filename for e in entries}:
        raise LoadError("not a Word document: the package has no word/document.xml")
    if unpacked > MAX_UNPACKED_MB * 1024 * 1024:
        raise LoadError(
            f"the Word document unpacks to {unpacked / 1048576:,.0f} MB, over the {MAX_UNPACKED_MB} MB limit "
            "(a zip bomb, or a document to split)"
        )
    try:
        document = open_docx(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError(f"corrupt or unreadable Word document ({exc.__class__.__name__})") from exc
    from ingest.word import word_blocks

    blocks = word_blocks(document)
    if not blocks:
        raise LoadError("the Word document has no text")
    meta: dict[str, Any] = {}
    props = document.core_properties
    if props.title:
        meta["title"] = props.title.strip()
    if props.author:
        meta["authors"] = [props.author.strip()]
    return with_properties("\n\n".join(blocks) + "\n", meta)


LOADERS: dict[str, Callable[[bytes, Path], LoadedDocument]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}


def with_sidecar(doc: LoadedDocument, path: Path, extra: dict[str, Any]) -> LoadedDocument:
    """The document with the fields of its metadata file (``name.pdf.meta.yaml``) over those its
    own properties give, written in its properties block. A Markdown file's front matter is its
    metadata, so a metadata file beside one is not read."""
    if not extra or path.suffix.lower() in (".md", ".markdown"):
        return doc
    body = doc.text[doc.content_start :]
    merged = with_properties(body, {**doc.metadata, **{k: _plain(v) for k, v in extra.items() if v is not None}})
    shift = merged.content_start - doc.content_start
    merged.page_starts = [s + shift for s in doc.page_starts] if doc.page_starts else None
    merged.ocr_pages, merged.warnings = doc.ocr_pages, doc.warnings
    return merged


def parse_sidecar(data: bytes, name: str) -> dict[str, Any]:
    """A metadata file's fields (the front-matter fields of a Markdown document), or LoadError."""
    try:
        parsed = yaml.safe_load(data.decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LoadError(f"its metadata file {name} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(parsed, dict):
        raise LoadError(f"its metadata file {name} must be a YAML mapping of fields")
    return {str(k): v for k, v in parsed.items()}


def load_bytes(data: bytes, path: Path) -> LoadedDocument:
    """Load ``data`` as the type its name says; every failure is a :class:`LoadError`."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    check_content(data, path)
    try:
        return loader(data, path)
    except LoadError:
        raise
    except RecursionError as exc:
        raise LoadError("the file is nested too deeply to parse") from exc
    except Exception as exc:
        logger.debug("loader failure for %s", path, exc_info=True)
        raise LoadError(f"could not parse the file ({exc.__class__.__name__}: {exc})") from exc
