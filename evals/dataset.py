"""Evaluation datasets: JSONL or YAML, one case per line/item, validated with clear errors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag.answer.model import Turn


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


# dev-tune is what changes are tuned on; dev-test is only looked at to see whether a gain holds.
Split = Literal["tune", "test"]
SPLITS: tuple[Split, ...] = get_args(Split)


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
    split: Split | None = Field(None, description="tune or test half of the set (see assign_splits)")

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


def _split_rank(case_id: str) -> str:
    """A stable pseudo-random order of ids: the same on every machine and Python (unlike ``hash``)."""
    return hashlib.sha256(f"policyrag-split:{case_id}".encode()).hexdigest()


def assign_splits(cases: Sequence[EvalCase]) -> dict[str, Split]:
    """Every case's split: stratified by kind, half of each kind (rounded down) to ``test``.

    A case that already has a split keeps it, so the split is fixed once written; cases without one
    are ordered by a hash of their id and fill each kind's ``test`` half first, then ``tune``. On a
    set with no splits yet this is simply: the first half of each kind, in hash order, is ``test``.
    """
    out: dict[str, Split] = {c.id: c.split for c in cases if c.split is not None}
    for kind in dict.fromkeys(c.kind for c in cases):
        group = [c for c in cases if c.kind is kind]
        wanted = len(group) // 2 - sum(c.split == "test" for c in group)
        fresh = sorted((c for c in group if c.split is None), key=lambda c: (_split_rank(c.id), c.id))
        for i, case in enumerate(fresh):
            out[case.id] = "test" if i < wanted else "tune"
    return out


def write_splits(path: Path) -> dict[str, Split]:
    """Write ``split`` on every line of a JSONL dataset that lacks it, leaving the rest of each line as is."""
    if path.suffix.lower() != ".jsonl":
        raise DatasetError(f"{path}: splits are written into JSONL datasets only")
    splits = assign_splits(load_dataset(path))
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line) if line.strip() else None
        if item is not None and "split" not in item:
            line = json.dumps({**item, "split": splits[item["id"]]}, ensure_ascii=False)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return splits
