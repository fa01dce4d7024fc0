"""What a claim asserts that its quote must bear out, besides its words: the figures it states, the
bodies it names, and the roles it gives them. Verification lowers a quote's support for each one the
quote does not bear out (``rag.answer.verify.SupportWeights``).
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NAME_WORD = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][A-Za-z&-]+")


# Roles a claim gives a named body ("funded by X", "set up by X", "run by X"): the quote must give X
# that role too, the name following a word of the same role, not only name X somewhere.
ROLES = (
    r"fund\w*|paid|pays|financ\w*|sponsor\w*|grants?|money",
    r"set up|found(?:ed|ing)|establish\w*|creat\w*|start\w*|launch\w*|commission\w*",
    r"run|runs|ran|led|leads|manag\w*|operat\w*|owned|chaired",
)
ROLE_CLAIM = [
    re.compile(rf"\b(?:{r})\s+(?:by|from)\s+(?:the\s+)?([A-Z][\w&’'-]*(?:\s+(?:of\s+)?[A-Z][\w&’'-]*)*)") for r in ROLES
]
ROLE_WORD = [re.compile(rf"\b(?:{r})\b", re.IGNORECASE) for r in ROLES]
ROLE_REACH = 60  # characters after a role word within which the quote names who has it


def swapped_role(claim: str, quote: str) -> bool:
    """Does the claim give a body named in the quote a role the quote does not give it? ("The Hub is
    funded by the National House-Building Council" against "set up by the National House-Building
    Council with seed corn funding from DCLG"). A body the quote does not name is ``names``' concern."""
    said = quote.lower()
    words = set(re.findall(r"[\w&’'-]+", said))
    for claim_role, quote_role in zip(ROLE_CLAIM, ROLE_WORD, strict=True):
        for m in claim_role.finditer(claim):
            body = {w for w in re.findall(r"[\w&’'-]+", m.group(1).lower()) if w != "of"}
            if not body & words:
                continue
            given = [said[r.end() : r.end() + ROLE_REACH] for r in quote_role.finditer(quote)]
            if not any(body & set(re.findall(r"[\w&’'-]+", after)) for after in given):
                return True
    return False


def names(text: str) -> set[str]:
    """Capitalised words past a sentence's first word: the people, places and bodies a claim names."""
    return {w.lower().split("-")[0] for w in NAME_WORD.findall(text.strip(" \"“‘'"))}
