"""Documents arriving over HTTP: checked, named safely, stored under the corpus dir, ingested.

The file is kept under ``<corpus>/uploads/`` so a later ``policyrag ingest`` of the corpus sees
the same library the API built.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import SUPPORTED, ContentMismatch, LoadError, load_bytes
from ingest.pipeline import Ingestor, IngestReport
from rag.core.config import Settings

API_LOCK_WAIT_S = 10.0  # an HTTP write waits this long for another writer, then answers 409
NAME_PUNCTUATION = frozenset(" ._()-")
MAX_NAME = 151


def _name_char(ch: str) -> bool:
    """A letter or digit of any script (``noté``, ``中文``), a combining mark, or plain punctuation;
    never a control, a bidi override or other format character, or a separator other than a space."""
    return ch in NAME_PUNCTUATION or unicodedata.category(ch)[0] in {"L", "N", "M"}


class UploadError(ValueError):
    """An upload the library cannot take. The subclass says why; the API maps each to a status."""


class BadName(UploadError):
    """The file name is unsafe: a path, a hidden file, a control or bidi character."""


class Unsupported(UploadError):
    """Not a file type the library reads, or content that is not what its name says."""


class TooLarge(UploadError):
    """Over ``POLICYRAG_MAX_FILE_MB``."""


class Unreadable(UploadError):
    """Empty, or its parser could not read it."""


class Conflict(UploadError):
    """The document id belongs to another file, or the uploads folder is not safe to write."""


@dataclass
class UploadResult:
    doc_id: str
    path: Path
    replaced: bool
    report: IngestReport


def safe_name(filename: str | None) -> str:
    """The file name as stored, or an error: no directories, no hidden files, plain characters."""
    name = (filename or "").strip()
    if not name:
        raise BadName("upload: the file has no name")
    if "/" in name or "\\" in name or name in {".", ".."} or "\x00" in name:
        raise BadName(f"upload: the file name {name!r} must not contain a path")
    name = unicodedata.normalize("NFC", name)  # "é" typed two ways is one name
    first = unicodedata.category(name[0])[0]
    if len(name) > MAX_NAME or first not in {"L", "N"} or not all(_name_char(ch) for ch in name):
        raise BadName(
            f"upload: the file name {name!r} may use letters and digits (of any script), spaces and . _ - ( ), "
            f"must start with a letter or digit, and be at most {MAX_NAME} characters"
        )
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise Unsupported(
            f"upload: {suffix or 'a file without an extension'} is not supported; send one of {', '.join(SUPPORTED)}"
        )
    return re.sub(r"\s+", "-", name)


def too_large(settings: Settings) -> TooLarge:
    return TooLarge(f"upload: the file is over the {settings.max_file_mb:g} MB limit")


def store_upload(settings: Settings, ingestor: Ingestor, filename: str | None, data: bytes) -> UploadResult:
    """Validate, write atomically, ingest. A document of the same id from another file is refused."""
    name = safe_name(filename)
    if len(data) > settings.max_file_bytes:
        raise too_large(settings)
    if not data:
        raise Unreadable("upload: the file is empty")
    target = settings.uploads_dir / name
    try:
        load_bytes(data, target)
    except ContentMismatch as exc:
        raise Unsupported(f"upload: {name} is refused: {exc}") from exc
    except LoadError as exc:
        raise Unreadable(f"upload: {name} cannot be read: {exc}") from exc
    _check_place(settings, target)

    doc_id = target.stem
    # the lock covers the file too, so a refused write leaves neither a file nor an index change
    with ingestor.writer_lock(API_LOCK_WAIT_S, f"upload of {name}"):
        existing = ingestor.index.documents().get(doc_id)
        if existing is not None:
            stored = Path(existing.meta.path)
            same = (stored if stored.is_absolute() else settings.corpus_dir / stored).resolve() == target.resolve()
            if not same:
                raise Conflict(
                    f"upload: a document with id {doc_id!r} already exists ({existing.meta.path}); "
                    "rename the file or delete that document first"
                )
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        previous = target.read_bytes() if target.is_file() else None
        _write_atomically(target, data)
        report = ingestor.run_locked([target])
        if report.files_skipped:
            if previous is None:
                target.unlink(missing_ok=True)
            else:  # the indexed version stays, and so does its file
                _write_atomically(target, previous)
            raise Unreadable(f"upload: {name} was not ingested: {report.files_skipped[0]['reason']}")
    return UploadResult(doc_id=doc_id, path=target, replaced=previous is not None, report=report)


def _check_place(settings: Settings, target: Path) -> None:
    """The file lands in the uploads folder itself: no symbolic link on the way, in or out."""
    corpus = settings.corpus_dir.resolve()
    uploads = settings.uploads_dir
    if uploads.is_symlink() or (uploads.exists() and not uploads.resolve().is_relative_to(corpus)):
        raise Conflict(f"upload: the uploads folder {uploads} is a link out of the corpus; refusing to write")
    if target.is_symlink():
        raise Conflict(f"upload: {target.name} exists as a symbolic link in the uploads folder; refusing it")


def _write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")  # hidden: never picked up by an ingest
    tmp.write_bytes(data)
    tmp.replace(target)
