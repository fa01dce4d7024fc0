"""The slices of one sentence that say who ran a case, what was done, how it was paid for and
what came of it: each a verbatim ``(start, end)`` of the sentence, trimmed of punctuation only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.cases.names import ACTION, GENERIC_NAMES, NOT_A_NAME_START
from rag.core.text import BULLET

Slice = tuple[int, int]

PHRASE = re.compile(r"(?:[A-Z][\w’'&.-]*[A-Za-z](?:\s+(?:of|and|for|the|de|&)\s+|\s+)){0,5}[A-Z][\w’'&.-]*[A-Za-z]")

CONTRACTION = re.compile(r"[A-Z][a-z]*(?:[’'](?:m|re|ve|ll|d|s)|n[’']t)$")  # "I'm", "Let's", "Don't"
# A capitalised word that opens a sentence or clause, not a name ("During the Great Depression").
LEADING = NOT_A_NAME_START | {
    "During", "From", "Instead", "As", "After", "Before", "When", "While", "If", "For", "With", "Since", "Under",
    "Over", "Through", "Yet", "Then", "Here", "There", "We", "I", "You", "They", "He", "She", "Let", "Last",
    "Next", "Every", "Each", "All", "Some", "Many", "Most", "Both", "That", "What", "Who", "Why", "How", "Of",
    "To", "On", "At", "By", "Or", "Nor", "Not", "No", "Yes", "Like", "Members", "Thank", "Today", "Tonight",
    "Outside", "Inside", "Across", "Around", "Among", "Beyond", "Without", "Within", "Against", "Because",
    "Although", "Though", "Unless", "Until", "Whether", "Once", "Just", "Even", "Only", "So",
}  # fmt: skip

FUNDING = (
    re.compile(r"[£$€]\s?\d[\d,.]*\s?(?:m|bn|k|million|billion)?\b"),
    re.compile(
        r"\b(?:(?!with\b|and\b|by\b|of\b)[a-z][\w-]*\s){0,2}(?:funding|grants?|money|investment) from "
        r"(?:the\s+)?[A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*"
    ),
    re.compile(r"\b(?:funded|paid for|financed|backed) by (?:the\s+)?[A-Z][\w&-]*(?:\s+[A-Z][\w&-]*)*"),
    re.compile(r"\bincome is (?:earnt|earned|raised|generated|made) [^.;]*"),
)
OUTCOME = (
    re.compile(r"\b(?:has |have )?successfully [^,.;!?]*"),
    re.compile(r"\b\d[\d,.]*\s+(?:people\s+|residents\s+|citizens\s+)?(?:gave|joined|donated|took part|signed up)\b"),
    re.compile(r"\b(?:resulted in|led to|helped to)\s[^,.;!?]*"),
    re.compile(r"\b(?:both )?(?:enhanced|improved|increased|reduced|saved|doubled|halved)\s[^,.;!?]*"),
)
CLAUSE_END = re.compile(r"[;.!?”]|\s[–—]\s|,\s(?:but|and|which)\b")
PLACE_OF_WHO = re.compile(
    r"\b([A-Z][\w-]+(?: [A-Z][\w-]+)?) (?:City|County|Borough|District|Town|Metropolitan) Council\b"
)
OF_WHO = re.compile(r"^[’”'\"]?\s+of\s+([a-z][a-z ]*?)(?=\s+[a-z]+ed\b)")  # "‘A-teams’ of young civil servants"
BY_WHO = re.compile(r"\b(?:set up|run|led|launched|founded|established|commissioned|created|piloted) by (?:the )?")
VERB_AFTER = re.compile(r"^\s+(?:has\s+|have\s+|had\s+)?(?!is\b|was\b|are\b|were\b|has\b)([a-z]+(?:s|ed))\b")
WHAT_BEFORE = (re.compile(r"(?:,\s*)?(?:like|such as|e\.g\.|for example)\s+(?:the\s+)?$"), re.compile(r"\s*\($"))
SEEN_IN = re.compile(r"((?:a|an) [^,;:]*?(?:\([^)]*\))?),? (?:seen|found) in (?:the\s+)?$")


@dataclass
class Found:
    """A case named in a sentence, with the slices (sentence offsets) that describe it."""

    name: Slice
    at: int
    who: list[Slice] = field(default_factory=list)
    where: list[Slice] = field(default_factory=list)
    what: list[Slice] = field(default_factory=list)
    funding: list[Slice] = field(default_factory=list)
    outcome: list[Slice] = field(default_factory=list)
    aliases: list[Slice] = field(default_factory=list)


def trim(text: str, s: int, e: int) -> Slice:
    """``(s, e)`` without surrounding blanks, dashes, quote marks or closing punctuation; a quote
    mark that opens a word the slice closes ("‘virtual’ back office") stays."""
    while s < e and text[s] in " \t\n\xa0–—-•,:“‘\"'(":
        s += 1
    while e > s and text[e - 1] in " \t\n\xa0,;:.!?–—”’\"')":
        e -= 1
    if s > 0 and text[s - 1] in "‘“" and ("’" if text[s - 1] == "‘" else "”") in text[s:e]:
        s -= 1
    for opening, closing in ("‘’", "“”", "()"):
        while e < len(text) and text[e] == closing and text.count(opening, s, e) > text.count(closing, s, e):
            e += 1
    return s, e


def clause(text: str, s: int) -> Slice:
    m = CLAUSE_END.search(text, s)
    return trim(text, s, m.start() if m else len(text))


def name_in(text: str, s: int, e: int) -> Slice | None:
    """The phrase without a leading "The"/"In", or None when what is left is no name."""
    words = [(w.start() + s, w.end() + s) for w in re.finditer(r"\S+", text[s:e])]
    while words and (
        text[words[0][0] : words[0][1]] in LEADING
        or CONTRACTION.match(text, words[0][0], words[0][1])
        or text[words[0][0]].islower()  # "of" left behind by "Instead of Americans"
    ):
        words = words[1:]
    if not words:
        return None
    name = text[words[0][0] : words[-1][1]]
    return None if name in GENERIC_NAMES else (words[0][0], words[-1][1])


def action_clause(text: str, at: int) -> Slice:
    """The clause around the action verb after ``at`` ("apparently the Mayor of Bogota asked")."""
    verb = ACTION.search(text, at)
    start = max(text.rfind(",", 0, at), text.rfind("–", 0, at)) + 1
    return clause(text, start) if verb is None else trim(text, start, verb.end())


def describe(text: str, f: Found) -> None:
    """What the sentence says the case did, who with, how it was paid for and what came of it."""
    e = f.name[1]
    after = text[e:]
    if not f.what:
        of = OF_WHO.match(after)
        if of:
            f.who.append((e + of.start(1), e + of.end(1)))
        _what_after(text, f, e + (of.end() if of else 0))
    for pattern in FUNDING:
        f.funding += [trim(text, m.start(), m.end()) for m in pattern.finditer(text)]
    for pattern in OUTCOME:
        f.outcome += [trim(text, m.start(), m.end()) for m in pattern.finditer(text)]
    for m in BY_WHO.finditer(after):
        phrase = PHRASE.match(after, m.end())
        who = name_in(text, e + m.end(), e + phrase.end()) if phrase else None
        if who:
            f.who.append(who)
    for w in f.who:  # "Sunderland City Council": the council's place is where
        place = PLACE_OF_WHO.search(text, w[0], w[1])
        if place and (place.start(1), place.end(1)) not in f.where:
            f.where.append((place.start(1), place.end(1)))
    acronym = re.match(r"\s+\(([A-Z]{2,6})\)", after)
    if acronym:
        f.aliases.append((e + acronym.start(1), e + acronym.end(1)))


def _what_after(text: str, f: Found, at: int) -> None:
    """The case as a sentence's subject ("The first case works with ..."), a relative clause ("...,
    which has ..."), "the role of X in drawing together ...", or else what comes before its name."""
    after = text[at:]
    if verb := VERB_AFTER.match(after):
        f.what.append(clause(text, at + verb.start(1)))
    elif (rel := re.match(r",?\s+which\s+", after)) or (rel := re.match(r",[^,]*,\s+which\s+", after)):
        f.what.append(clause(text, at + rel.end()))
    elif ing := re.match(r"\s+in\s+([a-z]+ing)\b", after):
        f.what.append(clause(text, at + ing.start(1)))
    else:
        _what_before(text, f)


def _what_before(text: str, f: Found) -> None:
    """'have a dedicated innovation fund, like the NHS's ...': what comes before "like" is what was done."""
    s = f.name[0] - 4 if text[: f.name[0]].endswith("the ") else f.name[0]
    before = text[:s]
    seen = SEEN_IN.search(before)
    if seen:
        f.what.append(trim(text, seen.start(1), seen.end(1)))
        return
    b = BULLET.match(text)
    if b is None:  # only a list item's head says what its example ("like X", "(X ...") did
        return
    for pattern in WHAT_BEFORE:
        m = pattern.search(before)
        if m:
            start = b.end()
            if m.start() - start > 8:
                f.what.append(trim(text, start, m.start()))
            return
