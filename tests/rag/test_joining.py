"""One citation per unit: consecutive quotes of adjacent text in one passage share a citation."""

from __future__ import annotations

from rag.answer.joining import adjacent, joined
from rag.answer.model import Citation
from rag.core.models import SearchResult
from rag.core.text import Span

TEXT = (
    "Plan the sessions early. Book a quiet room.\n\n"
    "To prepare:\n- Write the tasks.\n- **Print** the consent forms.\n\n"
    "## Afterwards\n\nWrite up what went wrong."
)


def passage(text: str = TEXT, chunk_id: str = "c1") -> SearchResult:
    return SearchResult(chunk_id=chunk_id, doc_id="guide", title="Guide", section="", text=text, score=1.0,
                        char_start=0, char_end=len(text))  # fmt: skip


def cite(citations: list[Citation], src: SearchResult, quote: str, highlight: bool = False,
         sources: list[SearchResult] | None = None) -> int:  # fmt: skip
    """What verification does for one supported sentence: extend the last citation or start one."""
    start = src.text.index(quote)
    span = Span(quote, start, start + len(quote))
    n = joined(citations, sources or [src], src, span, 0.9, highlight) or len(citations) + 1
    if n > len(citations):
        citations.append(Citation.quoting(n, src, span, 0.9, highlight))
    return n


def test_a_paragraphs_sentences_are_one_citation_with_the_answering_one_marked() -> None:
    citations: list[Citation] = []
    src = passage()
    assert [cite(citations, src, q, q.startswith("Book")) for q in
            ("Plan the sessions early.", "Book a quiet room.")] == [1, 1]  # fmt: skip
    (c,) = citations
    assert c.quote == "Plan the sessions early. Book a quiet room." and (c.char_start, c.char_end) == (0, 43)
    assert [c.quote[a:b] for a, b in c.highlights] == ["Book a quiet room."] and c.highlight


def test_a_list_and_its_lead_in_are_one_citation_across_bullets_and_emphasis() -> None:
    citations: list[Citation] = []
    src = passage()
    quotes = ["To prepare:", "- Write the tasks.", "- **Print** the consent forms."]
    assert [cite(citations, src, q) for q in quotes] == [1, 1, 1]
    assert citations[0].quote == "To prepare:\n- Write the tasks.\n- **Print** the consent forms."


def test_a_blank_line_a_heading_a_skipped_sentence_or_another_passage_starts_a_new_citation() -> None:
    citations: list[Citation] = []
    src, other = passage(), passage(chunk_id="c2")
    assert cite(citations, src, "Book a quiet room.") == 1
    assert cite(citations, src, "To prepare:") == 2  # a blank line ends the paragraph
    assert cite(citations, src, "Write up what went wrong.") == 3  # past a heading
    assert cite(citations, other, "Plan the sessions early.") == 4
    assert cite(citations, other, "To prepare:") == 5  # "Book a quiet room." between was not quoted
    assert [c.n for c in citations] == [1, 2, 3, 4, 5]
    table = passage("| Town | Cost |\n| A | £1 |\n| B | £2 |", chunk_id="c3")
    assert [cite(citations, table, row) for row in ("| A | £1 |", "| B | £2 |")] == [6, 7]  # records
    assert adjacent("A.", " ", "B.") and adjacent("- A.", "\n", "- B.") and adjacent("1. A.", "\n  2. **", "B.**")
    assert adjacent("This requires:", "\n\n", "• B.") and adjacent("• A.", "\n\n", "•\xa0B.")  # a loose list
    assert not adjacent("A.", "\n\n", "B.") and not adjacent("A.", "\n\n", "- B.") and not adjacent("A.", " x ", "B.")


def test_a_lead_in_a_chunk_boundary_parted_from_its_list_is_one_citation_with_it() -> None:
    doc = "Some context here. To run the session you need:\n\n- A quiet room.\n- Two observers.\n\nLater text."
    cut = doc.index("- A quiet")

    def part(a: int, b: int, chunk_id: str) -> SearchResult:
        return SearchResult(chunk_id=chunk_id, doc_id="guide", title="Guide", section="", text=doc[a:b],
                            score=1.0, char_start=a, char_end=b)  # fmt: skip

    head, tail = part(0, cut, "a"), part(cut - 2, len(doc), "b")  # overlapping by the blank line
    sources = [tail, head]
    citations: list[Citation] = []

    quotes = [(head, "To run the session you need:"), (tail, "- A quiet room."), (tail, "- Two observers.")]
    assert [cite(citations, src, q, q.startswith("- Two"), sources) for src, q in quotes] == [1, 1, 1]
    (c,) = citations
    assert c.quote == "To run the session you need:\n\n- A quiet room.\n- Two observers."
    assert doc[c.char_start : c.char_end] == c.quote and c.chunk_id == "a"
    assert c.passage == doc and [c.quote[a:b] for a, b in c.highlights] == ["- Two observers."]
    assert (
        cite(citations, tail, "Later text.", sources=sources) == 2
    )  # a blank line after a list ends the unit, across chunks too
