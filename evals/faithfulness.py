"""Faithfulness of a finished answer from anywhere (in process or over HTTP): each of its claims
re-checked against the passages its markers cite, by the verifier's own claim split and support
score, so the figure means what verification means."""

from __future__ import annotations

from collections.abc import Callable

from rag.answer.verify import LIST_PREFIX, MIN_CLAIM_TOKENS, Verifier
from rag.core.models import SearchResult
from rag.core.text import content_tokens


def _passage(text: str) -> SearchResult:
    return SearchResult(chunk_id="", doc_id="", title="", section="", text=text, score=0.0, char_start=0,
                        char_end=len(text))  # fmt: skip


def supported_claims(
    verifier: Verifier, answer: str, passages: dict[int, str], skip: Callable[[str], bool]
) -> tuple[int, int]:
    """(supported, checked) claims of ``answer`` against the passages its markers cite (``n`` →
    text); lines ``skip`` accepts (the pipeline's own notes) are not claims."""
    checked = supported = 0
    for line in answer.splitlines():
        if skip(line):
            continue
        prefix = LIST_PREFIX.match(line)
        for claim, cited in verifier.claims(line[prefix.end() if prefix else 0 :]):
            if len(content_tokens(claim)) < MIN_CLAIM_TOKENS:
                continue
            checked += 1
            quotes = [_passage(passages[n]) for n in cited if n in passages]
            supported += any(verifier.support(claim, quote).score >= verifier.threshold for quote in quotes)
    return supported, checked
