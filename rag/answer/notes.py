"""The lines the pipeline itself writes into an answer, as plain sentences: a premise the library
does not bear out, each part of the question it does not state ("The library does not say what its
annual budget is."), no steps for a how-to question, and one document rewording another. They are
statements about the library, not quotes: they carry no citation and are never drafted by a
generator. What is missing is decided in ``rag.answer.coverage``; how it is said, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.answer.coverage import Coverage
from rag.core.models import SearchResult

# The lines the pipeline adds to an answer (rag.answer.pipeline): statements about the library, not quotes.
NOTE_LINE = re.compile(
    r"^The library does not say\b.+[.”]$|^The question assumes “.+”, but the library does not say so\.|"
    r"^The library gives no steps for this\.|^“.+” rewords “.+”: where both say the same, the original is cited\.$"
)
# The lines rag.answer.sources adds about the sources' standing (currency, weak evidence).
SOURCE_LINE = re.compile(
    r"^“.+” has been superseded by “.+” \(.+\)\.$|^“.+” was due for review by .+; it may be out of date\.$|"
    r"^Every source of this answer is an opinion piece or a summary, not an evaluation or research\.$"
)


def is_note(line: str) -> bool:
    """A line the pipeline adds (coverage or sources), not a quoted claim."""
    return bool(NOTE_LINE.match(line.strip()) or SOURCE_LINE.match(line.strip()))


def is_source_line(line: str) -> bool:
    return bool(SOURCE_LINE.match(line.strip()))


def premise_note(term: str) -> str:
    return f"The question assumes “{term}”, but the library does not say so. What it does say:"


def rewords_note(copy: str, original: str) -> str:
    """Two documents that are one source: the reader is told, and the original is what is cited."""
    return f"“{copy}” rewords “{original}”: where both say the same, the original is cited."


PARTICIPLE = re.compile(
    r"(?i)based|located|situated|run|held|kept|made|done|paid|funded|owned|led|founded|started|published|written|"
    r"posted|released|issued|created|established|launched|built|designed"
)


# "What did the Open Data Institute do?": a part that asks what a case did.
ASKS_ACTION = re.compile(r"(?i)^(?:and |so )?what (did|does) (.+?) (?:do|actually do)$")


# "Did <subject> <verb> ...": a subject read safely is a pronoun, or a name (capitalised words, after
# "the" or not), or "the" and one word ("the hub")
SUBJECT = (
    r"(?i:it|they|he|she|this|that|we|i|you|one)|(?:(?i:the|its|their)\s+)?(?:[A-Z][\w’'&-]*\s+)*[A-Z][\w’'&-]*|"
    r"(?i:the|a|an|our|my)\s+[a-z][\w-]*"
)
DID = re.compile(
    rf"^(?i:did)\s+({SUBJECT})\s+(?!(?:and|or|nor|but|of|in|on|at|for|with|to|from|by)\b)((?:[a-z]+ly\s+)?)([a-z]+)\b(.*)$"
)
# "how should we measure ..." → "how we should measure ..."
WH_MODAL = re.compile(
    rf"^((?i:how much|how many \w+|how|what|when|where|who|why|which \w+))\s+"
    rf"((?i:should|can|could|would|will|must|might))\s+({SUBJECT})\s+(?!(?:and|or|of|in|on|at|for|with|to)\b)(.+)$"
)
WH_DID = re.compile(r"^((?i:how much|how many \w+|how|what|when|where|who|why|which \w+))\s+(did\s.+)$", re.I)
IRREGULAR = {
    "meet": "met", "hit": "hit", "make": "made", "get": "got", "run": "ran", "pay": "paid", "go": "went",
    "do": "did", "have": "had", "take": "took", "give": "gave", "keep": "kept", "win": "won", "lose": "lost",
    "set": "set", "put": "put", "cut": "cut", "spend": "spent", "build": "built", "find": "found",
    "lead": "led", "bring": "brought", "buy": "bought", "sell": "sold", "say": "said", "see": "saw",
    "become": "became", "begin": "began", "come": "came", "grow": "grew", "know": "knew", "hold": "held",
    "cost": "cost", "send": "sent", "teach": "taught", "think": "thought", "choose": "chose", "write": "wrote",
}  # fmt: skip


def past(verb: str) -> str:
    """The simple past of a verb after "did" ("meet" → "met", "reach" → "reached")."""
    v = verb.lower()
    if v in IRREGULAR:
        return IRREGULAR[v]
    if v.endswith("e"):
        return v + "d"
    if re.search(r"[^aeiou]y$", v):
        return v[:-1] + "ied"
    if re.fullmatch(r"[^aeiou]+[aeiou][bdgmnprt]", v):  # "stop" → "stopped", "plan" → "planned"
        return v + v[-1] + "ed"
    return v + "ed"


def not_stated_note(part: str) -> str:
    """ "what is its annual budget" → "The library does not say what its annual budget is." """
    part = re.sub(r"(?i)^(and |so )", "", part.strip().rstrip("?."))
    # a term never defined, a case of which nothing is said, a pair never set apart
    if re.match(r"(?i)^(?:what .+ (?:means|is or does)|how .+ and .+ differ)$", part):
        return f"The library does not say {part}."
    if m := re.match(r"(?i)^did (.+) work$", part):  # "did it work" → "whether it worked"
        return f"The library does not say whether {m.group(1)} worked."
    if d := DID.match(part):  # "Did the Zero Carbon Hub meet its 2016 target" → "whether ... met ..."
        return f"The library does not say whether {d.group(1)} {d.group(2)}{past(d.group(3))}{d.group(4)}."
    if m := re.match(r"(?i)^(is|are|was|were) (.+) (a success|successful)$", part):
        return f"The library does not say whether {m.group(2)} {m.group(1).lower()} {m.group(3)}."
    if m := ASKS_ACTION.match(part):  # "what did the ODI do" → "what the ODI did"
        return f"The library does not say what {m.group(2)} {'did' if m.group(1).lower() == 'did' else 'does'}."
    if m := WH_MODAL.match(part):
        return f"The library does not say {m.group(1).lower()} {m.group(3)} {m.group(2).lower()} {m.group(4)}."
    wh = WH_DID.match(part)  # "how much did the hub cost" → "how much the hub cost"
    if wh and (d := DID.match(wh.group(2))):
        clause = f"{d.group(1)} {d.group(2)}{past(d.group(3))}{d.group(4)}"
        return f"The library does not say {wh.group(1).lower()} {clause}."
    m = re.match(
        r"(?i)^(what|who|where|when|which \w+|how(?: (?!much|many|is|are|was|were)\w+)?)\s+(is|are|was|were)\s+(.+)$",
        part,
    )
    if m and not re.match(r"(?i)^(?:the |a |an )?\w+ing\b", m.group(3)):
        # "where are the two cases based" → "where the two cases are based"
        subject, _, participle = m.group(3).rpartition(" ")
        if subject and PARTICIPLE.fullmatch(participle):
            return f"The library does not say {m.group(1).lower()} {subject} {m.group(2)} {participle}."
        return f"The library does not say {m.group(1).lower()} {m.group(3)} {m.group(2)}."
    have = r"(?i)^(what|which|how much|how many)\b(.*?)\s+(has|have|had)\s+(it|they|he|she|we|you|this|these)\s+(.+)$"
    if m := re.match(have, part):  # "how many firms has it helped" → "how many firms it has helped"
        asked, subject, verb = m.group(1).lower() + m.group(2), m.group(4), m.group(3).lower()
        return f"The library does not say {asked} {subject} {verb} {m.group(5)}."
    if re.match(r"(?i)^(who|how much|how many)\b(?!(?: \w+)? (?:did|does|do|will|would|can)\b)", part):
        return f"The library does not say {part[0].lower() + part[1:]}."
    if m := re.match(
        r"(?i)^(what|which|how much|how many)\b((?:(?!\b(?:did|does|do|to|will|would|can)\b).)*?)\s+do\s+(.+)$", part
    ):
        # "what percentage of services do they deliver" → "what percentage of services they deliver"
        return f"The library does not say {m.group(1).lower()}{m.group(2)} {m.group(3)}."
    if re.fullmatch(r"(?i)when|where|who|why|how", part):  # "Who wrote it, and when?": the part left is "when"
        return f"The library does not say {part.lower()}."
    return f"The library does not say: “{part}?”"


NO_STEPS_NOTE = "The library gives no steps for this. What it does say:"


def notes(coverage: Coverage, cited: Iterable[tuple[str, int, int]] = ()) -> tuple[str, str]:
    """The lines the pipeline itself adds around a verified answer: a premise the library does not
    bear out (first); each part of the question it does not state, and, once per pair of
    documents, that a quote the answer cites (``cited``: doc id and offsets) is reworded by
    another document (last)."""
    lead = premise_note(coverage.premise) + "\n\n" if coverage.premise else ""
    lead = lead or (NO_STEPS_NOTE + "\n\n" if coverage.no_steps else "")
    lines = [not_stated_note(p) for p in coverage.not_stated]
    quoted = list(cited)
    for copy, original, doc_id, start, end in coverage.rewords:
        note = rewords_note(copy, original)
        if note not in lines and any(d == doc_id and s < end and start < e for d, s, e in quoted):
            lines.append(note)
    return lead, "\n\n" + "\n".join(lines) if lines else ""


def refusal_message(
    question: str, results: list[SearchResult], near: bool = False, missing: list[str] | None = None
) -> str:
    """``near``: the passages were close enough to try, and no sentence of them answered: the library
    may well speak of the subject, so the refusal says what failed rather than that it is absent;
    ``missing``: the parts coverage found unstated, named as such ("The library does not say who
    wrote the citizen centric paper.")."""
    shown = question if len(question) <= 120 else question[:117] + "..."
    closest = list(dict.fromkeys(f"“{r.title}”" for r in results))[:3]
    tail = f" The closest documents are {', '.join(closest)}." if closest else ""
    if near and missing:
        return " ".join(not_stated_note(p) for p in missing) + tail
    if near:
        return f"The library has passages near “{shown}”, but none of their sentences answers it closely enough.{tail}"
    return f"The library does not cover “{shown}”.{tail}"
