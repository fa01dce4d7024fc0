"""Case mentions read out of a document's sentences, each field a verbatim slice of the sentence.

A sentence names a case when it says a named initiative, organisation or place did something or
had it done to it (an action verb next to the name: "X and the Y set up", "X, which has launched",
"funded the X"; not a verb anywhere in the sentence), when it studies one ("the report looks at X",
"case studies including X"), when it gives one as an example of an undertaking ("initiatives such
as X", "like the X Programme"), when an organisation's initiative is named ("Sunderland City
Council's 'virtual' back office", "the NHS's £200m fund"), or when a paper numbers its cases ("the
first case"). A name in an agent's place ("set up by X", "funding from X") is who ran or paid for a
case, not a case; a person's role ("the Mayor of Bogota") is who, and its place is where. A name
after "a"/"an" is a kind of thing, and a tool, a part of an organisation or a publication that a
sentence only mentions is no case: the library shows fewer cases rather than every capitalised name.
The sentences that follow on from a case ("Their approach ...", "By doing this ...") add to it.
Rules, not a model: every field is text the document states, and a field it does not state stays empty.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rag.cases.fields import (
    FUNDING,
    LEADING,
    OUTCOME,
    PHRASE,
    Found,
    Slice,
    action_clause,
    describe,
    name_in,
    trim,
)
from rag.cases.grammar import EXAMPLE, INDEFINITE, KIND, LEAD_IN, ORDINAL, UNDERTAKING, acted_on, points_back
from rag.cases.model import CaseQuote, Mention
from rag.cases.names import ACTION, GENERIC_NAMES, QUOTED_NAME
from rag.core.chunks import Chunk
from rag.core.text import BULLET, TABLE_ROW, sentences

POSSESSIVE = re.compile(r"[’']s$")
# The document studies what follows ("The report looks at X", "case studies including X", "seen in
# X"), to the sentence's end. Only a verb with a subject says so: "Consider X" and "to consider X"
# advise a reader, and what "can be found in" X is a thing's place.
STUDY = re.compile(
    r"\b(?:looks at|(?:is|are|was|were|been|am) looking at|considers(?: the role of)?|"
    r"case stud(?:y|ies)\b[^.;]*?\bincluding|(?<!\bbe )(?<!\bis )(?<!\bare )(?:seen|found) in(?: the)?)\s+",
    re.IGNORECASE,
)
OBJECT = re.compile(
    r"\s*((?:[‘“'][^’”']{1,30}[’”']\s+)?(?:[£$€]?\d[\d.,]*\s?(?:m|bn|k|%)?|[A-Za-z][\w-]*)"
    r"(?:\s+(?!(?:for|to|in|of|is|was|and|or|with|which|that|has|have|are|were|on|at|by|from|but|so|now|will|"
    r"would|can|could|had|also|just|still|again|today|tonight|itself|[a-z]+ed|[a-z]+ly)\b)[A-Za-z][\w-]*){0,2})"
)
INITIATIVE = re.compile(
    r"\b(?:fund|scheme|programme|program|project|initiative|hub|office|approach|network|pilot|policy|service|"
    r"model|partnership|campaign|centre|center|plan|strategy|footprint|budget|bank|platform|lab|trust|academy|"
    r"institute|council|board|agency|company|foundation|exchange|forum|index|colleges?|schools?)s?\b|[£$€%]",
    re.IGNORECASE,
)
ROLE = re.compile(
    r"^(?:Mayor|Governor|Minister|Secretary|President|Vice President|Chancellor|Leader|Chief|Director|Head|"
    r"Congressman|Congresswoman|Senator|Representative|General|Admiral|Colonel|Captain|Sergeant|Officer|"
    r"Justice|Judge|Speaker|Madam|First Lady|King|Queen|Prince|Princess|Pope|Dr|Mr|Mrs|Ms|Sir|Lord|Lady)\b"
)
LEADS_ON = re.compile(r"^(?:by doing (?:this|so)|as a result|consequently|thus)\b", re.IGNORECASE)
CONTINUES = re.compile(r"^(?:their|its|by doing (?:this|so)|as a result|consequently)\b|"
                       r"\bthe cases?\b|\bthe case[’']s\b", re.IGNORECASE)  # fmt: skip
# A person, not a case: "Amanda Shelley, a physician assistant", "Bob Gates, who", "Buddy Taggart is here".
PERSON_AFTER = re.compile(
    r"^(?:,\s+(?:a|an|who|whose|her|his|our)\b|\s+(?:is|was) (?:here|with us)\b|\s+and (?:his|her)\b)"
)
AGENT_BEFORE = re.compile(r"\b(?:by|from)\s+(?:the\s+)?$")
PLACE_BEFORE = re.compile(r"\b(?:in|across|throughout)\s+(?:this\s+|the\s+)?$")
# A publication is where a case is read about, not a case ("Nesta's Open Book of Social Innovation").
PUBLICATION = re.compile(
    r"^(?:[\w’'&-]+\s+){0,3}(?:Book|Report|Review|Paper|Guide|Handbook|Journal|Toolkit|Blog)s?(?:\s+(?:of|on)\b.*)?$"
)
ACRONYM_GROUP = re.compile(r"[A-Z]{2,}\s+[a-z]{3,}s\b")  # "FE colleges": a kind of institution, named by its acronym


def _phrases(text: str) -> Iterable[tuple[int, int, bool]]:
    """Capitalised phrases as ``(start, end, possessive)``; a possessive inside one splits it."""
    for m in PHRASE.finditer(text):
        s, words = m.start(), []
        while s > 0 and text[s - 1].isalnum():  # "18F’s": the phrase starts with its word, not inside it
            s -= 1
        for w in re.finditer(r"\S+", text[s : m.end()]):
            words.append((s + w.start(), s + w.end()))
            if POSSESSIVE.search(w.group(0)):
                yield words[0][0], words[-1][1], True
                words = []
        if words:
            yield words[0][0], words[-1][1], False


@dataclass
class Reading:
    """What one sentence holds: its cases, and the people (by role) and places it names."""

    text: str
    studied: list[int]
    ends: list[int]
    acts: bool
    examples: list[tuple[int, int]] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    roles: list[Slice] = field(default_factory=list)
    places: list[Slice] = field(default_factory=list)

    def under_study(self, at: int) -> bool:
        """``at`` follows "the report looks at", "case studies including" in the same sentence."""
        return any(st <= at and not any(st < x < at for x in self.ends) for st in self.studied)

    def exemplifies(self, s: int, e: int) -> bool:
        """The name at ``s:e`` is what "such as", "like" or "e.g." gives as its example, and it is an
        undertaking, or the kind it is an example of is ("initiatives such as X", "a fund, like X")."""
        for start, end in self.examples:
            if end <= s and LEAD_IN.fullmatch(self.text, end, s):
                kind = " ".join(self.text[:start].split()[-3:])
                return bool(UNDERTAKING.search(self.text, s, e) or UNDERTAKING.search(kind))
        return False


def _cases(text: str) -> list[Found]:
    """Every case ``text`` (one sentence) names, with who ran it and where, when the sentence says."""
    r = Reading(text, [m.end() for m in STUDY.finditer(text)], [m.start() for m in re.finditer(r"[.!?]\s", text)],
                any(m.group(0).lower() != "example" for m in ACTION.finditer(text)),
                [(m.start(), m.end()) for m in EXAMPLE.finditer(text)])  # fmt: skip
    r.found += [Found((m.start(), m.end()), m.start()) for m in ORDINAL.finditer(text)]
    r.found += [Found((m.start(1), m.end(1)), m.start()) for m in QUOTED_NAME.finditer(text)
                if r.acts and m.group(1) not in GENERIC_NAMES | LEADING]  # fmt: skip
    for s, e, possessive in _phrases(text):
        if possessive:
            if own := _possessive(text, s, e):
                r.found.append(own)
        else:
            _place(r, s, e)
    found = r.found
    if not found and r.roles:  # "– voluntary taxes – ... the Mayor of Bogota asked": the item's head names it
        head = _item_head(text)
        if head:
            found.append(Found(head, head[0], who=r.roles[:1], what=[action_clause(text, r.roles[0][0])]))
    found.sort(key=lambda f: f.at)
    for f in found:
        describe(text, f)
    if found:
        found[-1].where += [p for p in r.places if p not in found[-1].where]
        if not any(f.who for f in found) and r.roles:
            found[0].who.append(r.roles[0])
    return found


def _place(r: Reading, s: int, e: int) -> None:
    """Where a capitalised phrase belongs: a person's role (who, and its place), a place, an agent
    ("set up by X": not a case), or a case when the sentence acts on it or studies it."""
    text = r.text
    found_name = name_in(text, s, e)
    if found_name is None or any(f.name[0] <= found_name[0] < f.name[1] + 2 for f in r.found):
        return
    ns, ne = found_name
    before = text[:s]
    words = len(text[ns:ne].split())
    if ROLE.match(text[ns:ne]):
        r.roles.append(trim(text, s - 4 if before.endswith("the ") else s, ne))
        if " of " in text[ns:ne]:
            r.places.append((text.index(" of ", ns) + 4, ne))
    elif PLACE_BEFORE.search(before) and s not in r.studied:
        r.places.append(found_name)
    elif AGENT_BEFORE.search(before) or (text[ne : ne + 1] == ")" and text[ns - 1 : ns] == "("):
        return
    elif PERSON_AFTER.match(text[ne:]) and not INITIATIVE.search(text[ns:ne]) and words <= 3:
        r.roles.append(found_name)  # who, if the sentence names a case
    elif PUBLICATION.match(text[ns:ne]) or INDEFINITE.search(text[:ns]):
        return
    elif r.under_study(ns) and (group := ACRONYM_GROUP.match(text, ns)) and words < 2:
        r.found.append(Found((ns, group.end()), ns))
    elif words >= 2 and (r.under_study(ns) or r.exemplifies(ns, ne) or acted_on(text, ns, ne)):
        r.found.append(Found((ns, ne), ns))


def _possessive(text: str, s: int, e: int) -> Found | None:
    """ "Sunderland City Council's 'virtual' back office": a case whose name includes who runs it."""
    owner = name_in(text, s, e - 2)
    obj = OBJECT.match(text, e)
    if owner is None or obj is None or not obj.group(1) or text[owner[0] : owner[1]] in GENERIC_NAMES:
        return None
    o_s, o_e = obj.start(1), obj.end(1)
    if text[o_s].isupper() and (whole := PHRASE.match(text, o_s)):
        o_e = whole.end()  # "Nesta's Open Book of Social Innovation", not "... Innovation over"
        kind = re.match(rf"\s+(?:{KIND})\b", text[o_e:])
        o_e += kind.end() if kind else 0  # "B&Q and RSA's Community Footprint approach"
    o_s, o_e = trim(text, o_s, o_e)
    if PUBLICATION.match(text[o_s:o_e]) or not _undertaking(text[o_s:o_e]):
        return None
    named_itself = text[o_s].isupper() or text[o_s] in "‘“'"  # "Community Footprint", not "£200m fund"
    found = Found((owner[0], o_e), owner[0], who=[owner], aliases=[(o_s, o_e)] if named_itself else [])
    follow = re.match(r"\s+(?:for|to)\s+[^,.;()]*", text[o_e:])
    if follow:
        found.what.append(trim(text, o_s, o_e + follow.end()))
    return found


def _undertaking(owned: str) -> bool:
    """What follows an owner's name ("X’s ...") is an undertaking of the owner's: a sum ("£200m fund",
    "20%"), or a name followed by its kind ("Community Footprint approach", "‘virtual’ back office",
    "C2 project", "Trusted Tester program"). A name of its own ("GSA’s Privacy Office", "WebAIM’s
    Accessibility Resources") is a part or a work of the owner; a kind alone ("18F’s approach", "the
    country's largest banks") names nothing."""
    words = owned.split()
    if re.match(r"[£$€]?\d", owned):
        return bool(INITIATIVE.search(owned))
    named = owned[0].isupper() or owned[0] in "‘“'\"" or any(c.isdigit() for c in words[0])
    head = words[-1]
    kind = UNDERTAKING.fullmatch(head) or (head.islower() and INITIATIVE.fullmatch(head))
    return named and len(words) > 1 and bool(kind)


def _item_head(text: str) -> Slice | None:
    """A list item's head ("voluntary taxes" in "– voluntary taxes – no, ..."), when it is a short phrase."""
    b = BULLET.match(text)
    s = b.end() if b else 0
    m = re.match(r"\s*([a-z][\w -]{2,40}?)\s+[–—:]\s", text[s:])
    return (s + m.start(1), s + m.end(1)) if m and len(m.group(1).split()) <= 4 else None


def _quote(chunk: Chunk, text: str, base: int, sl: Slice) -> CaseQuote:
    s, e = chunk.locate(base + sl[0], base + sl[1])
    first, last = chunk.pages_of(s, e)
    return CaseQuote(quote=text[sl[0] : sl[1]], doc_id=chunk.doc_id, title=chunk.doc.title, chunk_id=chunk.chunk_id,
                     char_start=s, char_end=e, page_start=first, page_end=last)  # fmt: skip


def mentions(chunks: Iterable[Chunk]) -> list[Mention]:
    """The case mentions of one document's passages (in order), each sentence read once."""
    out: list[Mention] = []
    done = -1
    last: list[Mention] = []
    numbered: list[Mention] = []
    prev_end = -10
    for chunk in sorted(chunks, key=lambda c: c.chunk_index):
        if chunk.is_card:
            continue
        for span in sentences(chunk.text):
            start = chunk.char_start + span.start
            if start < done or TABLE_ROW.match(span.text):
                continue
            done = chunk.char_start + span.end
            if start - prev_end > 1 and "\n\n" in chunk.text[max(0, prev_end - chunk.char_start) : span.start]:
                last = []
            prev_end = done
            found = _cases(span.text)
            if found:
                made = [_mention(chunk, span.text, span.start, f) for f in found]
                out += made
                last = made
                numbered += [m for m in made if ORDINAL.fullmatch(m.name)]
            else:
                _follow_on(chunk, span.text, span.start, last, numbered)
    series = Counter(name.split()[-1] for name in {m.name.lower() for m in numbered})  # "case": first, second
    return [m for m in out if not points_back(m, series)]


def _mention(chunk: Chunk, text: str, base: int, f: Found) -> Mention:
    q = lambda sl: _quote(chunk, text, base, sl)  # noqa: E731
    dedup = lambda sls: [q(sl) for i, sl in enumerate(sls) if sl[1] > sl[0] and sl not in sls[:i]]  # noqa: E731
    return Mention(name=text[f.name[0] : f.name[1]], aliases=[text[a:b] for a, b in f.aliases],
                   sentence=q(trim(text, 0, len(text))), who=dedup(f.who), where=dedup(f.where),
                   what=dedup(f.what), funding=dedup(f.funding), outcome=dedup(f.outcome))  # fmt: skip


def _follow_on(chunk: Chunk, text: str, base: int, last: list[Mention], numbered: list[Mention]) -> None:
    """A sentence that leans on the case before it ("Their approach ...", "By doing this ...")
    says more about that case; "they both ..." speaks of the two numbered cases."""
    plain = BULLET.sub("", text).strip()
    whole = _quote(chunk, text, base, trim(text, 0, len(text)))
    if re.search(r"\bboth\b", plain) and len(numbered) >= 2:
        for pattern in OUTCOME:
            for m in pattern.finditer(text):
                for case in numbered[-2:]:
                    case.outcome.append(_quote(chunk, text, base, trim(text, m.start(), m.end())))
        return
    if len(last) != 1 or not CONTINUES.search(plain) or len(plain.split()) < 6:
        return
    case = last[0]
    if LEADS_ON.match(plain):
        case.outcome.append(whole)
        return
    funding = [trim(text, m.start(), m.end()) for p in FUNDING for m in p.finditer(text)]
    outcome = [trim(text, m.start(), m.end()) for p in OUTCOME for m in p.finditer(text)]
    case.funding += [_quote(chunk, text, base, sl) for sl in funding]
    case.outcome += [_quote(chunk, text, base, sl) for sl in outcome]
    if not funding and not outcome:
        case.what.append(whole)
