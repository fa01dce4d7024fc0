"""Metrics as pure functions. ``None`` means undetermined (e.g. recall with no expected source):
callers count undetermined values and never average them in as 0 or NaN."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from rag.core.text import content_tokens, sentences

_MARKER = re.compile(r"\[(\d+)\]")

# The keys of results.json's "metrics", in order, and the ones compare gates on.
METRICS = (
    "hit@5", "recall@5", "mrr", "ndcg@10", "key_point_coverage", "citation_validity", "citation_precision",
    "evidence_precision", "evidence_recall", "not_covered_accuracy", "false_premise_correction",
    "faithfulness", "refusal_accuracy", "false_refusal_rate", "latency_p50_ms", "latency_p95_ms",
)  # fmt: skip
# evidence precision is reported, not gated: it rewarded one-sentence answers (gold recall within the
# word budget, beside the search box, is what the answer is judged on)
HEADLINE = (
    "hit@5", "key_point_coverage", "citation_validity", "evidence_recall",
    "not_covered_accuracy", "false_premise_correction", "faithfulness", "refusal_accuracy",
)  # fmt: skip

# What each metric measures, for the report and the UI (one line each).
METRIC_HELP = {
    "hit@5": "an expected document among the first five retrieved",
    "key_point_coverage": "share of key points whose phrasing appears in the answer",
    "citation_validity": "citations used by a marker whose quote is verbatim in the cited passage",
    "citation_precision": "share of cited documents that are expected sources",
    "evidence_precision": "share of cited quotes that are gold evidence (sentences that answer the question)",
    "evidence_recall": "share of the gold points cited by at least one quote; a refusal scores 0",
    "not_covered_accuracy": "share of the question's missing parts the answer names as not stated",
    "false_premise_correction": "the first sentence says the premise is wrong and gold evidence is cited",
    "faithfulness": "answer sentences the verifier finds supported by the passages they cite",
    "refusal_accuracy": "refused exactly when nothing in the library answers",
}
# A sentence of the answer that says the library lacks something ("The library does not say who paid").
NOT_STATED = re.compile(
    r"\b(?:does not|doesn't|do not|don't|did not|didn't)\s+(?:say|state|mention|cover|give|report|record|specify|"
    r"tell|name|describe|include|show|explain)\b|\bnot\s+(?:stated|covered|mentioned|given|said|specified|named|"
    r"recorded|reported)\b|\bno\s+(?:information|mention|figures?|details?|record)\b|\bsilent\s+on\b|"
    r"\bnothing\s+(?:about|on)\b",
    re.IGNORECASE,
)
# A sentence that tells the reader the question's premise is wrong.
CORRECTION = re.compile(
    r"\b(?:premise|assum\w*|in fact|contrary to|mistaken|incorrect|says otherwise|say otherwise|is wrong|"
    r"not (?:correct|right|true|the case|so))\b",
    re.IGNORECASE,
)


def _docs(ranked: Sequence[str], k: int) -> list[str]:
    """Document ranking from a chunk-level ranking of doc ids: first occurrence counts."""
    return list(dict.fromkeys(ranked))[:k]


def hit_at_k(ranked_docs: Sequence[str], expected: Sequence[str], k: int) -> float | None:
    if not expected:
        return None
    return 1.0 if set(_docs(ranked_docs, k)) & set(expected) else 0.0


def recall_at_k(ranked_docs: Sequence[str], expected: Sequence[str], k: int) -> float | None:
    if not expected:
        return None
    return len(set(_docs(ranked_docs, k)) & set(expected)) / len(set(expected))


def reciprocal_rank(ranked_docs: Sequence[str], expected: Sequence[str]) -> float | None:
    if not expected:
        return None
    for i, doc in enumerate(_docs(ranked_docs, len(ranked_docs)), start=1):
        if doc in expected:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked_docs: Sequence[str], expected: Sequence[str], k: int) -> float | None:
    """Binary relevance nDCG over the document ranking."""
    if not expected:
        return None
    docs = _docs(ranked_docs, k)
    dcg = sum(1.0 / math.log2(i + 1) for i, d in enumerate(docs, start=1) if d in expected)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(set(expected)), k) + 1))
    return dcg / ideal


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").lower().split())


def key_point_coverage(answer: str, key_points: Sequence[Sequence[str]]) -> float | None:
    """Share of key-point groups with at least one phrasing in the answer (case/quote-insensitive)."""
    if not key_points:
        return None
    text = _norm(_MARKER.sub("", answer))
    return sum(any(_norm(p) in text for p in group) for group in key_points) / len(key_points)


def citation_validity(answer: str, citations: Sequence[dict[str, object]], chunk_texts: dict[str, str]) -> float | None:
    """Share of citations that are used by a marker and whose quote is verbatim in the passage the
    citation gives (a quote that runs on into the next chunk gives both), else in its chunk's text
    in ``chunk_texts``; a marker with no citation entry counts as an invalid citation."""
    used = {int(n) for n in _MARKER.findall(answer)}
    if not used and not citations:
        return None
    by_n = {int(str(c["n"])): c for c in citations}
    total = len(used | set(by_n))
    valid = 0
    for n in used:
        c = by_n.get(n)
        if c is not None and str(c["quote"]) in str(c.get("passage") or chunk_texts.get(str(c["chunk_id"]), "")):
            valid += 1
    return valid / total


def refusal_correct(refused: bool, out_of_scope: bool) -> float:
    return 1.0 if refused == out_of_scope else 0.0


def citation_precision(cited_docs: Sequence[str], expected: Sequence[str]) -> float | None:
    """Share of the answer's cited documents that are among the expected ones."""
    if not cited_docs or not expected:
        return None
    cited = list(dict.fromkeys(cited_docs))
    return sum(d in expected for d in cited) / len(cited)


Span = Mapping[str, object]


def _overlap(a: Span, b: Span) -> bool:
    """Two spans of one document share at least half of the shorter one (a cited sentence that
    holds a gold clause, or a gold sentence quoted in part, both count)."""
    if a["doc_id"] != b["doc_id"]:
        return False
    a0, a1, b0, b1 = (int(str(x)) for x in (a["char_start"], a["char_end"], b["char_start"], b["char_end"]))
    shared = min(a1, b1) - max(a0, b0)
    return shared > 0 and shared >= 0.5 * min(a1 - a0, b1 - b0)


def gold_citations(citations: Sequence[Span], gold: Sequence[Sequence[Span]]) -> list[bool]:
    """For each citation, whether its quote is gold evidence (any span of any group)."""
    return [any(_overlap(c, g) for group in gold for g in group) for c in citations]


def evidence_precision(citations: Sequence[Span], gold: Sequence[Sequence[Span]]) -> float | None:
    """Share of the answer's cited quotes that are gold evidence. Undetermined with nothing cited."""
    if not gold or not citations:
        return None
    hits = gold_citations(citations, gold)
    return sum(hits) / len(hits)


def evidence_recall(citations: Sequence[Span], gold: Sequence[Sequence[Span]]) -> float | None:
    """Share of gold groups (points the answer should make) evidenced by at least one citation.
    An answer that cites nothing (a refusal) scores 0: the evidence was there and not given."""
    if not gold:
        return None
    return sum(any(_overlap(c, g) for c in citations for g in group) for group in gold) / len(gold)


def gold_missed(gold: Sequence[Sequence[Span]], citations: Sequence[Span]) -> list[str]:
    """The first span's text of each gold group no citation evidences: what a report's reader looks for."""
    return [str(group[0]["text"]) for group in gold if not evidence_recall(citations, [group])]


def _merged(ranges: Sequence[Span]) -> dict[str, list[tuple[int, int]]]:
    """The character ranges shown to a reader, per document, merged so that no character counts twice."""
    by_doc: dict[str, list[tuple[int, int]]] = {}
    for r in sorted(ranges, key=lambda r: (str(r["doc_id"]), int(str(r["char_start"])))):
        start, end = int(str(r["char_start"])), int(str(r["char_end"]))
        runs = by_doc.setdefault(str(r["doc_id"]), [])
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        elif end > start:
            runs.append((start, end))
    return by_doc


def gold_covered(gold: Sequence[Sequence[Span]], shown: Sequence[Span]) -> tuple[int, int]:
    """``(covered, spans)``: of every gold span (each span of each group counted), how many have at
    least half their characters inside the ranges the reader is shown. Counts rather than a share,
    so a run can pool them over its cases; an answer's quotes and a search box's passages are both
    just ranges here, which is what makes the two comparable."""
    runs = _merged(shown)
    spans = [span for group in gold for span in group]
    covered = 0
    for span in spans:
        start, end = int(str(span["char_start"])), int(str(span["char_end"]))
        inside = sum(max(0, min(end, b) - max(start, a)) for a, b in runs.get(str(span["doc_id"]), []))
        covered += end > start and inside >= 0.5 * (end - start)
    return covered, len(spans)


def gold_recall(gold: Sequence[Sequence[Span]], shown: Sequence[Span]) -> float | None:
    """Share of a case's gold spans at least half shown (see :func:`gold_covered`); undetermined without gold."""
    covered, spans = gold_covered(gold, shown)
    return covered / spans if spans else None


def first_on_gold(shown: Sequence[Span], gold: Sequence[Sequence[Span]]) -> float | None:
    """1 when the first thing the reader is shown (an answer's first citation, the top passage)
    is gold evidence in the sense of :func:`gold_citations`; 0 when it is not or nothing is shown.
    Undetermined without gold."""
    if not gold:
        return None
    return 1.0 if shown and gold_citations(shown[:1], gold)[0] else 0.0


_LIST_MARK = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+", re.MULTILINE)
_WORD = re.compile(r"\w+(?:[’'-]\w+)*")


def word_count(text: str) -> int:
    """Words a reader reads: citation markers, list numbers and bullets and Markdown marks are not words."""
    return len(_WORD.findall(_LIST_MARK.sub("", _MARKER.sub("", text))))


def _answer_sentences(answer: str) -> list[str]:
    return [_MARKER.sub("", s.text).strip() for s in sentences(answer) if _MARKER.sub("", s.text).strip()]


def missing_named(answer: str, refused: bool, missing: Sequence[Sequence[str]]) -> float | None:
    """Share of the question's missing parts (each given by its naming terms) that the answer names
    as not stated, in a "does not say" sentence holding one of the part's terms (stemmed). A refusal
    of a partly covered question scores 0: it does not tell the stated part from the missing one."""
    if not missing:
        return None
    if refused:
        return 0.0
    said = [content_tokens(s) for s in _answer_sentences(answer) if NOT_STATED.search(s)]
    named = 0
    for terms in missing:
        wanted = content_tokens(" ".join(terms))
        named += any(wanted & s for s in said)
    return named / len(missing)


def premise_corrected(
    answer: str, refused: bool, citations: Sequence[Span], gold: Sequence[Sequence[Span]], has_premise: bool
) -> float | None:
    """1 when the answer says first that the question's premise is wrong (its first sentence
    carries a correction) and cites gold evidence for the correction; undetermined without a premise."""
    if not has_premise:
        return None
    if refused:
        return 0.0
    first = next(iter(_answer_sentences(answer)), "")
    return 1.0 if CORRECTION.search(first) and any(gold_citations(citations, gold)) else 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def bootstrap_ci(
    values: Sequence[float], resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> list[float] | None:
    """Percentile bootstrap interval of the mean; seeded, so the same values give the same interval."""
    if len(values) < 2:
        return None
    import numpy as np

    rng = np.random.default_rng(seed)
    data = np.asarray(values, dtype=float)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    alpha = (1 - level) / 2
    return [round(float(np.quantile(means, alpha)), 4), round(float(np.quantile(means, 1 - alpha)), 4)]
