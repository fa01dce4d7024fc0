"""The lists of the passages, read as lists: an answer that leads with one item of a list under a
lead-in gives its fellow items too, and one that leads with a sentence announcing a list
("... on three related fronts.") gives the items it announces."""

from __future__ import annotations

import re

from rag.answer.candidates import ADJACENT, announced
from rag.answer.selection import Candidate
from rag.answer.sentences import needs_antecedent
from rag.core.models import SearchResult

CONTINUES = re.compile(r"^\W*(?:and|also|plus)\b", re.IGNORECASE)  # a lead-in going on with the list before
LIST_FLOOR = 0.5  # an item of the list the answer leads with joins it at this share of the best score


def siblings(
    picked: list[Candidate], cands: list[Candidate], sources: list[SearchResult], limit: int
) -> list[Candidate]:
    """The list the answer leads with, whole: when the best sentence is one item of a list under
    a lead-in ("Its key features include:"), its fellow items that score at least ``LIST_FLOOR``
    of it answer too, in the list's order, in its place."""
    lead = picked[0] if picked else None
    if lead is None or not lead.context:
        return picked
    doc = sources[lead.source - 1].doc_id
    floor = LIST_FLOOR * max(c.score for c in picked)
    mine = [c for c in cands if c.context and not c.card and sources[c.source - 1].doc_id == doc]
    lists = continued(mine, lead.context)
    items = sorted((c for c in mine if c.context in lists and c.score >= floor), key=lambda c: c.order)
    if len(items) < 2:
        return picked
    return (items + [c for c in picked if c not in items])[:limit]


def continued(items: list[Candidate], context: str) -> set[str]:
    """The lead-ins of the lists that make one with the list under ``context``: a lead-in that
    opens with "And" ("And of particular interest for civil servants:") goes on with the list
    before it."""
    firsts: dict[str, int] = {}
    for c in sorted(items, key=lambda c: c.order):
        firsts.setdefault(c.context, c.order)
    chain: list[str] = []
    for lead_in in sorted(firsts, key=firsts.__getitem__):
        if chain and not CONTINUES.match(lead_in):
            if context in chain:
                break
            chain = []
        chain.append(lead_in)
    return set(chain) if context in chain else {context}


def announced_items(
    picked: list[Candidate], cands: list[Candidate], sources: list[SearchResult], limit: int
) -> list[Candidate]:
    """When the best sentence announces a list, by counting it ("... on three related fronts.") or
    by a lead-in after it that points back to it ("The report provides a framework ... This
    requires:"), the answer is that sentence and the first sentence of each item that follows
    it, in order: the announcement alone answers nothing. Items must be among the passages (a
    neighbouring chunk counts)."""
    lead = picked[0] if picked else None
    if lead is None or lead.card:
        return picked
    src = sources[lead.source - 1]
    end = src.locate(lead.span.start, lead.span.end)[1]
    heads = sorted((c for c in cands if c.item and not c.card and sources[c.source - 1].doc_id == src.doc_id
                    and c.order > end), key=lambda c: c.order)  # fmt: skip
    if not heads:
        return picked
    first, count = heads[0], announced(lead.span.text)
    if count and first.order - end <= ADJACENT:  # the list starts right after the sentence
        items = [c for c in heads if c.item == first.item][:count]
    elif (
        first.context not in ("", lead.context)  # a list the sentence is not an item of ...
        and needs_antecedent(first.context)  # ... under a lead-in that points back to it, right after it
        and len(first.context) <= first.order - end <= len(first.context) + ADJACENT
    ):
        items = []  # its items, and after them those of a passage cut inside the list (no lead-in)
        for c in heads:
            if c.item != first.item or c.context not in (first.context, ""):
                break
            items.append(c)
        items = items[: limit - 1]
    else:
        return picked
    return [lead, *items] if len(items) > 1 else picked
