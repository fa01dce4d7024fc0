"""Evaluation datasets: JSONL or YAML, one case per line/item, validated with clear errors."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Kind(StrEnum):
    fact = "fact"
    howto = "howto"
    precedent = "precedent"
    definition = "definition"  # framework or definition: "what is ...", "what do they mean by ..."
    contrast = "contrast"  # "difference between ...", "how does X differ from Y"
    followup = "followup"  # asked with a conversation history
    partly_covered = "partly_covered"  # one part stated in the library, another (``missing``) not
    false_premise = "false_premise"  # the question assumes something a passage contradicts
    synthesis = "synthesis"
    not_covered = "not_covered"  # nothing in the library answers it: the right answer is a refusal

    @classmethod
    def _missing_(cls, value: object) -> Kind | None:
        return cls.not_covered if value == "out_of_scope" else None  # the name older datasets used


class GoldSpan(BaseModel):
    """A verbatim passage that answers (part of) a case: ``text`` is ``file[char_start:char_end]``
    of the document's file, the same offsets the ingest gives chunks and citations."""

    model_config = ConfigDict(extra="forbid")
    doc_id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    char_start: int = Field(ge=0)
    char_end: int = Field(gt=0)


class MissingPart(BaseModel):
    """A part of the question the library does not state; an answer must name it as not stated.
    ``terms`` are the words (any one suffices, stemmed) by which a "does not say" sentence names it."""

    model_config = ConfigDict(extra="forbid")
    part: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(pattern="^(user|assistant)$")
    content: str


class EvalCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    kind: Kind
    expected_sources: list[str] = Field(default_factory=list, description="doc ids (corpus file stems)")
    key_points: list[list[str]] = Field(
        default_factory=list, description="groups of acceptable phrasings; a group is met if any phrase appears"
    )
    reference_answer: str | None = None
    history: list[Turn] | None = None
    gold: list[list[GoldSpan]] = Field(
        default_factory=list,
        description="evidence the answer should cite: one group per point, any span of a group evidences it",
    )
    missing: list[MissingPart] = Field(default_factory=list, description="parts of the question the library lacks")
    false_premise: str | None = Field(None, description="what the question wrongly assumes (kind false_premise)")

    @property
    def gold_spans(self) -> list[list[dict[str, object]]]:
        """The gold groups as plain spans, the shape the metrics compare citations with."""
        return [[span.model_dump() for span in group] for group in self.gold]

    @property
    def out_of_scope(self) -> bool:
        return self.kind is Kind.not_covered

    @field_validator("key_points")
    @classmethod
    def _groups_not_empty(cls, groups: list[list[str]]) -> list[list[str]]:
        if any(not g or not all(p.strip() for p in g) for g in groups):
            raise ValueError("every key-point group needs at least one non-empty phrasing")
        return groups

    @field_validator("gold")
    @classmethod
    def _gold_groups_not_empty(cls, groups: list[list[GoldSpan]]) -> list[list[GoldSpan]]:
        if any(not g for g in groups):
            raise ValueError("every gold-evidence group needs at least one span")
        return groups


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the file, the line or item, and the field."""


def load_dataset(path: Path) -> list[EvalCase]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    items: list[tuple[str, object]] = []
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise DatasetError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, list):
            raise DatasetError(f"{path}: a YAML dataset is a list of cases")
        items = [(f"item {i}", item) for i, item in enumerate(data, start=1)]
    else:
        for lineno, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((f"line {lineno}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}: line {lineno}: not valid JSON ({exc.msg})") from exc
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for where, item in items:
        try:
            case = EvalCase.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'case'}: {e['msg']}" for e in exc.errors())
            raise DatasetError(f"{path}: {where}: {problems}") from exc
        if case.id in seen:
            raise DatasetError(f"{path}: {where}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise DatasetError(f"{path}: no cases")
    return cases


def dataset_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
