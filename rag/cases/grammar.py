"""Where a name stands in its sentence: the subject or the object of an action, an example of an
undertaking, or a kind of thing. The case rules read a name by its place in the sentence, not by
whether some verb or capitalised word occurs anywhere in it (which listed every tool and office)."""

from __future__ import annotations

import re
from collections import Counter

from rag.cases.model import Mention
from rag.cases.names import ACTION

# What a case is an instance of: an undertaking ("initiatives such as X", "the C2 project").
UNDERTAKING_WORDS = r"fund|scheme|programme|program|project|initiative|pilot|campaign|partnership"
UNDERTAKING = re.compile(rf"\b(?:{UNDERTAKING_WORDS})s?\b", re.IGNORECASE)
KIND = rf"{UNDERTAKING_WORDS}|approach|model"  # "the X approach": a name's kind
# An example of a kind ("such as X", "like X", "e.g. X") is a case when what it exemplifies, or the
# name itself, is an undertaking ("initiatives such as X", "a fund, like X", "like the X Programme").
EXAMPLE = re.compile(
    r"\b(?:examples? (?:include|of|is|are)|such as|(?<!sectors )(?<!areas )(?<!fields )(?<!industries )like|e\.g\.)"
    r"\s+",
    re.IGNORECASE,
)
# Between a name and the action it is the subject of: its kind ("the X approach"), the names it is
# coordinated with ("X and the Y set up"), an acronym in brackets or a link's markup, then a relative
# pronoun ("X, which was set up"), auxiliaries and adverbs ("has recently launched"); a lower-case word
# of any other kind ends it.
SUBJECT_GAP = re.compile(
    rf"(?:\s+(?:{KIND})s?\b)?"
    r"(?:[\s\[\]*_]|\]\([^)\s]*\)|\([A-Z][\w.&-]*\)|\b[A-Z][\w.’'&-]*|\b(?:of|the)\b|"
    r"(?:\band\b|&|,)(?=\s+(?:the\s+)?\[?[A-Z]))*"
    r",?\s*(?:\b(?:which|that|who)\s+)?(?:\b(?:has|have|had|is|are|was|were|been|be|will|also|[a-z]+ly)\s+)*\[?\s*"
)
# A name after a preposition ("During the Great Depression, America built") is not the subject.
AFTER_PREPOSITION = re.compile(
    r"\b(?:in|on|at|of|for|from|to|with|by|during|over|under|above|below|after|before|since|through|across|into|"
    r"onto|about|between|among|around|against|near|within|without|toward|towards|upon|via)\s+(?:the\s+)?[\[*_‘“'\"]*$",
    re.IGNORECASE,
)
# Between an action and the name it acts on ("set up the X", "funded X"): an article, a particle, markup.
OBJECT_GAP = re.compile(r"(?:[\s\[*_‘“'\"]|\b(?:the|its|their|his|her|our|up)\b)*")
# A paper's own numbered case ("The first case works with ...").
ORDINAL = re.compile(r"\b[Tt]he (?:first|second|third|fourth|fifth) (?:case|example|project|scheme|pilot)\b")
NEAR = 80  # characters from a name to the action it is the subject of
# "an Interagency Agreement", "another Framework Contract": a kind of thing written in capitals, not one named case.
INDEFINITE = re.compile(r"\b(?:an?|another|any|each|every)\s+[\[*_‘“'\"]*$", re.IGNORECASE)
LEAD_IN = re.compile(r"(?:[\s\[*_‘“'\"]|\bthe\b)*")  # "such as the [X": what comes before the example's name


def acted_on(text: str, s: int, e: int) -> bool:
    """The sentence says the name at ``s:e`` did something ("X and the Y set up", "X, which has
    launched") or had it done to it ("funded the X"): an action next to the name, not anywhere in
    the sentence. "Example" is a noun here ("For example, X"), and "look at X" is said to a reader."""
    subject = not AFTER_PREPOSITION.search(text, 0, s)
    for m in ACTION.finditer(text):
        if m.group(0).lower() in ("example", "look at"):
            continue
        if subject and e <= m.start() <= e + NEAR and SUBJECT_GAP.fullmatch(text, e, m.start()):
            return True
        if m.end() <= s and OBJECT_GAP.fullmatch(text, m.end(), s):
            return True
    return False


def points_back(m: Mention, series: Counter[str]) -> bool:
    """ "In the first example, ..." points at the text before it: an ordinal after a preposition,
    in a document that counts no second of its kind. "The first case works with ..." is a case."""
    if not ORDINAL.fullmatch(m.name) or series[m.name.split()[-1].lower()] > 1:
        return False
    at = m.sentence.quote.find(m.name)
    return at >= 0 and bool(AFTER_PREPOSITION.search(m.sentence.quote, 0, at))
