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
    return LoadedDocument(text="\n\n".join(blocks) + "\n", metadata=meta)


def load_pdf(data: bytes, path: Path, max_pages: int = MAX_PDF_PAGES) -> LoadedDocument:
    """Text in reading order, with pages and structure (``ingest.pdf``)."""
    from ingest.pdf import PdfError, read_pdf

    try:
        pdf = read_pdf(data, max_pages)
    except PdfError as exc:
        raise LoadError(str(exc)) from exc
    warnings = [f"page {n} skipped: {why}" for n, why in pdf.skipped_pages]
    return LoadedDocument(pdf.text, pdf.metadata, 0, pdf.page_starts, pdf.ocr_pages, warnings)


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
    if props.created:
        meta["date"] = props.created.date().isoformat()
    return LoadedDocument(text="\n\n".join(blocks) + "\n", metadata=meta)


LOADERS: dict[str, Callable[[bytes, Path], LoadedDocument]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
}


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
