"""One writer at a time: a file lock for the processes sharing a data dir and, with a Chroma
server, a lease in the shared database for the nodes sharing that server."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from filelock import FileLock, Timeout
from sqlalchemy.exc import SQLAlchemyError

from rag.core.config import Settings
from rag.persist.db import WriterLease, describe_self

logger = logging.getLogger(__name__)


class IngestError(RuntimeError):
    """Raised by the ingest stage when it cannot run at all (lock held, store unreachable)."""


@contextmanager
def writer_lock(settings: Settings, timeout: float, purpose: str = "ingest") -> Iterator[None]:
    """Hold the data dir's lock (and, with a Chroma server, the database lease) while writing."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    lock = FileLock(str(settings.lock_path))
    owner_path = settings.lock_path.with_name(settings.lock_path.name + ".owner")
    try:
        lock.acquire(timeout=timeout)
    except Timeout as exc:
        try:
            holder = json.loads(owner_path.read_text(encoding="utf-8"))
            who = f"{holder['owner']}, since {holder['since']}"
        except (OSError, ValueError, KeyError):
            who = "another process"
        raise IngestError(
            f"{purpose}: the library is being changed by {who}; waited {timeout:.0f} s for "
            f"the lock {settings.lock_path}. Try again when it finishes."
        ) from exc
    lease: WriterLease | None = None
    try:
        owner = describe_self(purpose)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        owner_path.write_text(json.dumps({"owner": owner, "since": since}), encoding="utf-8")
        if settings.chroma_url:
            lease = _take_lease(settings, owner, deadline, purpose)
        yield
    finally:
        if lease is not None:
            try:
                lease.release()
            except SQLAlchemyError as exc:  # it expires by itself
                logger.warning("could not release the writer lease: %s", exc)
        owner_path.unlink(missing_ok=True)
        lock.release()


def _take_lease(settings: Settings, owner: str, deadline: float, purpose: str) -> WriterLease:
    if not settings.database_url:
        logger.warning(
            "the writer lease is in this node's own SQLite; set POLICYRAG_DATABASE_URL to a database "
            "every node shares, or two nodes can write to the Chroma server at once"
        )
    lease = WriterLease(settings)
    while True:
        try:
            holder = lease.try_acquire(owner)
        except SQLAlchemyError as exc:
            raise IngestError(f"{purpose}: cannot take the writer lease in the database: {exc}") from exc
        if holder is None:
            return lease
        if time.monotonic() >= deadline:
            since = datetime.fromtimestamp(holder.acquired_at, UTC).isoformat(timespec="seconds")
            left = max(0.0, holder.expires_at - time.time())
            raise IngestError(
                f"{purpose}: the library on {settings.chroma_url} is being changed by {holder.owner}, "
                f"since {since} (its lease runs out in {left:.0f} s unless renewed). Try again when it finishes."
            )
        time.sleep(0.5)
