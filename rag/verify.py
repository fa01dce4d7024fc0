"""Verification, the same for every generator: each sentence must stand on a verbatim quote.

For every sentence of a draft: markers that point nowhere are removed; each cited source is
checked for a quote that supports the sentence (lexical containment and embedding similarity);
a sentence with no supporting citation gets the best supporting passage attached, or is dropped
(or kept and flagged, if configured). Citations are renumbered in order of first use.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from rag.answers import Citation
from rag.embeddings import MiniLMEmbeddings
from rag.models import SearchResult
from rag.text import MARKER, Span, content_tokens, display, sentences

LIST_PREFIX = re.compile(r"^(\s*(?:\d{1,2}[.)]|[-*•])\s+)(\*\*[^*]{1,120}\*\*:?\s+)?")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
MARKER_GROUP = re.compile(r"((?:\s*\[\d{1,3}\])+)")


@dataclass
class Support:
    score: float
    span: Span  # within the source chunk's text


@dataclass
class Verified:
    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    support_scores: list[float] = field(default_factory=list)


class Verifier:
    def __init__(self, embeddings: MiniLMEmbeddings, threshold: float = 0.55, keep_unsupported: bool = False) -> None:
        self.embeddings = embeddings
        self.threshold = threshold
        self.keep_unsupported = keep_unsupported

    # -- support --------------------------------------------------------------------------------
    def support(self, claim: str, source: SearchResult) -> Support:
        """Best verbatim quote in ``source`` for ``claim``, with a 0-1 support score."""
        spans = sentences(source.text)
        if not spans:
            return Support(0.0, Span(source.text, 0, len(source.text)))
        norm_claim = display(claim)
        for span in spans:  # the extractive case: the claim is a quoted sentence, or a verbatim part of one
            quoted = display(span.text)
            if quoted == norm_claim or (len(norm_claim) >= 20 and norm_claim in quoted):
                return Support(1.0, span)
        windows = spans + [Span(source.text[a.start : b.end], a.start, b.end) for a, b in itertools.pairwise(spans)]
        claim_tokens = content_tokens(norm_claim)
        vecs = self.embeddings.embed_cached([norm_claim] + [display(w.text) for w in windows])
        sims = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
        claim_numbers = set(NUMBER.findall(norm_claim))
        best = Support(0.0, windows[0])
        for i, w in enumerate(windows):
            contained = len(claim_tokens & content_tokens(w.text)) / len(claim_tokens) if claim_tokens else 0.0
            score = 0.5 * contained + 0.5 * float(sims[i])
            if claim_numbers - set(NUMBER.findall(w.text)):
                score *= 0.5  # a figure the quote does not state
            if score > best.score:
                best = Support(score, w)
        return best

    # -- the whole draft ------------------------------------------------------------------------
    def verify(self, draft: str, sources: list[SearchResult]) -> Verified:
        result = Verified(text="")
        numbering: dict[tuple[str, int, int], int] = {}
        out_lines: list[str] = []
        for line in draft.splitlines():
            if not line.strip():
                if out_lines and out_lines[-1] != "":
                    out_lines.append("")
                continue
            prefix_match = LIST_PREFIX.match(line)
            prefix = prefix_match.group(0) if prefix_match else ""
            body = line[len(prefix) :]
            kept: list[str] = []
            for claim, markers in self._claims(body):
                if not content_tokens(claim):
                    continue
                refs = self._cite(claim, markers, sources, numbering, result)
                if refs:
                    kept.append(f"{claim} {''.join(f'[{n}]' for n in refs)}")
                elif self.keep_unsupported:
                    result.unsupported.append(claim)
                    kept.append(f"{claim} [unsupported]")
                else:
                    result.dropped.append(claim)
            if kept and not body.lstrip().startswith("#"):
                out_lines.append(prefix + " ".join(kept))
        while out_lines and out_lines[-1] == "":
            out_lines.pop()
        result.text = renumber_list("\n".join(out_lines))
        return result

    def _claims(self, body: str) -> list[tuple[str, list[int]]]:
        """Sentences with their markers. A marker group cites every sentence written since the
        previous group ("S1. S2. [1]" means both stand on [1]); each is still checked on its own."""
        claims: list[tuple[str, list[int]]] = []
        parts = MARKER_GROUP.split(body)
        for i in range(0, len(parts), 2):
            markers = [int(n) for n in MARKER.findall(parts[i + 1])] if i + 1 < len(parts) else []
            for span in sentences(parts[i]):
                claim = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(span.text.split()))
                if claim:
                    claims.append((claim, markers))
        return claims

    def _cite(
        self,
        claim: str,
        markers: list[int],
        sources: list[SearchResult],
        numbering: dict[tuple[str, int, int], int],
        result: Verified,
    ) -> list[int]:
        supports = [(n, self.support(claim, sources[n - 1])) for n in dict.fromkeys(markers) if 1 <= n <= len(sources)]
        good = [(n, s) for n, s in supports if s.score >= self.threshold]
        if not good:  # attach the best supporting passage, if any passage supports the claim
            scored = [(n, self.support(claim, src)) for n, src in enumerate(sources, start=1)]
            best = max(scored, key=lambda x: x[1].score, default=None)
            good = [best] if best is not None and best[1].score >= self.threshold else []
        refs = []
        for n, sup in good:
            src = sources[n - 1]
            key = (src.chunk_id, sup.span.start, sup.span.end)
            if key not in numbering:
                numbering[key] = len(numbering) + 1
                result.citations.append(
                    Citation(
                        n=numbering[key],
                        chunk_id=src.chunk_id,
                        doc_id=src.doc_id,
                        title=src.title,
                        section=src.section,
                        quote=sup.span.text,
                        char_start=src.char_start + sup.span.start,
                        char_end=src.char_start + sup.span.end,
                        score=round(sup.score, 4),
                    )
                )
            refs.append(numbering[key])
            result.support_scores.append(sup.score)
        return refs


def renumber_list(text: str) -> str:
    """Keep numbered steps consecutive after dropped lines."""
    n = 0
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\s*)\d{1,2}([.)])\s+", line)
        if m:
            n += 1
            line = f"{m.group(1)}{n}{m.group(2)} " + line[m.end() :]
        out.append(line)
    return "\n".join(out)
