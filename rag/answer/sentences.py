"""What kind of sentence it is, and what shape of question it answers.

A sentence may point back to the one before it ("By doing this", "such claims"), recommend or
describe an action (a how-to step), say that a named case did something (a precedent), or define
a term; a question may name the documents it is asked of (one that sets two things against each
other: :mod:`rag.answer.contrast`). Plain functions over text, used by sentence selection and the
extractive composer.
"""

from __future__ import annotations

import re

from rag.core.models import SearchResult
from rag.core.text import BULLET, YEAR, content_tokens, display, function_words, titled
from rag.index.cards import ASKS_METADATA

# Within one list item or line, a sentence ends where a capitalised word follows a full stop.
SUB_SENTENCE = re.compile(r"(?<=[a-z0-9)”’\"][.!?])\s+(?=[A-Z“‘\"])")
TERMINAL = re.compile(r"[.!?][\"”’)\]]*\s*$|[a-z0-9)”’]\s*$")
# A sentence that opens by leaning on the one before it ("It involves", "By doing this", "Consequently",
# "Examples include ...": of what the sentence before names).
OPENS_WITH_REFERENCE = re.compile(
    r"^(?:[•\-–—*·▪]\s*)?(?:this|these|those|such|it|its|they|their|them|that|he|she|his|her|both|"
    r"by doing (?:this|so)|consequently|as a result|thus|therefore|in contrast|likewise|in effect|"
    r"examples? (?:include|includes|are|is)|one example)\b"
    r"(?! (?:paper|report|book|abstract|post|address|speech|study|article|essay)\b)",
    re.IGNORECASE,
)
# ... or that leans on it further in ("the evidence for such claims").
# ("such things as targets", "such bodies as councils" point forward to their examples, not back)
POINTS_BACK = re.compile(
    OPENS_WITH_REFERENCE.pattern + r"|\bsuch (?!as\b|a\b|an\b)(?![a-z]+(?: [a-z]+)? as\b)[a-z]+", re.IGNORECASE
)
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

# "Which documents talk about the circular economy?": the answer is documents, each with what it says.
WHICH_DOCUMENTS = re.compile(
    r"^(?:and |so )?(?:which|what) (?:of the |one of the )?(?:documents?|reports?|papers?|posts?|sources?|texts?|"
    r"pieces?|publications?|address(?:es)?|speech(?:es)?)\b(?! (?:is|are|was|were) (?:an? )?[\w-]+s?\W*$)",
    re.IGNORECASE,
)
# What such a question says besides its subject ("talk about", "mention", "sources").
DOCUMENT_VERBS = content_tokens(
    "talk talks talked about mention mentions mentioned discuss discusses discussed cover covers covered say says "
    "said describe describes described refer refers referred deal deals look looks write writes wrote use uses "
    "give gives examples example case cases idea ideas concept concepts source sources documents reports papers "
    "posts texts pieces publication publications address addresses speech speeches"
)


def asks_which_documents(question: str) -> bool:
    """A question whose answer is the documents that speak of something, not a field of one."""
    return bool(WHICH_DOCUMENTS.search(question.strip()))


# How a question names the document it is asked of ("according to the Open Book", "in the 2013
# address", "does Obama say", "the Open Book's"), unlike one it asks about ("who wrote the Open Book?").
ASKED_OF = re.compile(
    r"\b(?:according to|in|by|from|of|per|does|did|do|says?|said)\s+(?:the\s+|his\s+|her\s+|their\s+)?$", re.I
)
SAYS = re.compile(
    r"^(?:[’']s\b|\s+(?:says?|said|talks?|talked|writes?|wrote|argues?|argued|describes?|described|calls?|"
    r"puts? it|notes?|mentions?)\b)",
    re.I,
)


# ... or that names it in lower case at its end ("..., according to the social productivity agenda?")
ACCORDING_TO = re.compile(r",?\s+according to (?:the |his |her |their )?([\w’' -]+?)\s*[?.]?$", re.I)


def scoring_query(question: str, sources: list[SearchResult]) -> str:
    """The question without the names of the documents it is asked of ("according to the Open Book",
    "in his 2013 address" by Obama): every sentence of that document shares them, so they cannot
    tell the sentence that answers from the one that does not. A question about a document itself
    ("when was the Open Book post published?") keeps them: they say which document's card answers."""
    if ASKS_METADATA.search(question):
        return question
    titles = " ".join(f"{s.title} {s.doc.about or ''} {' '.join(s.doc.authors)}" for s in sources).lower()
    title_words = set(re.findall(r"\w+", titles))  # words, not letters: "B&Q" is not in "Public Services"
    kept = question
    for m in NAMES.finditer(question):
        name = m.group(0)
        if (
            len(name) > 2
            and m.start() > 0
            and all(w.lower() in title_words for w in re.findall(r"\w+", name))
            and (ASKED_OF.search(question[: m.start()]) or SAYS.match(question[m.end() :]))
        ):
            kept = kept.replace(name, " ")
    # "..., according to the social productivity agenda?": a source named in lower case, at the end
    source = ACCORDING_TO.search(kept)
    if source and all(w.lower() in title_words for w in re.findall(r"\w+", source.group(1))):
        kept = kept[: source.start()] + "?"
    return " ".join(kept.split()) if content_tokens(kept) else question


ASKS_MEANING = (
    re.compile(r"^what (?:does|do) (?:\w+ ){0,5}mean by (?P<t>.+?)(?: (?:according to|in|as)\b.*)?[?.]?$", re.I),
    re.compile(r"^what (?:does|do) (?:the (?:term|phrase|word) )?(?P<t>.+?) mean\b(?! by)", re.I),
    re.compile(r"^what (?:is|are) (?:meant by|the meaning of) (?P<t>.+?)(?: (?:according to|in|as)\b.*)?[?.]?$", re.I),
    re.compile(r"^(?:define|what is the definition of) (?P<t>.+?)(?: (?:according to|in|as)\b.*)?[?.]?$", re.I),
    re.compile(
        r"^what (?:is|are) (?P<t>(?:an? )?[‘'\"“]?[\w-]+(?: [\w-]+){0,3}?[’'\"”]?)"
        r"(?: (?:according to|in|as)\b.*)?[?.]?$",
        re.I,
    ),
)


LEADING_PHRASE = re.compile(r"^(?:and |so |[\w’' ]{1,30}, )(?=(?:what|define)\b)", re.I)


def asked_meaning(question: str) -> str | None:
    """The term a question asks the meaning of ("What does enlightened enterprise mean in the
    report?" → "enlightened enterprise"), as the user wrote it; None for any other question."""
    q = " ".join(question.split())
    q = LEADING_PHRASE.sub("", q)  # "In plain terms, what does ... mean?", "And what is ...?"
    for pattern in ASKS_MEANING:
        if m := pattern.match(q):
            term = re.sub(r"^(?:an? |the )", "", m.group("t").strip(" ?.")).strip("‘’'\"“”")
            if pattern is ASKS_MEANING[-1] and re.match(r"(?i)[\w-]+ of\b", term):
                continue  # "what are the risks of innovation?" asks for its risks, not what a term means
            if 0 < len(term.split()) <= 4 and content_tokens(term):
                return term
    return None


def asked_term(question: str) -> frozenset[str]:
    """The words of the term a "what is X?" question asks about; empty when it asks about none."""
    return content_tokens(asked_meaning(question) or "") - function_words()


# A term glossed by the words before it: "a new form of value-generating regulation (regulation ‘plus’)".
GLOSSED = re.compile(r"\b[\w-]+(?:\s+[\w’'-]+){2,8}\s+\(([^()]{2,40})\)")
# ... or by the words between dashes after it: "require shared spaces – physical and virtual – to incubate".
APPOSED = re.compile(r"((?:[\w’'-]+\s+){0,2}[\w’'-]+)\s+[–—]\s+[^–—]{3,60}?\s+[–—]\s")
ACRONYM = re.compile(r"[A-Z][A-Z&]{1,6}s?")  # "(CSR)": a name spelled out, not a term glossed
# A clause that opens "Whilst ...", "If ...": it qualifies; it does not say what its subject is.
SUBORDINATE = re.compile(r"^\W*(?:whilst|while|although|though|if|when|as|because|since|unless|whereas)\b", re.I)


def defines(sentence: str, terms: frozenset[str], whole: bool = False, gloss: bool = True) -> bool:
    """A sentence that opens with the asked-about term (any of its words; every one with ``whole``)
    and says what it is, names the whole term in brackets after the words that gloss it or (with
    ``gloss``) before words between dashes that do, or lists what it is after a colon."""
    text = display(sentence)
    glosses = (GLOSSED, APPOSED) if gloss else (GLOSSED,)
    spelled = [m.group(1) for p in glosses for m in p.finditer(text)]
    if not gloss:  # strictly, "corporate social responsibility (CSR)" spells an acronym out; it does not define it
        spelled = [g for g in spelled if not ACRONYM.fullmatch(g.strip())]
    if terms and any(terms <= content_tokens(g) for g in spelled):
        return True
    colon = re.finditer(r"([\w-]+)(?: of)?:\s+[a-z]", text)  # "the public sector ethos of: care, support and ..."
    if terms and terms <= content_tokens(text) and any(content_tokens(m.group(1)) & terms for m in colon):
        return True
    if SUBORDINATE.match(text):
        return False  # "Whilst these approaches to co-productive relationships are different, ..." says no more
    head = content_tokens(" ".join(text.split()[:8]))
    opens = terms <= head if whole else bool(terms & head)
    return bool(terms) and opens and bool(DEFINING.search(text))


def is_action(text: str, lead_in: str = "") -> bool:
    """A sentence that recommends or describes doing something: a how-to step."""
    if MODAL.search(text) or IMPERATIVE.search(text):
        return True
    if BULLET.match(text):
        body = BULLET.sub("", text).lstrip('“‘"')
        return bool(SUGGESTING.search(lead_in)) or bool(body[:1].islower() or re.match(r"\w+ing\b", body))
    return False


ORDINAL = re.compile(r"\bthe (first|second|third|fourth|fifth) (?!time\b|place\b|step\b)[a-z]", re.I)


def places(text: str) -> set[str]:
    """The places in a series a text names ("the first social enterprise" → {"first"})."""
    return {m.lower() for m in ORDINAL.findall(text)}


def other_ordinal(question: str, text: str) -> bool:
    """Does ``text`` speak of another one of a series than the question ("the second case" when it
    asks about "the first social enterprise")? Such a sentence is on the topic and answers nothing."""
    asked, said = places(question), places(text)
    return bool(asked) and bool(said) and not asked & said


def other_year(question: str, sources: list[SearchResult]) -> set[int]:
    """The passages (numbered from 1) of documents dated in another year than the one the question
    names, when a passage of a document of that year is among them: "What did Obama want to do about
    community college in 2015?" is answered from the 2015 address, not from 2016's similar lines."""
    years = set(YEAR.findall(question))
    dated = {n: (src.doc.date or "")[:4] for n, src in enumerate(sources, start=1)}
    if not years or not any(y in years for y in dated.values()):
        return set()
    return {n for n, y in dated.items() if y and y not in years}


# "the social enterprise abstract", "the citizen centric paper": a document named by its title's words
NAMED_DOCUMENT = re.compile(
    r"\b(?:the|this|that)\s+((?:[\w’'&-]+\s+){1,4}?)"
    r"(?:paper|report|abstract|post|notes|blog|agenda|framework|article|essay|summary|speech|address)\b",
    re.IGNORECASE,
)


def other_document(question: str, sources: list[SearchResult]) -> set[int]:
    """The passages (numbered from 1) of other documents than the one the question names by its
    title's words ("What do the case studies in the social enterprise abstract show?"), when a
    passage of that document is among them: another report's "a number of case studies" answers
    nothing about it."""
    named: set[str] = set()
    for m in NAMED_DOCUMENT.finditer(question):
        named |= content_tokens(m.group(1)) - function_words()
    named -= {y for y in YEAR.findall(question)}
    if not named:  # or a phrase only its title has ("the first social enterprise")
        only = titled(question, {src.doc_id: src.doc.title for src in sources})
        return {n for n, src in enumerate(sources, start=1) if src.doc_id != only} if only else set()
    hits = {n: named <= content_tokens(src.doc.title) for n, src in enumerate(sources, start=1)}
    if not any(hits.values()):
        return set()
    return {n for n, hit in hits.items() if not hit}
