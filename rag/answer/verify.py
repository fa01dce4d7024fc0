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

from rag.answer.claims import NUMBER, names, swapped_role
from rag.answer.joining import joined
from rag.answer.model import Citation
from rag.core.models import SearchResult
from rag.core.text import MARKER, STEERING, Span, content_tokens, disguised, display, plain, sentences
from rag.index.embeddings import MiniLMEmbeddings

# an item's marker, and a bold label that ends in a colon ("- **Name**: ..."): not claims. A bold
# sentence with no colon is a highlighted claim, checked and cited like any other.
LIST_PREFIX = re.compile(r"^(\s*(?:\d{1,2}[.)]|[-*•])\s+)(\*\*[^*]{1,120}(?::\*\*|\*\*:)\s+)?")
MIN_CLAIM_TOKENS = 3
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


@dataclass(frozen=True)
class SupportWeights:
    """How a quote's support for a claim is scored. ``support_threshold`` is calibrated on these
    (evals/calibration/support.json records them, and a test fails when they differ)."""

    containment: float = 0.5  # share of the claim's content words the quote has
    similarity: float = 0.5  # cosine of claim and quote
    missing_figure: float = 0.5  # multiplies the score when the claim states a figure the quote does not
    missing_name: float = 0.7  # ... a name the quote does not mention
    swapped_role: float = 0.6  # ... a body in a role the quote gives another ("funded by the NHBC": "set up by
    # the NHBC with seed corn funding from DCLG")


SUPPORT_WEIGHTS = SupportWeights()


class Verifier:
    def __init__(self, embeddings: MiniLMEmbeddings, threshold: float, keep_unsupported: bool = False) -> None:
        self.embeddings = embeddings
        self.threshold = threshold
        self.keep_unsupported = keep_unsupported

    # -- support --------------------------------------------------------------------------------
    def support(self, claim: str, source: SearchResult) -> Support:
        """Best verbatim quote in ``source`` for ``claim``, with a 0-1 support score."""
        spans = sentences(source.text)
        if not spans:
            return Support(0.0, Span(source.text, 0, len(source.text)))
        norm_claim = plain(claim)
        for span in spans:  # the extractive case: the claim is a quoted sentence, or a verbatim part of one
            quoted = plain(span.text)
            if quoted == norm_claim or (len(norm_claim) >= 20 and norm_claim in quoted):
                return Support(1.0, span)
        windows = spans + [Span(source.text[a.start : b.end], a.start, b.end) for a, b in itertools.pairwise(spans)]
        claim_tokens = content_tokens(norm_claim)
        vecs = self.embeddings.embed_cached([norm_claim] + [display(w.text) for w in windows])
        sims = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
        claim_numbers = set(NUMBER.findall(norm_claim))
        claim_names = names(norm_claim)
        best = Support(0.0, windows[0])
        for i, w in enumerate(windows):
            contained = len(claim_tokens & content_tokens(w.text)) / len(claim_tokens) if claim_tokens else 0.0
            score = SUPPORT_WEIGHTS.containment * contained + SUPPORT_WEIGHTS.similarity * float(sims[i])
            if claim_numbers - set(NUMBER.findall(w.text)):
                score *= SUPPORT_WEIGHTS.missing_figure  # a figure the quote does not state
            if claim_names - {t.lower() for t in re.findall(r"[A-Za-z&]+", w.text)}:
                score *= SUPPORT_WEIGHTS.missing_name  # a swapped body, place or person
            if swapped_role(norm_claim, display(w.text)):
                score *= SUPPORT_WEIGHTS.swapped_role
            if score > best.score:
                best = Support(score, w)
        return best

    # -- the whole draft ------------------------------------------------------------------------
    def verify(self, draft: str, sources: list[SearchResult], whole_units: bool = False) -> Verified:
        session = self.session(sources, whole_units)
        session.feed(draft)
        session.close()
        return session.result

    def session(self, sources: list[SearchResult], whole_units: bool = False) -> VerifySession:
        """An incremental verifier for a draft that arrives in pieces (a streaming LLM). With
        ``whole_units``, a short sentence ("It is cheap to run.") is a sentence, not a fragment."""
        return VerifySession(self, sources, whole_units)

    @staticmethod
    def claims(body: str) -> list[tuple[str, list[int]]]:
        """Sentences with their markers. A marker group cites every sentence written since the
        previous group ("S1. S2. [1]" means both stand on [1]); each is still checked on its own."""
        claims: list[tuple[str, list[int]]] = []
        parts = MARKER_GROUP.split(body)
        for i in range(0, len(parts), 2):
            markers = [int(n) for n in MARKER.findall(parts[i + 1])] if i + 1 < len(parts) else []
            part = parts[i]
            # bold marks are not words: split as if they were blanks ("**Mr. Speaker" is one
            # sentence, not "**Mr." and another), then give each sentence back its marks
            for span in sentences(part.replace("**", "  ")):
                start = span.start - 2 if part[max(0, span.start - 2) : span.start] == "**" else span.start
                end = span.end + 2 if part[span.end : span.end + 2] == "**" else span.end
                claim = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(part[start:end].split()))
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
        highlight: bool = False,
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
            if key not in numbering:  # a unit's next sentence extends its citation (rag.answer.joining)
                unit = len(good) == 1 and joined(result.citations, sources, src, sup.span, sup.score, highlight)
                numbering[key] = unit or len(result.citations) + 1
                if not unit:
                    result.citations.append(Citation.quoting(numbering[key], src, sup.span, sup.score, highlight))
            refs.append(numbering[key])
        return refs


class VerifySession:
    """Verifies a draft piece by piece and returns verified text as soon as it is final.

    A sentence is final once a marker group after it is closed (followed by more text) or its line
    ends, so a streamed answer only ever shows sentences that passed verification. ``verify`` is
    this session fed the whole draft at once: streamed and whole answers are the same text.
    """

    def __init__(self, verifier: Verifier, sources: list[SearchResult], whole_units: bool = False) -> None:
        self.verifier = verifier
        self.sources = sources
        self.whole_units = whole_units
        self.result = Verified(text="")
        self.numbering: dict[tuple[str, int, int], int] = {}
        self._line = ""  # the unfinished line
        self._consumed = 0  # characters of it already verified
        self._prefix: str | None = None  # list prefix of the unfinished line, once known
        self._line_emitted = False
        self._break = ""  # line break owed before the next emitted text
        self._steps = 0
        self._closed = False
        self.misses_in_row = 0  # claims since the last verified one that verification refused

    def feed(self, piece: str) -> str:
        """Add draft text; returns the newly verified answer text (possibly empty)."""
        if self._closed:
            raise RuntimeError("verify: the session is closed")
        start = len(self.result.text)
        self._line += piece
        while "\n" in self._line:
            line, rest = self._line.split("\n", 1)
            self._line = line
            self._emit(self._advance(final=True))
            self._end_line(blank=not line.strip())
            self._line = rest
        self._emit(self._advance(final=False))
        return self.result.text[start:]

    def close(self) -> str:
        """The draft is complete: verify what is left of the last line."""
        if self._closed:
            return ""
        text = self._advance(final=True)
        self._closed = True
        return self._emit(text)

    def abandon(self) -> None:
        """The draft is cut off: its unfinished sentence is neither verified nor shown."""
        self._closed = True

    def _emit(self, text: str) -> str:
        self.result.text += text
        return text

    def _end_line(self, blank: bool) -> None:
        if self._line_emitted:
            self._break = "\n"
        elif blank and self.result.text:
            self._break = "\n\n"
        self._line, self._consumed, self._prefix, self._line_emitted = "", 0, None, False

    def _safe_end(self) -> int:
        """End of the last marker group that is certainly complete (more text follows it)."""
        end = 0
        for m in MARKER_GROUP.finditer(self._line, self._consumed):
            rest = self._line[m.end() :].lstrip()
            if rest and not rest.startswith("["):
                end = m.end()
        return end

    def _advance(self, final: bool) -> str:
        line = self._line
        upto = len(line) if final else self._safe_end()
        if upto <= self._consumed:
            return ""
        if self._prefix is None:
            prefix_match = LIST_PREFIX.match(line)
            self._prefix = prefix_match.group(0) if prefix_match else ""
            self._consumed = len(self._prefix)
        if line[self._consumed :].lstrip().startswith("#"):
            self._consumed = len(line)  # a heading of the draft's own: no claim to check
            return ""
        segment = line[self._consumed : upto]
        self._consumed = upto
        kept: list[str] = []
        for claim, markers in self.verifier.claims(segment):
            tokens = content_tokens(claim)
            if not tokens:
                continue
            short = len(tokens) < MIN_CLAIM_TOKENS and not (self.whole_units and markers)
            if short or STEERING.search(claim) or disguised(claim):
                # a heading or fragment ("Social Productivity"), a document's order to a model, or text
                # that hides what it says (invisible characters, look-alike letters): not an answer
                self.result.dropped.append(claim)
                continue
            bold = claim.startswith(("**", "__")) and claim.endswith(("**", "__"))  # the generator's highlight
            refs = self.verifier._cite(claim, markers, self.sources, self.numbering, self.result, bold)
            self.misses_in_row = 0 if refs else self.misses_in_row + 1
            if refs:
                kept.append(f"{claim} {''.join(f'[{n}]' for n in refs)}")
            elif self.verifier.keep_unsupported:
                self.result.unsupported.append(claim)
                kept.append(f"{claim} [unsupported]")
            else:
                self.result.dropped.append(claim)
        if not kept:
            return ""
        text = " ".join(kept)
        if self._line_emitted:
            return " " + text
        self._line_emitted = True
        prefix = self._prefix
        step = re.match(r"^(\s*)\d{1,2}([.)])\s+", prefix)
        if step and not self.whole_units:  # an LLM's steps renumbered past dropped lines; an author's kept
            self._steps += 1
            prefix = f"{step.group(1)}{self._steps}{step.group(2)} " + prefix[step.end() :]
        owed, self._break = self._break, ""
        return owed + prefix + text
