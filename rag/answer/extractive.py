"""The extractive composer: a query-focused brief built from verbatim sentences, no LLM.

It scores every sentence of the retrieved passages against the question, leads with the one that
answers it most directly, and adds only sentences nearly as good. What makes a sentence good is
that it answers, not that it is on the topic: the question's rare words count for more than its
common ones (BM25's IDF), a sentence that gives what the question asks for (a figure, a date, who
paid) gains, and a sentence that points back ("By doing this", "such claims") comes with the
sentence before it, verbatim, or not at all. The rendering follows the mode: how-to answers are
numbered actions only; precedents are one entry per named case; explanations are a short brief.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from rag.answer.coverage import ATTRIBUTES, fold, subject_names
from rag.answer.generation import Draft, condense
from rag.answer.model import Mode
from rag.core.models import SearchResult
from rag.core.text import BULLET, STEERING, Span, content_tokens, display, sentences
from rag.index.cards import ASKS_METADATA, DOCUMENT_WORDS, asked_fields, card_field, is_card
from rag.index.embeddings import MiniLMEmbeddings

# Within one list item or line, a sentence ends where a capitalised word follows a full stop.
SUB_SENTENCE = re.compile(r"(?<=[a-z0-9)”’\"][.!?])\s+(?=[A-Z“‘\"])")
TERMINAL = re.compile(r"[.!?][\"”’)\]]*\s*$|[a-z0-9)”’]\s*$")
# A sentence that opens by leaning on the one before it ("It involves", "By doing this", "Consequently").
OPENS_WITH_REFERENCE = re.compile(
    r"^(?:[•\-–—*·▪]\s*)?(?:this|these|those|such|it|its|they|their|them|that|he|she|his|her|both|"
    r"by doing (?:this|so)|consequently|as a result|thus|therefore|in contrast|likewise|in effect)\b"
    r"(?! (?:paper|report|book|abstract|post|address|speech|study|article|essay)\b)",
    re.IGNORECASE,
)
# ... or that leans on it further in ("the evidence for such claims").
POINTS_BACK = re.compile(OPENS_WITH_REFERENCE.pattern + r"|\bsuch (?!as\b|a\b|an\b)[a-z]+", re.IGNORECASE)
# A connective that relates a sentence to the one before but names its own subject ("In contrast, the
# second case focuses ...") reads on its own; one followed by a pronoun ("Consequently it offers") does not.
SELF_STANDING = re.compile(
    r"^(?:[•\-–—*·▪]\s*)?(?:consequently|as a result|thus|therefore|in contrast|likewise|in effect),?\s+"
    r"(?!(?:this|these|those|such|it|its|they|their|them|that|he|she|his|her|both)\b)(?:(?:the|a|an)\b|(?-i:[A-Z]))",
    re.IGNORECASE,
)


def needs_antecedent(sentence: str) -> bool:
    """A sentence whose meaning depends on the sentence before it ("By doing this, ...", "such claims")."""
    text = display(sentence)
    return bool(POINTS_BACK.search(text[:60])) and not SELF_STANDING.match(text)


MODAL = re.compile(
    r"\b(?:should|must|need to|needs to|has to|have to|will need to|ought to|let's|let us|requires?|is crucial|"
    r"are crucial|is key|are key)\b",
    re.I,
)
IMPERATIVE = re.compile(
    r"^(?:[•\-–—*·▪]\s*)?[“‘\"]?(?:recognise|recognize|leverage|use|using|create|creating|build|develop|have|give|"
    r"set up|encourage|support|make|provide|invest|pass|start|put|bring|focus|involve|engage|fund|offer)\b",
    re.IGNORECASE,
)
SUGGESTING = re.compile(r"\b(?:suggest\w*|recommend\w*|interest\w*|improv\w*|steps?|ways?|should|tips|ideas)\b", re.I)
ACTION = re.compile(
    r"\b(set up|established?|launched|ran|runs|asked|gave|created|founded|funded|took|taken|works? with|"
    r"looks? at|commissioned|partnered|opened|formed|signed|built|building|released|piloted|example)\b",
    re.IGNORECASE,
)
NAME = re.compile(r"(?:[A-Z][\w’'&.-]*[A-Za-z](?:\s+(?:of|and|for|the|de|&)\s+|\s+)){1,5}[A-Z][\w’'&.-]*[A-Za-z]")
QUOTED_NAME = re.compile(r"[‘“'\"]([A-Z][\w-]{1,30}(?: [\w-]{1,20}){0,3})[’”'\"]")
GENERIC_NAMES = {"The Report", "The", "This", "Our", "In", "It", "Big Society", "Public Managers", "Government"}
NOT_A_NAME_START = {"The", "This", "Our", "A", "An", "In", "It", "But", "And", "Now", "So", "Today", "Tonight"}


TWIN = 0.8  # two documents' sentences this close say the same thing (measured: no other pair of seeds has one)


@dataclass(frozen=True)
class Weights:
    """How a sentence's score is made: similarity to the question, IDF-weighted word overlap, and a
    penalty for closeness to the library's mean vector (a sentence that fits every question); then
    small bonuses for a sentence of the kind the question asks for (capped), and a penalty that
    takes a sentence out of the running. Recorded in every evaluation's manifest."""

    dense: float = 0.55
    lexical: float = 0.45
    generic: float = 0.2
    gives: float = 0.06  # states what the question asks for (a person, a figure, a date ...)
    defines: float = 0.06  # defines the term a definition question asks about
    action: float = 0.08  # how-to: recommends or describes an action
    case: float = 0.08  # precedent: names a case
    bonus_cap: float = 0.12
    card_field: float = 0.1  # a document card: the field asked for (+), another one (-)
    card_named: float = 0.8  # a card must name the document at least this share as well as the best card
    excluded: float = 1.0  # subtracted from a sentence that must not be chosen


W = Weights()


DEFINITION_Q = re.compile(
    r"\bwhat (?:is|are|was|were)\b(?! the (?:difference|role))|\bmean(?:s|t|ing)?\b|\bdefin\w*|\bexplain\b|"
    r"\bdescribed? as\b|\bcounts? as\b",
    re.IGNORECASE,
)
DEFINING = re.compile(
    r"\b(?:is|are|means|refers to|calls for|describes|represents|involves|is about|is one that|focuses|looks to)\b",
    re.IGNORECASE,
)
NAMES = re.compile(r"(?:[A-Z][\w’'&-]*(?:\s+(?:of\s+)?[A-Z][\w’'&-]*)*)")


CONTRAST = (
    re.compile(r"\bdifference between (?:the )?(.+?) and (?:the )?(.+?)(?:\?|$| in | according)", re.I),
    re.compile(
        r"\b(?:how (?:do|does|is|are) )?(?:the )?(.+?) (?:differ|different) from (?:the )?(.+?)"
        r"(?:\?|$| in | according)",
        re.I,
    ),
    re.compile(r"\b(.+?) (?:vs\.?|versus|compared (?:with|to)) (?:the )?(.+?)(?:\?|$)", re.I),
    re.compile(r"\bseparates? (.+?) from (?:a |the )?(.+?)(?:\?|$)", re.I),
    re.compile(r"\b(?:on|by|to) (.+?) or (?:on |by |to )?(.+?)(?:\?|$)", re.I),
)


def contrast_terms(question: str) -> tuple[str, str] | None:
    """The two things a contrast question sets against each other, as the user wrote them."""
    for pattern in CONTRAST:
        m = pattern.search(question)
        if m and content_tokens(m.group(1)) and content_tokens(m.group(2)):
            a = re.sub(r"(?i)^(?:what (?:is|are) |how (?:do|does) |is it better to |the )", "", m.group(1)).strip()
            return a, m.group(2).strip()
    return None


def scoring_query(question: str, sources: list[SearchResult]) -> str:
    """The question without the names of the documents it is asked of ("according to the Open Book",
    "in his 2013 address" by Obama): every sentence of that document shares them, so they cannot
    tell the sentence that answers from the one that does not."""
    titles = " ".join(f"{s.title} {s.metadata.get('about', '')} {' '.join(s.metadata.get('authors') or [])}"
                      for s in sources).lower()  # fmt: skip
    kept = question
    for m in NAMES.finditer(question):
        name = m.group(0)
        if len(name) > 2 and m.start() > 0 and all(w.lower() in titles for w in re.findall(r"\w+", name)):
            kept = kept.replace(name, " ")
    return " ".join(kept.split()) if content_tokens(kept) else question


def defines(sentence: str, terms: frozenset[str]) -> bool:
    """A sentence that opens with the asked-about term and says what it is."""
    head = " ".join(display(sentence).split()[:8])
    return bool(terms & content_tokens(head)) and bool(DEFINING.search(display(sentence)))


def is_action(text: str, lead_in: str = "") -> bool:
    """A sentence that recommends or describes doing something: a how-to step."""
    if MODAL.search(text) or IMPERATIVE.search(text):
        return True
    if BULLET.match(text):
        body = BULLET.sub("", text).lstrip('“‘"')
        return bool(SUGGESTING.search(lead_in)) or bool(body[:1].islower() or re.match(r"\w+ing\b", body))
    return False


def case_name(sentence: str) -> str | None:
    """The name of the case a sentence says did something, as the text gives it: a quoted name
    ("‘A-teams’"), or the proper-noun phrase nearest the action verb. None without an action."""
    body = display(sentence)
    verbs = [m.start() for m in ACTION.finditer(body)]
    if not verbs:
        return None
    quoted = QUOTED_NAME.search(body)
    if quoted:
        return quoted.group(1)
    names = []
    for m in NAME.finditer(body):
        words = re.sub(r"[’']s$", "", m.group(0).strip(" .,;:’'")).split()
        while words and words[0] in NOT_A_NAME_START:
            words = words[1:]
        name = " ".join(words)
        if len(words) >= 2 and name not in GENERIC_NAMES:
            names.append((min(abs(m.start() - v) for v in verbs), name))
    return min(names)[1] if names else None


@dataclass
class Candidate:
    source: int  # 1-based
    span: Span  # offsets within the source chunk's text
    order: int  # position in the document
    context: str = ""  # the lead-in line ("... for civil servants:") a list item sits under
    score: float = 0.0
    antecedent: Span | None = None  # the sentence before, for one that points back to it
    card: str | None = None  # the field a sentence of a document's card (its front matter) states
    names: str = ""  # for a card sentence: its document's title (and what it is about)


def _pieces(span: Span) -> list[Span]:
    """A segment split at full stops inside it (a list item can hold three sentences)."""
    out, start = [], 0
    for m in SUB_SENTENCE.finditer(span.text):
        out.append(Span(span.text[start : m.start()], span.start + start, span.start + m.start()))
        start = m.end()
    out.append(Span(span.text[start:], span.start + start, span.end))
    return [p for p in out if p.text.strip()]


class ExtractiveGenerator:
    """Query-focused extraction: score sentences, lead with the best, add only near-equals, render by mode."""

    name = "extractive"
    verbatim = True

    def __init__(
        self,
        embeddings: MiniLMEmbeddings,
        max_sentences: int = 5,
        min_score: float = 0.15,
        mmr_lambda: float = 0.7,
        relative_floor: float = 0.8,
        idf: Callable[[str], float] | None = None,
        centroid: Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.relative_floor = relative_floor
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.mmr_lambda = mmr_lambda
        self.idf = idf
        self.centroid = centroid

    def candidates(self, sources: list[SearchResult]) -> list[Candidate]:
        out: list[Candidate] = []
        for n, src in enumerate(sources, start=1):
            lead_in = ""
            previous: Span | None = None
            for segment in sentences(src.text):
                if segment.text.rstrip().endswith(":"):
                    lead_in = display(segment.text)
                elif not BULLET.match(segment.text):
                    lead_in = ""
                for span in _pieces(segment):
                    before, previous = previous, span
                    words = len(span.text.split())
                    text = span.text.rstrip()
                    if words < 5 or words > 90 or text.endswith((":", "?", "…")) or not TERMINAL.search(text):
                        continue  # a title, heading or lead-in line, not a statement
                    if span.text.lstrip().startswith("#") or STEERING.search(span.text):
                        continue
                    antecedent = None
                    if needs_antecedent(span.text):
                        if before is None or before.text.lstrip().startswith("#"):
                            continue  # "By doing this, ..." with nothing before it: no use alone
                        if OPENS_WITH_REFERENCE.match(display(before.text)):
                            continue  # "It involves ..." after "It represents ...": the referent is further back
                        antecedent = before
                    order = src.locate(span.start, span.end)[0]
                    field = card_field(src.metadata, span.start, span.end) if is_card(src.metadata) else None
                    names = f"{src.title} {src.metadata.get('about', '')}" if field else ""
                    out.append(Candidate(n, span, order, lead_in, antecedent=antecedent, card=field, names=names))
        # The same sentence can sit in two overlapping chunks: keep its first (best-ranked) copy.
        seen: set[tuple[str, int]] = set()
        unique = []
        for c in out:
            key = (sources[c.source - 1].doc_id, c.order)
            if key not in seen:
                seen.add(key)
                unique.append(c)
        return unique

    def _overlap(self, question: str | frozenset[str], text: str) -> float:
        q = content_tokens(question) if isinstance(question, str) else question
        if not q:
            return 0.0
        shared = q & content_tokens(text)
        if self.idf is None:
            return len(shared) / len(q)
        return sum(self.idf(t) for t in shared) / sum(self.idf(t) for t in q)

    @staticmethod
    def reading(c: Candidate) -> str:
        """What a candidate says, as scored: with its lead-in and the sentence it points back to."""
        before = display(c.antecedent.text) if c.antecedent else ""
        return " ".join(x for x in (c.context, before, display(c.span.text)) if x)

    def score(
        self, question: str, cands: list[Candidate], mode: Mode, about: frozenset[str] = frozenset()
    ) -> np.ndarray:
        """Each candidate's score (set on it); the readings' vectors. ``about``: the names a follow-up
        asks about ("And Bogotá?"), which a sentence must mention to answer it."""
        texts = [self.reading(c) for c in cands]
        vecs = self.embeddings.embed_cached([question, *texts])
        sims = vecs[1:] @ vecs[0]
        centre = self.centroid() if self.centroid else None
        generic = vecs[1:] @ centre if centre is not None else np.zeros(len(cands))
        asks = [a for a in ATTRIBUTES if a.trigger.search(question)]
        term = content_tokens(" ".join(re.findall(r"['‘“\"]([^'’”\"]{3,40})['’”\"]", question))) or content_tokens(
            question
        )
        definition = mode is Mode.explain and bool(DEFINITION_Q.search(question))
        about_documents, fields = bool(ASKS_METADATA.search(question)), asked_fields(question)
        # A question that names a document ("the post on business, society ...") is answered by that
        # document's card only; one that names none ("which are blogs?") by every card.
        subject = content_tokens(ASKS_METADATA.sub(" ", question)) - DOCUMENT_WORDS
        named = {i: self._overlap(subject, c.names) if subject else 1.0 for i, c in enumerate(cands) if c.card}
        best_named = max(named.values(), default=0.0)
        for i, c in enumerate(cands):
            own = display(c.span.text)
            if c.card:  # who wrote a document, and when, answers only a question about the document
                c.score = float(W.dense * sims[i] + W.lexical * self._overlap(question, texts[i]))
                if not about_documents or not named[i] or named[i] < W.card_named * best_named:
                    c.score -= W.excluded
                else:
                    c.score += W.card_field if c.card in fields else -W.card_field if fields else 0.0
                continue
            bonus = W.gives * sum(bool(a.gives.search(own)) for a in asks) - W.generic * float(generic[i])
            if definition and defines(own, term):
                bonus += W.defines
            if mode is Mode.howto and is_action(c.span.text, c.context):
                bonus += W.action
            if mode is Mode.precedent and case_name(own):
                bonus += W.case
            c.score = float(W.dense * sims[i] + W.lexical * self._overlap(question, texts[i]) + min(bonus, W.bonus_cap))
            if about and not about & content_tokens(fold(texts[i])):
                c.score -= W.excluded  # a follow-up that names its subject is answered by sentences that name it
        return vecs[1:]

    @staticmethod
    def twins(cands: list[Candidate], vecs: np.ndarray, sources: list[SearchResult]) -> dict[int, int]:
        """Sentences of two documents that say the same thing (one document rewords the other):
        copy index → original index. The copy is an undated document; the original, the dated
        (earlier), attributed one."""

        def origin(c: Candidate) -> tuple[str, int, str]:
            meta = sources[c.source - 1].metadata
            return str(meta.get("date") or "9999"), 0 if meta.get("authors") else 1, sources[c.source - 1].doc_id

        out: dict[int, int] = {}
        if len(cands) < 2:
            return out
        sims = vecs @ vecs.T
        for i, j in zip(*np.nonzero(np.triu(sims, 1) >= TWIN), strict=True):
            a, b = cands[i], cands[j]
            if a.card or b.card or sources[a.source - 1].doc_id == sources[b.source - 1].doc_id:
                continue
            copy, original = (int(i), int(j)) if origin(a) > origin(b) else (int(j), int(i))
            if origin(cands[copy])[0] != "9999":
                continue  # two dated documents saying the same (a speech repeating last year's line) are two sources
            out.setdefault(copy, original)
        return out

    def without_copies(
        self, cands: list[Candidate], vecs: np.ndarray, sources: list[SearchResult]
    ) -> tuple[list[Candidate], np.ndarray]:
        """The candidates with each reworded copy folded into its original (which keeps the better score)."""
        copies = self.twins(cands, vecs, sources)
        for copy, original in copies.items():
            cands[original].score = max(cands[original].score, cands[copy].score)
        keep = [i for i in range(len(cands)) if i not in copies]
        return [cands[i] for i in keep], vecs[keep]

    def select(
        self, cands: list[Candidate], vecs: np.ndarray, limit: int, floor_ratio: float | None = None
    ) -> list[Candidate]:
        chosen: list[int] = []
        best_score = max((c.score for c in cands), default=0.0)
        floor = max(self.min_score, (floor_ratio or self.relative_floor) * best_score)  # no padding with weak ones
        pool = [i for i, c in enumerate(cands) if c.score >= floor]
        while pool and len(chosen) < limit:

            def mmr(i: int) -> float:
                redundancy = max((float(vecs[i] @ vecs[j]) for j in chosen), default=0.0)
                return self.mmr_lambda * cands[i].score - (1 - self.mmr_lambda) * redundancy

            best = max(pool, key=mmr)
            pool.remove(best)
            if any(float(vecs[best] @ vecs[j]) > 0.9 for j in chosen):
                continue  # a near-duplicate (e.g. the re-worded copy of a report summary)
            chosen.append(best)
        return [cands[i] for i in chosen]

    def focus(self, question: str, sources: list[SearchResult], mode: Mode, limit: int) -> dict[int, str]:
        """The ``limit`` sentences of ``sources`` that bear most on the question, per source number,
        in document order (with a list item's lead-in line): the context an LLM is given.

        A small model reads a few relevant sentences faster and strays less than it does over whole
        passages; every sentence is verbatim source text, so verification is unchanged.
        """
        cands = self.candidates(sources)
        if not cands:
            return {}
        vecs = self.score(scoring_query(question, sources), cands, mode)
        cands, _ = self.without_copies(cands, vecs, sources)
        best = sorted(cands, key=lambda c: -c.score)[:limit]
        lines: dict[int, list[str]] = {}
        for c in sorted(best, key=lambda c: (c.source, c.order)):
            out = lines.setdefault(c.source, [])
            for text in (c.context, display(c.antecedent.text) if c.antecedent else ""):
                if text and text not in out:
                    out.append(text)
            out.append(display(c.span.text))
        return {n: "\n".join(text) for n, text in sorted(lines.items())}

    def condense(self, question: str, history: list[dict[str, str]] | None) -> str:
        return condense(question, history)

    def stream(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Iterator[str]:
        yield self.generate(question, sources, mode, history).text

    def generate(
        self, question: str, sources: list[SearchResult], mode: Mode, history: list[dict[str, str]] | None = None
    ) -> Draft:
        cands = self.candidates(sources)
        if not cands:
            return Draft("", mode)
        query = condense(question, history)
        about = frozenset(subject_names(question)) if query != question else frozenset()  # a follow-up's own subject
        vecs = self.score(scoring_query(query, sources), cands, mode, about)
        cands, vecs = self.without_copies(cands, vecs, sources)
        if mode is Mode.howto:
            steps = [i for i, c in enumerate(cands) if is_action(c.span.text, c.context)]
            picked = self.select([cands[i] for i in steps], vecs[steps], self.max_sentences + 1, 0.8) if steps else []
            if picked:
                used: set[tuple[int, int]] = set()
                said = [s for c in picked if (s := self._said(c, used))]
                return Draft("\n".join(f"{i}. {s}" for i, s in enumerate(said, start=1)), mode)
            mode = Mode.explain
        terms = contrast_terms(question) if mode is Mode.explain else None
        if terms:
            return self._contrast(terms, cands, vecs, mode)
        if mode is Mode.precedent:
            picked = self.select(cands, vecs, self.max_sentences, 0.75)
            named = [c for c in picked if case_name(c.span.text)]
            if named:  # a precedent answer is its cases; a general sentence stays only if it outranks them
                best_case = max(c.score for c in named)
                picked = [c for c in picked if c in named or c.score >= best_case]
            entries: dict[str, list[Candidate]] = {}
            for c in picked:
                entries.setdefault(case_name(c.span.text) or f"#{c.order}", []).append(c)
            used = set()
            lines = []
            for name, group in entries.items():
                quoted = " ".join(s for c in group if (s := self._said(c, used)))
                if quoted:
                    lines.append(f"- {'' if name.startswith('#') else f'**{name}**: '}{quoted}")
            return Draft("\n".join(lines), mode)
        picked = self._ordered(self.select(cands, vecs, min(self.max_sentences, 3)))
        used = set()
        return Draft(" ".join(s for c in picked if (s := self._said(c, used))), mode)

    def _contrast(self, terms: tuple[str, str], cands: list[Candidate], vecs: np.ndarray, mode: Mode) -> Draft:
        """One part per term, each the best sentences that speak of that term."""
        used: set[tuple[int, int]] = set()
        lines = []
        a, b = content_tokens(terms[0]), content_tokens(terms[1])
        for term, tokens in zip(terms, (a - b or a, b - a or b), strict=True):  # what tells the two apart
            about = [i for i, c in enumerate(cands) if tokens & content_tokens(self.reading(c))]
            picked = self.select([cands[i] for i in about], vecs[about], 2, 0.85) if about else []
            said = " ".join(s for c in picked if (s := self._said(c, used)))
            if said:
                lines.append(f"- **{term[0].upper() + term[1:]}**: {said}")
        if len(lines) < 2:  # the library speaks of one side only: answer as a brief instead
            picked = self.select(cands, vecs, min(self.max_sentences, 3))
            used = set()
            return Draft(" ".join(s for c in picked if (s := self._said(c, used))), mode)
        return Draft("\n".join(lines), mode)

    @staticmethod
    def _ordered(picked: list[Candidate]) -> list[Candidate]:
        """A sentence that points back follows the sentence it points to when both are picked, so
        "It looks to ..." is never read after some other sentence."""
        out = [c for c in picked]
        for c in picked:
            a = c.antecedent
            host = next((p for p in out if a is not None and p.source == c.source and p.span.start == a.start), None)
            if host is not None:
                out.remove(c)
                out.insert(out.index(host) + 1, c)
        return out

    @staticmethod
    def _said(c: Candidate, used: set[tuple[int, int]]) -> str:
        """The candidate as the answer quotes it: the sentence it points back to first, each cited
        once (a sentence already quoted, as another's antecedent or on its own, is not repeated)."""
        out = []
        for span in (c.antecedent, c.span):
            if span is not None and (c.source, span.start) not in used:
                used.add((c.source, span.start))
                out.append(f"{display(span.text)} [{c.source}]")
        return " ".join(out)
