"""Feedback on answers, kept in SQL: SQLite under the data dir by default, PostgreSQL (or any
SQLAlchemy URL) shared by every node when ``POLICYRAG_DATABASE_URL`` is set.

Evaluation reads it back to turn real questions into test cases; the API only writes it.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, DateTime, Integer, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from rag.core.config import Settings
from rag.persist.db import Base, DatabaseUnavailable, engine_for


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    citations: Mapped[Any] = mapped_column(JSON, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Feedback(BaseModel):
    """What a user says about one answer."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=20_000)
    answer: str = Field(min_length=1, max_length=100_000)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=5_000)
    citations: list[dict[str, Any]] | None = Field(None, max_length=100)


class FeedbackStore:
    """Opens its engine on first use (no connection at import or construction)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def engine(self) -> Engine:
        return engine_for(self.settings)

    def add(self, feedback: Feedback, request_id: str | None = None) -> int:
        row = FeedbackRow(
            created_at=datetime.now(UTC),
            question=feedback.question,
            answer=feedback.answer,
            rating=feedback.rating,
            comment=feedback.comment,
            citations=feedback.citations,
            request_id=request_id,
        )
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
                session.flush()
                return int(row.id)
        except (OperationalError, InterfaceError) as exc:  # the server is away, not the row at fault
            raise DatabaseUnavailable(f"feedback: the database cannot be reached: {exc.orig or exc}") from exc

    def all(self) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            rows = session.scalars(select(FeedbackRow).order_by(FeedbackRow.id)).all()
            return [{c.name: getattr(r, c.name) for c in FeedbackRow.__table__.columns} for r in rows]


EXPORT_FIELDS = ["id", "created_at", "question", "answer", "rating", "comment", "citations", "request_id"]


def write_feedback(rows: list[dict[str, Any]], out: TextIO, fmt: str) -> None:
    """JSONL (one object per row) or CSV (citations as a JSON string); times in ISO 8601."""
    plain = [{**row, "created_at": row["created_at"].isoformat() if row.get("created_at") else None} for row in rows]
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in plain:
            writer.writerow({**row, "citations": json.dumps(row["citations"]) if row.get("citations") else ""})
        return
    for row in plain:
        out.write(json.dumps({k: row.get(k) for k in EXPORT_FIELDS}, ensure_ascii=False) + "\n")
