"""What the passages do not say: the parts of a question they leave open, and a premise they contradict.

Deterministic and offline, like the extractive generator. A question is split into its parts
("Which body runs the hub, and what is its budget?" has two); each part asks for attributes from
a small closed list (a figure, a date, who paid, who founded, a result, a name, a place, whether
something still holds) recognised by their trigger words. A part is stated when one of the
passages' leading sentences, on the question's subject, gives that attribute; otherwise the
answer says plainly that the library does not say it. A name or figure the question asserts that
no passage (nor the documents' own metadata) contains is a premise the library does not bear
out: the answer says so first, then gives what the library does say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rag.answer.attributes import NUMERIC, STRICT, Attribute, asked_attributes
from rag.core.text import YEAR, content_tokens, fold

PART_SPLIT = re.compile(
    r"(?:,?\s+and\s+|[;:?]\s*)(?=(?:who|what|how|when|where|which|whether|why|did|does|do|is|are|was|were|has|"
    r"have|can)\b)",
    re.IGNORECASE,
)
QUESTION_START = re.compile(
    r"^(?:and\s+|so\s+)?(?:who|what|how|when|where|which|whether|why|did|does|do|is|are|was|were|has|have|can)\b", re.I
)
# Words of a question that say what is asked, not what about: they never make a part's subject.
ASKING = frozenset(content_tokens(
    "what who whom whose which when where why how many much big size share is are was were do does did has have "
    "new way ways thing things part get make use one two first second other "
    "i we you they it he she us them our your their its "
    "can could would should will tell me say said says library document documents report paper notes abstract "
    "speech address mention mentioned describe according actually and so also the of about explain"
))  # fmt: skip
NAME_PHRASE = re.compile(r"\b[A-Z][\w’'&.-]*[^\W_](?:\s+(?:of\s+|and\s+|&\s+)?[A-Z][\w’'&.-]*[^\W_])*")
SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")
SPECIFIC_NUMBER = re.compile(r"[£$€]?\d[\d,.]*\s?(?:%|bn|m|k|billion|million|trillion|percent)?", re.IGNORECASE)
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
NUMBER_WORD = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b(?!-)", re.IGNORECASE)
STOP_NAMES = frozenset({"i", "i've", "i’m", "i'm", "and", "or", "but", "so", "is", "the"})


@dataclass(frozen=True)
class Part:
    """One question within the question, with the attributes it asks for."""

    text: str
    asks: tuple[Attribute, ...]


@dataclass
class Coverage:
    """The pipeline's reading of what the passages leave open."""

    not_stated: list[str] = field(default_factory=list)  # parts of the question, as the user put them
    premise: str | None = None  # a name or figure the question asserts that no passage bears out
    # (copy's title, original's title, its id, and where in it a sentence the copy rewords stands)
    rewords: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    whole: bool = False  # every part of the question is among ``not_stated``, and nothing else it names is found
    no_steps: bool = False  # a how-to question the passages hold no step for: answered as guidance, and told so

    @property
    def uncovered(self) -> bool:
        """Nothing of the question is covered: what it names is not in the passages and nothing it
        asks for is stated. Such a question is refused, not answered with what lies nearby."""
        return self.whole and self.premise is not None


def parts(question: str) -> list[Part]:
    pieces = [p.strip(" ,;:?") for p in PART_SPLIT.split(question) if p and p.strip(" ,;:?")]
    out = []
    for piece in pieces:
        if not QUESTION_START.match(piece) and len(pieces) > 1:
            continue  # a statement before the question ("I read that ...")
        asks = tuple(asked_attributes(piece))
        out.append(Part(piece, asks))
    return out


def names_in(question: str) -> list[str]:
    """The capitalised names a question uses. A sentence's first word counts only when it is clearly
    a name (a possessive such as "Manchester's", or an acronym), not "What" or "Disregard"."""
    out = []
    for m in NAME_PHRASE.finditer(question):
        name = m.group(0)
        if SENTENCE_START.search(question[: m.start()]):
            first, _, rest = name.partition(" ")
            if not (re.search(r"[’']s$", first) or (first.isupper() and len(first) > 1)):
                name = rest.strip()
        name = re.sub(r"[’']s$", "", name.strip("’'"))
        if name and fold(name) not in STOP_NAMES:
            out.append(name)
    return out


def subject_names(question: str) -> set[str]:
    """Tokens of the capitalised names a question is about (folded, stemmed)."""
    return set(content_tokens(fold(" ".join(names_in(question))))) - ASKING


@dataclass(frozen=True)
class Sentence:
    """A leading sentence of the passages, and the one before it in its passage (what "it" may refer to)."""

    text: str
    previous: str = ""


# Words of many organisations' names: sharing one ("Council") does not name the same organisation.
ORGANISATION_WORDS = frozenset(content_tokens(
    "council city county borough government department ministry institute foundation society association trust "
    "hub office agency authority centre center service services group university college school national"
))  # fmt: skip


def _asking_words(part: str, asks: Sequence[Attribute]) -> frozenset[str]:
    """The words of a part that ask for its attributes ("know if they work"), not what it is about."""
    return content_tokens(fold(" ".join(m for a in asks for m in a.trigger.findall(part))))


def asks_itself(text: str) -> bool:
    """A sentence that asks ("but is it still their policy?") states nothing."""
    return text.rstrip(' )”"’').endswith("?")


def _states(
    attribute: Attribute, subject: frozenset[str], names: set[str], pool: Sequence[Sentence], speaker: bool = False
) -> bool:
    """``speaker``: the question names only who says it ("according to Biden"), whom no sentence need name."""
    names = set(names - ORGANISATION_WORDS) or names  # "Sunderland City Council" is named by "Sunderland"
    for s in pool:
        if asks_itself(s.text):
            continue
        if not attribute.gives.search(s.text):
            continue
        tokens = content_tokens(fold(s.text))
        near = tokens | content_tokens(fold(s.previous))
        # who paid, who founded: the sentence itself names the subject, by two of its words when it has
        # them ("a dedicated innovation fund" does not name the Open Book of Social Innovation)
        if names and attribute.name in STRICT:
            if len(tokens & names) >= min(2, len(names)):
                return True
        elif names:
            if near & names or near & (subject - ORGANISATION_WORDS):
                return True
        elif speaker and attribute.name in STRICT:  # a budget "according to Biden": said of the subject itself
            if len(tokens & subject) >= min(2, len(subject)):
                return True
        elif not subject or tokens & subject or len(near & subject) >= 2:  # one shared common word is chance
            return True
    return False


def not_stated(
    question: str,
    pool: Sequence[Sentence],
    context: str = "",
    documents: frozenset[str] = frozenset(),
    authors: frozenset[str] = frozenset(),
) -> list[str]:
    """The parts of ``question`` whose asked-for attributes no sentence of ``pool`` gives.
    ``context`` (the condensed query of a follow-up) adds to the question's subject; ``documents``
    (tokens of the passages' titles and authors) name who says it, not what it is about; of them,
    ``authors`` and a year name only the document asked of ("What did Trump say ... in 2019?")."""
    asked = subject_names(question) or subject_names(context)
    names = asked - documents
    speaker = bool(asked) and not names
    everything = content_tokens(fold(f"{question} {context}")) - ASKING
    # who says it ("Trump") and the year of the address asked of ("in 2019") name the document, not
    # what it is about: a sentence on drug prices need not repeat them
    said_by = (asked & authors) | {t for t in everything & documents if YEAR.fullmatch(t)}
    missing = []
    for part in parts(question):
        if not part.asks:
            continue
        triggers = _asking_words(part.text, part.asks)
        subject = everything - triggers - said_by
        if any(not _states(a, subject, names, pool, speaker) for a in part.asks):
            missing.append(part.text)
    return missing


def _words(text: str) -> list[str]:
    return re.findall(r"[\w’'&]+", fold(text))


def _cased_words(text: str) -> list[tuple[str, bool]]:
    return [(fold(w), w[0].isupper()) for w in re.findall(r"[\w’'&]+", text)]


def _phrase_in(phrase: list[str], words: list[tuple[str, bool]]) -> bool:
    """The phrase's words in a row; a passage's word may extend the question's ("Sunderland" ~
    "Sunderland’s"), and a capitalised one may shorten it ("South Australian" ~ "South Aus")."""
    n = len(phrase)
    for i in range(len(words) - n + 1):
        window = words[i : i + n]
        if all(
            w.startswith(p) or (cap and len(w) >= 3 and p.startswith(w))
            for p, (w, cap) in zip(phrase, window, strict=True)
        ):
            return True
    return False


# "Why did Bogotá make voluntary taxes compulsory?" presupposes that it did.
WHY = re.compile(r"(?i)^(?:and |so |but )?why (?:did|does|do|was|were|is|are|has|have|had|would|will|should) (.+?)\??$")
PLAIN_VERBS = frozenset(content_tokens("make made get got take took put do done go went see seen use used set become"))


def unfounded_why(question: str, known: Callable[[str], bool]) -> str | None:
    """The word of a why-question's clause that the library never uses ("compulsory" in "Why did
    Bogotá make voluntary taxes compulsory?"): what the question takes for granted and no passage
    says. A word the library uses anywhere is given the benefit of the doubt."""
    m = WHY.match(" ".join(question.split()))
    if not m:
        return None
    for word in re.findall(r"[\w’'-]+", m.group(1)):
        tokens = content_tokens(fold(word)) - ASKING - PLAIN_VERBS
        if tokens and not any(known(t) for t in tokens):
            return word
    return None


# A statement the question opens with, before what it asks ("The NHS closed its £200m innovation
# fund, so what replaced it?"); not the asker's own situation ("We are short of money. How ...?").
STATEMENT = re.compile(
    r"(?i)^(?!(?:and |so |but )?(?:what|who|whom|whose|why|how|when|where|which|is|are|was|were|do|does|did|can|"
    r"could|should|would|will|has|have|had|i|i'm|we|we're|you|my|our|tell|give|show|list|please)\b)"
    r"([^?]+?)(?:,\s*(?:so|and|but)\s+|[.;]\s+)(?=\w)"
)


def unfounded_claim(question: str, known: Callable[[str], bool]) -> str | None:
    """The deed a statement opening the question asserts that the library never speaks of ("closed"
    in "The NHS closed its £200m innovation fund, so what replaced it?"): a past-tense verb no
    passage uses in any form, so the question takes for granted what no passage says. Only of a
    body the question names: "The council abolished its youth service, so how ...?" tells of the
    asker's own situation. Other words are given the benefit of the doubt."""
    m = STATEMENT.match(" ".join(question.split()))
    if not m or not names_in(m.group(1)):  # of a named body ("The NHS"), not the asker's council
        return None
    for word in re.findall(r"[\w’'-]+ed\b", m.group(1)):
        tokens = content_tokens(fold(word)) - ASKING - PLAIN_VERBS
        if len(word) > 4 and tokens and not any(known(t) for t in tokens):
            return word
    return None


def unsupported_premise(question: str, passages: Iterable[str], leading: Iterable[str]) -> str | None:
    """A name the question asserts that no passage contains, or a figure none of the leading sentences
    states: what the library does not bear out (the first found), or None."""
    known = _cased_words(" ".join(passages))
    for name in names_in(question):
        if not _phrase_in([re.sub(r"[’']s$", "", w) for w in _words(name)], known):
            return name
    stated = " ".join(leading)
    for m in SPECIFIC_NUMBER.finditer(question):
        figure = m.group(0).strip(" ,.")
        digits = re.sub(r"[^\d.]", "", figure).strip(".")
        if digits and not re.search(rf"(?<![\d.,]){re.escape(digits)}(?![\d])", stated.replace(",", "")):
            return figure
    counts = {w: str(i + 2) for i, w in enumerate(NUMBER_WORDS)}
    for m in re.finditer(rf"\b({'|'.join(NUMBER_WORDS)})\b(?!-)\s+(?:\w+\s+)?(\w+)", question, re.IGNORECASE):
        word, noun = fold(m.group(1)), content_tokens(m.group(2))
        # how many of that noun the best sentences give: "two bipolar case studies" against "three case studies"
        words = _words(stated)
        given = {
            before
            for i, w in enumerate(words)
            if content_tokens(w) & noun
            for before in words[max(0, i - 3) : i]
            if before in counts or before.isdigit()
        }
        if given and word not in given and counts[word] not in given:
            return m.group(1)
    return None


def still_missing(question: str, missing: list[str], quotes: Sequence[str]) -> list[str]:
    """The parts of ``missing`` that the answer's own quotes do not give either. Coverage reads the
    passages before the answer is chosen, and a loose part ("how do we know if they work?") can be
    given by a sentence whose subject is in the sentences around it: when a quote of the answer gives
    it, and holds every word of the part's subject, saying the library does not say it would
    contradict the answer ("the risks of shared spaces" are not given by "resource challenges
    present potential risks"). A strict or a numeric part (who paid; how much) keeps its note: a
    figure or a funder nearby is not its answer."""
    asked = {p.text: p.asks for p in parts(question)}
    quotes = [q for q in quotes if not asks_itself(q)]
    out = []
    for part in missing:
        asks = asked.get(part, ())
        subject = content_tokens(fold(part)) - ASKING - _asking_words(part, asks)  # "the risks of shared spaces"
        given = [q for q in quotes if subject <= content_tokens(fold(q))]
        loose = bool(asks) and not any(a.name in STRICT | NUMERIC for a in asks)
        if not (loose and all(any(a.gives.search(q) for q in given) for a in asks)):
            out.append(part)
    return out
