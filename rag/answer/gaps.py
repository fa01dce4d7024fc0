"""Gaps the library leaves that a general attribute check cannot see: what a case did when the case
library finds no action for it, a term it uses and never defines, a pair it never sets against each
other. Each is a part of the question, as the user might put it, for a "does not say" line
(``rag.answer.coverage.not_stated_note``); each check is narrow, because a false "does not say" is
as wrong as a false claim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.contrast import contrasted, explicit_contrast, sets_apart
from rag.answer.coverage import parts
from rag.answer.notes import ASKS_ACTION
from rag.answer.sentences import asked_meaning, defines
from rag.cases.model import CaseRecord
from rag.core.text import content_tokens, fold, sentences


def actions_not_stated(question: str, records: Sequence[CaseRecord]) -> list[str]:
    """The parts asking what a case did ("What did the Open Data Institute do?") whose case the
    case library knows and finds no action stated for: the library names it and says no more."""
    out = []
    for part in parts(question):
        m = ASKS_ACTION.match(part.text.strip())
        if not m:
            continue
        asked = content_tokens(fold(m.group(2)))
        for r in records:
            names = [content_tokens(fold(n)) for n in (r.name, *r.aliases)]
            if not r.what and any(n and n <= asked for n in names):
                out.append(part.text)
                break
    return out


def specific_gaps(
    question: str, leading: list[str], records: Sequence[CaseRecord], passages: Sequence[str] = ()
) -> list[str]:
    """The parts of ``question`` these checks find unstated in the passages' ``leading`` sentences.
    A pair is called never contrasted only when no sentence of the ``passages`` sets them apart
    either (one an answer may not quote, as its referent is too far back, still says it)."""
    out = actions_not_stated(question, records)
    term = asked_meaning(question)
    named = content_tokens(term or "")
    used = any(named <= content_tokens(s) for s in leading)
    # "What is the Zero Carbon Hub?" names a case, not a term: what it did says what it is
    case = [r for r in records for n in (r.name, *r.aliases) if named and content_tokens(fold(n)) == named]
    if named and used and not any(defines(s, named, whole=True) for s in leading):
        if not case:
            out.append(f"what {term} means")  # the library uses the term and never says what it is
        elif not any(r.what for r in case):  # the library names the case and says nothing it did
            the = "the " if re.search(rf"(?i)\bthe {re.escape(term or '')}", question) else ""
            out.append(f"what {the}{term} is or does")
    pair = explicit_contrast(question)
    if (
        pair
        and not contrasted(pair, leading)
        and not sets_apart(pair, [s.text for p in passages for s in sentences(p)])
    ):
        out.append(f"how {pair[0]} and {pair[1]} differ")  # each named, never set against the other
    return out
