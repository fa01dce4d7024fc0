"""Sentence segmentation with exact offsets, and the small text measures answers are scored with."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass

import bm25s
import sentencex
import Stemmer

_STEMMER: Stemmer.Stemmer | None = None


def _stemmer() -> Stemmer.Stemmer:
    global _STEMMER
    if _STEMMER is None:
        _STEMMER = Stemmer.Stemmer("english")
    return _STEMMER


def fold(text: str) -> str:
    """Lower case without accents ("Bogotá" matches "Bogota")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


YEAR = re.compile(r"\b(?:19|20)\d{2}\b")  # a year as questions and titles write it ("in 2015")

TOKENIZER = "folded-2"  # part of the lexical cache's fingerprint: a change here rebuilds BM25
# "B&Q", "P&G", "AT&T": letters joined by "&" name one organisation; the tokenizer drops one-letter
# words, so they are joined into one word ("b_q") that a query can match.
AMPERSAND_NAME = re.compile(r"\b(\w{1,2})\s?&\s?(\w{1,2})\b")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, accent-folded, English-stopworded, Snowball-stemmed tokens (the same for documents
    and queries), so a user who types "Bogotá" finds a document that writes "Bogota"."""
    folded = [AMPERSAND_NAME.sub(r"\1_\2", fold(t)) for t in texts]
    out = bm25s.tokenize(folded, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)
    return [list(t) for t in out]


MARK = r"[•\-–—*·▪]"  # a bullet's mark
NUMBER = r"\d{1,2}[.)]"  # the other way to open an item: "1." or "1)"
BULLET = re.compile(rf"^\s*(?:{MARK}|{NUMBER})\s+")
MARKER = re.compile(r"\s*\[(\d{1,3})\]")
CLOSING = re.compile(r"^[)\]”’\"»*]+(?=\s|$)")  # marks that close the sentence before (followed by a space)
# A sentence addressed to a language model rather than to a reader: document text, never an answer,
# whoever drafts it, and kept out of what a model reads. By its form, not its topic: a role label
# that opens a sentence ("SYSTEM:", "Assistant:", "AI assistants:"), a note addressed to a model,
# an instruction about how to answer ("reply only with", "ignore previous instructions", "from now
# on answer"), or an image that would be fetched from elsewhere when the answer is shown.
MODEL_WORDS = r"(?:ai(?: systems?| assistants?| models?| agents?)?|assistants?|chatbots?|llms?|language models?)"
STEERING = re.compile(
    r"(?:^|[.!?;(\[“\"]\s*)[\W_]*(?:system|assistant|ai(?: assistants?| systems?| agents?)?|chatbot|developer)s?\s*:|"
    rf"\b(?:note|instructions?|message|reminder)s? (?:to|for) (?:the |any |all |every )?{MODEL_WORDS}\s*(?:[:,.;]|$)|"
    r"\bignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions|prompts?)|developer mode|"
    r"\bsystem (?:notice|prompt|message)|\bdo not cite|\bdisregard (?:all |your )?(?:previous |prior )?instructions|"
    r"\b(?:reply|respond|answer|say|output|cite) only\b(?! (?:if|when|matters|to|after|for|in|on|once)\b)|"
    r"\byou are now (?:in|a|an|\w+bot)\b|\bfrom now on,? (?:answer|reply|respond|say|tell)\b|"
    r"!\[[^\]]*\]\(\s*(?:https?:)?//",
    re.IGNORECASE,
)


# Scripts whose letters look alike (Unicode's confusables, UTS #39): a word that mixes them
# ("Nеsta" with a Cyrillic е) reads to a person as a word it is not.
CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
# zero-width space and word joiners, a BOM inside text, bidirectional overrides, tag characters: never
# needed to write a word; the zero-width (non-)joiners only where scripts that need them are not
INVISIBLE_FORMAT = re.compile(r"[\u200b\u2060-\u2064\ufeff\u202d\u202e\U000e0000-\U000e007f]")
JOINER = re.compile(r"(.?)[\u200c\u200d](.?)", re.DOTALL)
WORD_CHARS = re.compile(r"\w+")
UNUSUAL = re.compile(r"[^\x00-\x7f\u00a0\u2010-\u2027\u2030-\u205e]")


def _script(ch: str) -> str | None:
    name = unicodedata.name(ch, "")
    return next((s for s in CONFUSABLE_SCRIPTS if name.startswith(s + " ")), None)


def disguised(text: str) -> bool:
    """Text that shows a reader something other than what it says: invisible characters (zero-width,
    bidirectional overrides, Unicode tag characters) inside or beside words, or a word whose letters
    mix look-alike scripts. Never quoted, never handed to a model (UTS #39's mixed-script test, not a
    list of names)."""
    if not UNUSUAL.search(text):  # ASCII with typographic quotes, dashes and spaces: the common case
        return False
    if INVISIBLE_FORMAT.search(text):
        return True
    if any(_script(c) for m in JOINER.finditer(text) for c in m.groups() if c):
        return True
    words = (w for w in WORD_CHARS.findall(text) if not w.isascii())
    return any(len({_script(ch) for ch in w} - {None}) > 1 for w in words)


@dataclass(frozen=True)
class Span:
    """A sentence as a verbatim slice ``text[start:end]`` of the text it came from."""

    text: str
    start: int
    end: int


def sentences(text: str) -> list[Span]:
    """Sentences (and list items, which are sentences to a reader) with exact offsets into ``text``."""
    out: list[Span] = []
    pos = 0
    for seg in sentencex.segment("en", text):
        start = text.find(seg, pos) if seg else -1
        if start < 0:
            continue
        pos = start + len(seg)
        # sentencex keeps line breaks inside a segment: a new line starts a new item after a
        # blank line, a finished sentence, a heading or before a list item; a hard-wrapped line
        # of prose continues its sentence.
        for first, last in _line_groups(seg):
            piece = seg[first:last]
            lead = len(piece) - len(piece.lstrip())
            body = piece.strip()
            if not body:
                continue
            s = start + first + lead
            closing = CLOSING.match(body)
            bullet = BULLET.match(body) and not text[text.rfind("\n", 0, s) + 1 : s].strip()  # "* item" opens a line
            if closing and out and first == 0 and not bullet:  # "...their policy?" + ")" is one sentence
                prev = out.pop()
                end = s + closing.end()
                out.append(Span(text[prev.start : end], prev.start, end))
                body, s = body[closing.end() :].lstrip(), s + closing.end()
                s = text.find(body, s) if body else s
            if body:
                out.append(Span(body, s, s + len(body)))
    return out


# A Markdown table's row, and the rule under its header (tables are written so by every loader).
TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
TABLE_RULE = re.compile(r"^\s*\|(?:\s*:?-{3,}:?\s*\|)+\s*$")
ENDS_ITEM = re.compile(r"[.!?:;…\"”’)\]]\s*$")


def _line_groups(seg: str) -> list[tuple[int, int]]:
    """(start, end) of each item in ``seg``: runs of lines joined where prose was hard-wrapped."""
    groups: list[tuple[int, int]] = []
    prev_end = -1
    prev_line = ""
    for m in re.finditer(r"[^\n]+", seg):
        line = m.group(0)
        if not line.strip():
            continue
        joined = (
            groups
            and seg.count("\n", prev_end, m.start()) == 1
            and not ENDS_ITEM.search(prev_line)
            and not BULLET.match(line)
            and not line.lstrip().startswith(("#", "|"))
            and not prev_line.lstrip().startswith(("#", "|"))
            and not (BULLET.match(prev_line) and not line[:1].isspace())  # only an indented line continues an item
        )
        if joined:
            groups[-1] = (groups[-1][0], m.end())
        else:
            groups.append((m.start(), m.end()))
        prev_end, prev_line = m.end(), line
    return groups


def display(sentence: str) -> str:
    """How a quoted sentence reads inside an answer: no list bullet, single spaces."""
    return " ".join(BULLET.sub("", sentence).split())


_TARGET = r"\((?:[^()\s]|\([^()\s]*\))+(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"  # (url) or (url "title")
LINK = re.compile(r"\[([^\]]+)\](?:" + _TARGET + r"|\[[^\]]*\])")  # [text](url), [text][ref], [text][]: its text
IMAGE = re.compile(r"!\[[^\]]*\]" + _TARGET)  # ![alt](src): a picture, no words on the page
IMAGE_INSIDE = re.compile(r"(?<=\S) *" + IMAGE.pattern + r" *(?=\S)")
QUOTED = re.compile(r"^(?:>\s*)+")  # a Markdown blockquote's markers
HEADING_MARK = re.compile(r"^#{1,6}\s+")  # a heading written inside a list item ("2. ### Market ...")
EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
STAR = re.compile(r"(?<!\w)\*|\*(?!\w)")  # an italic mark (list bullets are gone by then)


def plain(sentence: str) -> str:
    """A sentence as rendered Markdown reads: :func:`display`, links as their text, no bold or
    italic marks (paired or left alone). An answer shows this; its citation keeps the verbatim
    text and offsets."""
    # a mark left alone: the sentence splitter cut a span the author ran over two sentences
    text = IMAGE_INSIDE.sub(" ", HEADING_MARK.sub("", QUOTED.sub("", display(sentence))))
    text = LINK.sub(r"\1", IMAGE.sub("", text))
    text = EMPHASIS.sub(r"\2", text).replace("**", "")
    return " ".join(STAR.sub("", text).split())  # an asterisk between two letters stays (a footnote's is dropped)


# Words that name no subject, on top of scikit-learn's English list ("does", "did", "tell" are not in it),
# and words of that list that do name one ("bill", "system", numbers).
_MORE = "does did doing having shall tell say said let like way ways thing things kind sort"
_NAMING = (
    "bill system fire part interest amount name one two three four five six eight nine ten eleven twelve "
    "fifteen twenty forty fifty sixty hundred third mill"
)
MORE_FUNCTION_WORDS = frozenset(_MORE.split())
NAMING_WORDS = frozenset(_NAMING.split())


@functools.cache
def function_words() -> frozenset[str]:
    """Stems of words that carry no subject ("how", "does", "first"): a sentence that shares only
    these with a question ("It does this by firstly ...") shares nothing that answers it.
    scikit-learn's list (installed with sentence-transformers), adjusted as above."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = (ENGLISH_STOP_WORDS | MORE_FUNCTION_WORDS) - NAMING_WORDS
    return frozenset(_stemmer().stemWords(sorted(words))) | words


@functools.lru_cache(maxsize=32768)
def content_tokens(text: str) -> frozenset[str]:
    """Stemmed content words. Cached: answers score the same passages' sentences again and again, and
    one tokenizer call costs more than the set arithmetic it feeds."""
    return frozenset(tokenize([text])[0]) - {""}


def overlap(query: str, sentence: str) -> float:
    """Share of the query's content words (stemmed) that the sentence contains."""
    q = content_tokens(query)
    return len(q & content_tokens(sentence)) / len(q) if q else 0.0


@functools.lru_cache(maxsize=4096)
def phrases(text: str) -> frozenset[tuple[str, str]]:
    """Two content words in a row (stemmed): a phrase of a title that a question can repeat. Cached:
    every question is matched against every title."""
    words = tokenize([text])[0]
    skip = function_words()
    return frozenset((a, b) for a, b in itertools.pairwise(words) if a not in skip and b not in skip)


CAPITALISED = re.compile(r"\b[A-Z][\w’'&-]*")


def titled(question: str, titles: dict[str, str]) -> str | None:
    """The one document (id → title) whose title shares a phrase with the question that no other
    title has ("the first social enterprise": "Social enterprise and co-productive relationships ...")."""
    # a capitalised name ("the Zero Carbon Hub") names a case or a body that many documents speak
    # of, not a document: only the question's own words between names count
    asked = frozenset().union(*(phrases(part) for part in CAPITALISED.split(question[:1].lower() + question[1:])))
    if not asked:
        return None
    shared = {d: phrases(t) & asked for d, t in titles.items()}
    own = {d for d, ps in shared.items() if any(sum(p in qs for qs in shared.values()) == 1 for p in ps)}
    return next(iter(own)) if len(own) == 1 else None
