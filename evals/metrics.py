"""Metrics as pure functions. ``None`` means undetermined (e.g. recall with no expected source):
callers count undetermined values and never average them in as 0 or NaN."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_MARKER = re.compile(r"\[(\d+)\]")

# The keys of results.json's "metrics", in order, and the ones compare gates on.
METRICS = (
    "hit@5", "recall@5", "mrr", "ndcg@10", "key_point_coverage", "citation_validity", "citation_precision",
    "faithfulness", "refusal_accuracy", "false_refusal_rate", "latency_p50_ms", "latency_p95_ms",
)  # fmt: skip
HEADLINE = ("hit@5", "key_point_coverage", "citation_validity", "faithfulness", "refusal_accuracy")


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
    """Share of citations that are used by a marker and whose quote is verbatim in the cited chunk;
    a marker with no citation entry counts as an invalid citation."""
    used = {int(n) for n in _MARKER.findall(answer)}
    if not used and not citations:
        return None
    by_n = {int(str(c["n"])): c for c in citations}
    total = len(used | set(by_n))
    valid = 0
    for n in used:
        c = by_n.get(n)
        if c is not None and str(c["quote"]) in chunk_texts.get(str(c["chunk_id"]), ""):
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
