"""The SQL side every node shares: SQLite under the data dir by default, PostgreSQL (any
SQLAlchemy URL) when ``POLICYRAG_DATABASE_URL`` is set. Feedback lives here, and so does the
writer lease that keeps nodes sharing one Chroma server to one writer at a time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Float, String, Table, create_engine, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rag.core.config import Settings

logger = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class Base(DeclarativeBase):
    pass


class DatabaseUnavailable(RuntimeError):
    """The shared database cannot be reached (PostgreSQL stopped or restarting): a write should be
    tried again later, so the API answers 503 with Retry-After; nothing is written."""

    retry_after_s = 5


def engine_for(settings: Settings) -> Engine:
    """One engine per URL and process, tables created on first use (never at import)."""
    url = settings.sql_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, pool_pre_ping=True)
            Base.metadata.create_all(engine)
            _engines[url] = engine
        return engine


class LeaseRow(Base):
    __tablename__ = "writer_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acquired_at: Mapped[float] = mapped_column(Float, default=0.0)
    expires_at: Mapped[float] = mapped_column(Float, default=0.0)


@dataclass
class LeaseHolder:
    owner: str
    acquired_at: float
    expires_at: float


def describe_self(purpose: str) -> str:
    return f"{purpose} (pid {os.getpid()} on {socket.gethostname()})"


class WriterLease:
    """A lease row taken by one conditional UPDATE (atomic on SQLite and PostgreSQL alike) and
    renewed by a heartbeat; a holder killed with ``kill -9`` stops renewing and loses it after
    ``ttl`` seconds, so a crash never locks the library for good."""

    def __init__(self, settings: Settings, name: str = "index", ttl: float | None = None) -> None:
        self.settings = settings
        self.name = name
        self.ttl = settings.writer_lease_ttl_s if ttl is None else ttl
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @property
    def engine(self) -> Engine:
        return engine_for(self.settings)

    def try_acquire(self, owner: str) -> LeaseHolder | None:
        """Take the lease; returns None on success, else who holds it."""
        now = time.time()
        row = cast(Table, LeaseRow.__table__)
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(insert(row).values(name=self.name, holder=None, acquired_at=0.0, expires_at=0.0))
            except IntegrityError:
                pass  # the row exists already
            taken = conn.execute(
                update(row)
                .where(row.c.name == self.name)
                .where((row.c.holder.is_(None)) | (row.c.expires_at < now) | (row.c.holder == self.token))
                .values(holder=self.token, owner=owner[:200], acquired_at=now, expires_at=now + self.ttl)
            ).rowcount
            if taken == 1:
                self._start_heartbeat()
                return None
            held = conn.execute(select(row.c.owner, row.c.acquired_at, row.c.expires_at).where(row.c.name == self.name))
            found = held.first()
        if found is None:  # released between the two statements
            return LeaseHolder("another writer", now, now)
        return LeaseHolder(str(found[0]), float(found[1]), float(found[2]))

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        row = cast(Table, LeaseRow.__table__)
        with self.engine.begin() as conn:
            conn.execute(
                update(row)
                .where(row.c.name == self.name, row.c.holder == self.token)
                .values(holder=None, owner=None, expires_at=0.0)
            )

    def _start_heartbeat(self) -> None:
        if self._beat is not None:
            return
        self._stop.clear()
        self._beat = threading.Thread(target=self._renew, name="writer-lease", daemon=True)
        self._beat.start()

    def _renew(self) -> None:
        row = cast(Table, LeaseRow.__table__)
        while not self._stop.wait(self.ttl / 4):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(row)
                        .where(row.c.name == self.name, row.c.holder == self.token)
                        .values(expires_at=time.time() + self.ttl)
                    )
            except Exception as exc:  # noqa: BLE001 - keep beating; the next renewal may succeed
                logger.warning("could not renew the writer lease: %s", exc)
