"""Case names: the initiative, organisation or place a sentence says did something, as the text gives it.

Shared by the precedent composer (one entry per named case) and the case library built at ingest.
"""

from __future__ import annotations

import re

from rag.core.text import display

ACTION = re.compile(
    r"\b(set up|established?|launched|ran|runs|asked|gave|created|founded|funded|took|taken|works? with|"
    r"looks? at|commissioned|partnered|opened|formed|signed|built|building|released|piloted|example)\b",
    re.IGNORECASE,
)
NAME = re.compile(r"(?:[A-Z][\w’'&.-]*[A-Za-z](?:\s+(?:of|and|for|the|de|&)\s+|\s+)){1,5}[A-Z][\w’'&.-]*[A-Za-z]")
QUOTED_NAME = re.compile(r"[‘“'\"]([A-Z][\w-]{1,30}(?: [\w-]{1,20}){0,3})[’”'\"]")
GENERIC_NAMES = {"The Report", "The", "This", "Our", "In", "It", "Big Society", "Public Managers", "Government"}
NOT_A_NAME_START = {"The", "This", "Our", "A", "An", "In", "It", "But", "And", "Now", "So", "Today", "Tonight"}


def case_name(sentence: str) -> str | None:
    """The name of the case a sentence says did something, as the text gives it: a quoted name
    ("‘A-teams’"), or the proper-noun phrase nearest the action verb. None without an action."""
    body = display(sentence)
    verbs = [m.start() for m in ACTION.finditer(body)]
    if not verbs:
        return None
    quoted = QUOTED_NAME.search(body)
    if quoted:
        return quoted.group(1)
    names = []
    for m in NAME.finditer(body):
        words = re.sub(r"[’']s$", "", m.group(0).strip(" .,;:’'")).split()
        while words and words[0] in NOT_A_NAME_START:
            words = words[1:]
        name = " ".join(words)
        if len(words) >= 2 and name not in GENERIC_NAMES:
            names.append((min(abs(m.start() - v) for v in verbs), name))
    return min(names)[1] if names else None
