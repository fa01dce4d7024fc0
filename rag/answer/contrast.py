"""Contrast questions: the two things a question sets against each other, and whether the
passages set them apart or define each. Used by the extractive composer (one part per term) and by
coverage (a pair the library never contrasts is named as not stated)."""

from __future__ import annotations

import re

from rag.answer.sentences import defines
from rag.core.text import content_tokens, tokenize

CONTRAST = (
    re.compile(r"\bdifference between (?:the )?(.+?) and (?:the )?(.+?)(?:\?|$| in | according)", re.I),
    re.compile(
        r"\b(?:how (?:do|does|is|are) )?(?:the )?(.+?) (?:differ|different) from (?:the )?(.+?)"
        r"(?:\?|$| in | according)",
        re.I,
    ),
    re.compile(r"^how (?:do|does|did) (?:the )?(.+?) and (?:the )?(.+?) differ\b", re.I),
    re.compile(
        r"^(?:is|are|was|were) (?:the )?(.+?) (?:the same (?:thing )?as|(?:just )?another (?:name|word) for|"
        r"identical to) (?:the )?(.+?)(?:\?|$| in | according)",
        re.I,
    ),
    re.compile(r"\b(.+?) (?:vs\.?|versus|compared (?:with|to)) (?:the )?(.+?)(?:\?|$)", re.I),
    re.compile(r"\b(?:separates?|distinguish(?:es)?) (.+?) from (?:a |the )?(.+?)(?:\?|$)", re.I),
    re.compile(r"\b(?:on|by|to) (.+?) or (?:on |by |to )?(.+?)(?:\?|$)", re.I),
)


def contrast_terms(question: str) -> tuple[str, str] | None:
    """The two things a contrast question sets against each other, as the user wrote them."""
    for pattern in CONTRAST:
        m = pattern.search(question)
        if m and content_tokens(m.group(1)) and content_tokens(m.group(2)):
            a = re.sub(
                r"(?i)^(?:what (?:is|are) |how (?:do|does) |is it better to |(?:is|are) (?:the )?|the )", "", m.group(1)
            ).strip()
            return _elided(a, m.group(2).strip())
    return None


ORDINAL_WORD = re.compile(r"^(?:the )?(first|second|third|other|former|latter)$", re.IGNORECASE)


def _elided(a: str, b: str) -> tuple[str, str]:
    """ "the second social enterprise ... from the first": the bare ordinal takes the other's noun, as
    does "one" ("a citizen centric service ... a product-focused one")."""
    for x, y, swap in ((a, b, False), (b, a, True)):
        full = None
        if (bare := ORDINAL_WORD.match(x)) and (m := re.match(r"(?i)(?:the )?(?:first|second|third|other) (.+)", y)):
            full = f"{bare.group(1)} {m.group(1)}"
        elif (one := re.match(r"(?i)(.+?)\s+ones?$", x)) and len(y.split()) > 1 and content_tokens(one.group(1)):
            full = f"{one.group(1)} {y.split()[-1]}"
        if full:
            return (y, full) if swap else (full, y)
    return a, b


CONTRAST_CUE = re.compile(
    r"\b(?:differ\w*|distinct\w*|unlike|whereas|rather than|instead of|in contrast|contrast\w*|compared|versus|"
    r"than|while|whilst|but)\b",
    re.IGNORECASE,
)


def explicit_contrast(question: str) -> tuple[str, str] | None:
    """The two terms of a question that asks outright how they differ ("the difference between X
    and Y", "X differ from Y", "how do X and Y differ?", "X versus Y"); not the looser "X or Y?"."""
    for pattern in CONTRAST[:5]:
        m = pattern.search(question)
        if m and content_tokens(m.group(1)) and content_tokens(m.group(2)):
            return contrast_terms(question)
    return None


def contrasted(terms: tuple[str, str], sentences: list[str]) -> bool:
    """Do ``sentences`` set the two terms against each other (one sentence naming both with a
    contrasting word), or define each (a sentence opening with it that says what it is)?"""
    a, b = _apart(terms)
    for text in sentences:
        words = content_tokens(text)
        if a <= words and b <= words and CONTRAST_CUE.search(text):
            return True
        if (a <= words or b <= words) and re.match(r"(?i)\W*(?:in contrast|by contrast|unlike|whereas)\b", text):
            return True  # "In contrast, the second case ...": set against the one before it (a term named whole)
    # each defined outright (a gloss in passing, "shared spaces – physical and virtual –", sets nothing apart)
    return all(any(defines(t, term, whole=True, gloss=False) for t in sentences) for term in (a, b))


STRONG_CONTRAST = re.compile(
    r"\b(?:rather than|instead of|in contrast|by contrast|unlike|whereas|differ\w*|distinct\w*|versus)\b", re.I
)


def sets_apart(terms: tuple[str, str], sentences: list[str]) -> bool:
    """Does one of ``sentences`` set the terms apart outright ("an active, relational ... rather than
    transactional orientation")? A term may be named by the first word that tells it from the other
    ("relational and transactional approaches to service users" carries the pair's shared noun)."""
    a, b = _apart(terms)
    heads = [next((t for t in tokenize([term])[0] if t in side), "") for term, side in zip(terms, (a, b), strict=True)]
    for text in sentences:
        words = content_tokens(text)
        if (a <= words or heads[0] in words) and (b <= words or heads[1] in words) and STRONG_CONTRAST.search(text):
            return True
    return False


def _apart(terms: tuple[str, str]) -> tuple[frozenset[str], frozenset[str]]:
    """Each term's words that tell it from the other."""
    a, b = content_tokens(terms[0]), content_tokens(terms[1])
    return (a - b or a), (b - a or b)
