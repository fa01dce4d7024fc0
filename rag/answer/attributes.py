"""What a question may ask for, as a closed list: a figure, a share, a date, who paid, who founded,
a result, a name, a place, whether something still holds ... Each has the words that ask for it in
a question (``trigger``) and the words that give it in a sentence (``gives``). Used by coverage (is
a part stated?) and by sentence selection (a sentence that gives what is asked gains).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Attribute:
    """Something a question asks for: ``trigger`` finds it in the question, ``gives`` in a sentence."""

    name: str
    trigger: re.Pattern[str]
    gives: re.Pattern[str]
    unless: re.Pattern[str] | None = None  # a phrasing of the question that asks something else

    def asked(self, question: str) -> bool:
        return bool(self.trigger.search(question)) and not (self.unless and self.unless.search(question))


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# "How do I start a skunkworks team?", "How can I fund innovation?": how to do it, not who did.
HOW_TO = _rx(r"^(?:and |so )?how (?:(?:do|can|could|should|would|might) (?:i|we|you|one)|to|does one)\b")


MONEY = (
    r"[£$€]\s?\d|\b(?:fund\w*|financ\w*|money|budget\w*|grant\w*|invest\w*|tax\w*|income|earn\w*|revenue|paid|pay\w*|"
    r"cash|dollars?|pounds?|donat\w*)\b"
)
# "work together", "work with": working alongside someone, not succeeding
NOT_SUCCESS = r"\s+(?:together|with|alongside|for|on|in|at|as|to|through|across)\b"
ATTRIBUTES = (
    Attribute("amount", _rx(r"\bhow much\b(?! time)"),
              _rx(r"[£$€]\s?\d|\d[\d,.]*\s?(?:m|bn)?\s*(?:million|billion|trillion|pounds|dollars|euros)\b|\d(?:m|bn)\b")),
    Attribute("share", _rx(r"\bwhat (?:share|percentage|proportion|fraction)\b|\bper ?cent(?:age)?\b"),
              _rx(r"\d\s?(?:%|per ?cent)|\bper ?cent\b|\b(?:half|third|quarter|fifth|tenth|majority|minority|"
                  r"proportion)\b")),
    Attribute("figure", _rx(r"\bhow (?:many|big|large)\b|\bwhat size\b|\bwhat (?:is|was|are|were) (?:the|its|their) "
                            r"(?:population|number|size|headcount|turnover|staff count|membership)\b"),
              _rx(r"(?<![\d,.])(?!(?:1[6-9]|20)\d\d\b)\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|"
                  r"trillion|half|third|quarter|fifth)\b")),
    Attribute("date", _rx(r"^(?:and |so )?when\b|\bwhat (?:year|date)\b|\bdeadline\b|\bby (?:what|which) year\b"),
              _rx(r"\b(?:1[6-9]|20)\d\d\b|\b(?:january|february|march|april|may|june|july|august|september|"
                  r"october|november|december)\b")),
    Attribute("budget", _rx(r"\bbudget|\bcost\b|\bspend"), _rx(r"\bbudget|\bcosts?\b|\bspen[dt]|[£$€]\s?\d")),
    Attribute("payer", _rx(r"\bpa(?:y|id|ying)\b|\bfund(?:s|ed|ing)\b|\bfinanc|\braised?\b|"
                           r"(?<!much )(?<!making )(?<!make )\bmoney\b"),  # "how much money", "making money": no payer
              _rx(MONEY), HOW_TO),
    # "helping people start a business", "start working with": starting something of their own, not who
    # started the case
    Attribute("founder", _rx(r"\bfound(?:ed|er|ers)\b|"
                             r"\bstart(?:ed)?\b(?!-|\s+(?:a|an|up|their|your|our|new|own|\w+ing)\b)|"
                             r"\bbehind\b|\bset up\b|\bestablish|\bruns?\b"),
              _rx(r"\bset up\b|\bfound(?:ed|er|ing)\b|\bestablish|\bstart(?:ed)?\b(?! to\b)|\blaunch|\bcreat|"
                  r"\bbehind\b|\bran\b|\bruns?\b|\bled by\b"), HOW_TO),
    Attribute("target", _rx(r"\b(?:hit|met|meet|achieved?|reach(?:ed)?)\b.*\b(?:target|goal|commitment)"),
              _rx(r"\b(?:met|meet|hit|achieved|reached|exceeded|missed|fell short)\b")),
    Attribute("result", _rx(r"\b(?:lead to|led to|result|outcome|achieve|impact|(?:came|come) (?:out|of)|effect)|"
                            r"\b(?:did|does|has|have) (?:it|they|this|that|the [\w ]{1,40}?) work(?:ed)?\b"
                            r"(?!" + NOT_SUCCESS + ")|"
                            r"\b(?:was|were|is|are) (?:it|they|this|that|the [\w ‘’'-]{1,40}?) (?:a )?success|"
                            r"\b(?:judge|know|tell|measure|assess|see)\b[\w ]{0,30}\b(?:whether|if)\b[\w ‘’'-]{0,60}?"
                            r"\bwork(?:s|ing|ed)?\b(?!" + NOT_SUCCESS + ")"),
              _rx(r"\b(?:result\w*|outcome\w*|led to|impact\w*|achiev\w*|(?<!in )effect\w*|evaluat\w*|success\w*|"
                  r"succeed\w*|worked)\b")),
    # "How do social enterprises balance making money with doing good?": how two aims are held
    # together, which a sentence on either aim alone does not say
    Attribute("balance", _rx(r"\bbalanc(?:e|es|ing)\b(?! sheet)|\btrade-?offs?\b|\breconcil\w*|\btensions?\b|"
                             r"\bjuggl\w*"),
              _rx(r"\b(?:balanc\w*|tensions?|trade-?offs?|reconcil\w*|hybrid\w*|dual)\b")),
    # "How should I judge whether a scheme is working?", "how do we know if they work?": how success
    # is measured, which a sentence on what the scheme achieved does not say
    Attribute("measure", _rx(r"\bhow (?:do|does|should|can|could|would|will|might) [\w ]{1,30}?"
                             r"(?:measure|judge|evaluate|assess)\b|"
                             r"\b(?:measur|evaluat|assess|judg)\w*\b[\w ‘’'-]{0,60}?\b(?:success\w*|impact|progress|"
                             r"work(?:s|ing|ed)?\b(?!" + NOT_SUCCESS + "))|"
                             r"\b(?:know|tell|see)\b[\w ]{0,30}\b(?:whether|if)\b[\w ‘’'-]{0,60}?"
                             r"\bwork(?:s|ing|ed)?\b(?!" + NOT_SUCCESS + ")"),
              _rx(r"\b(?:measur\w*|judg\w*|evaluat\w*|assess\w*|indicators?|metrics?|targets?|benchmark\w*)\b")),
    Attribute("name", _rx(r"(?<!another )(?<!other )\bnames?\b(?! for\b)|"  # not "is X another name for Y?"
                          r"\bwhat (?:is|was|are|were) (?:it|they|this|that) called\b"),
              _rx(r"\bnamed?\b|\bcalled\b")),
    Attribute("place", _rx(r"\bwhere\b.*\b(?:based|located|situated)\b|\bin which (?:town|city|country|region)\b"),
              _rx(r"\b(?:based|located|situated) (?:in|at|near|on the)\b(?! (?:evidence|research|data))|"
                  r"\baffiliated with\b")),
    Attribute("price", _rx(r"\bprices?\b"), _rx(r"\bprices?\b")),
    Attribute("author", _rx(r"\bwho (?:wrote|is the author|authored)\b|\bwritten by\b|\bauthors?\b"),
              _rx(r"\bauthors?\b|\bwritten by\b|(?-i:\bby [A-Z])")),
    Attribute("publisher", _rx(r"\bwho published\b|\bpublisher\b|\bpublished by\b"),
              _rx(r"\bpublish(?:ed|er|es|ing)\b|\bissued by\b")),
    Attribute("risk", _rx(r"\b(?:risks?|dangers?|downsides?|drawbacks?|pitfalls?|disadvantages?|weakness\w*)\b|"
                          r"\bwhat (?:can|could|might) go wrong\b"),
              _rx(r"\b(?:risk\w*|danger\w*|downside\w*|drawback\w*|pitfall\w*|disadvantage\w*|weakness\w*|threat\w*|"
                  r"hinder\w*|tension\w*|vagaries|fail\w*|barriers?|problem\w*|struggl\w*)\b")),
    Attribute("current", _rx(r"\b(?:still|today|nowadays|currently)\b"), _rx(r"\b(?:still|today|now|currently)\b")),
)  # fmt: skip

# Attributes easily misread from a neighbouring sentence ("new types of financing" after a council's
# back office): the sentence that gives them must name the question's subject itself.
STRICT = frozenset({"payer", "budget", "founder", "author", "name", "price"})
# Attributes any sentence with a number or a year gives: giving one does not make a sentence on the topic.
NUMERIC = frozenset({"amount", "share", "figure", "date"})
# What a one-part question asks for so squarely that a sentence giving it answers before one that
# only shares its topic (who paid, who founded, how success is measured).
SQUARE = STRICT | {"measure", "balance"}


def asked_attributes(question: str) -> list[Attribute]:
    """What ``question`` asks for, in the list's order."""
    return [a for a in ATTRIBUTES if a.asked(question)]


def gives_any(text: str, attributes: list[Attribute]) -> bool:
    """Does ``text`` give any of ``attributes``?"""
    return any(a.gives.search(text) for a in attributes)
