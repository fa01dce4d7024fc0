"""The passages composer on generic constructs: a list under its lead-in, a paragraph, a table, a
list cut by a passage boundary, links and highlights; then over the real corpus, grounded."""

from __future__ import annotations

import re

import pytest

from rag.answer.compose import Budget, PassageComposer
from rag.answer.model import Mode
from rag.answer.pipeline import AnswerPipeline
from rag.answer.units import units
from rag.answer.verify import Verifier
from rag.core.config import Settings
from rag.core.models import SearchResult
from rag.index.embeddings import MiniLMEmbeddings
from rag.index.retrieval import SearchIndex
from tests.conftest import CORPUS
from tests.rag.test_answers import assert_grounded

GUIDE = """Usability testing shows how people use a service. It is cheap to run.

To run a usability session:
- Recruit five people who use the service.
- Write tasks that match what they need to do.
- Watch each person try the tasks without helping them.
- Write up what went wrong and fix it first.

Some teams also keep a research log.

Other things to pack for a field visit:
- A charged laptop and its power cable.
- Consent forms printed on paper.
"""

TABLE = """| Stage | What it requires |
| --- | --- |
| Discovery | Research with the people who will use the service. |
| Alpha | Prototypes tested with users before any build. |
"""


class FlatIdf:
    """A lexical stand-in: every word equally rare (unit tests only)."""

    @staticmethod
    def idf(token: str) -> float:
        return 1.0


def passage(text: str, doc: str = "guide", start: int = 0, score: float = 1.0, cid: str = "") -> SearchResult:
    return SearchResult(chunk_id=cid or f"{doc}-{start}", doc_id=doc, title="Service guide", section="Research",
                        text=text, score=score, char_start=start, char_end=start + len(text))  # fmt: skip


def composer(embeddings: MiniLMEmbeddings, words: int = 200) -> PassageComposer:
    return PassageComposer(embeddings, FlatIdf(), Budget(words=words))  # type: ignore[arg-type]


def test_units_are_the_authors_paragraphs_and_lists_with_their_lead_ins() -> None:
    found = units([passage(GUIDE)], primary=1)
    assert [u.kind for u in found] == ["paragraph", "list", "paragraph", "list"]
    steps = found[1]
    assert steps.lead_in is not None and steps.lead_in.text == "To run a usability session:"
    assert steps.pieces[0].text == "- Recruit five people who use the service."
    assert len(steps.pieces) == 4 and all(p.item for p in steps.pieces)
    assert len(found[0].pieces) == 2  # both sentences of the paragraph, in reading order


def test_a_list_cut_by_a_passage_boundary_is_whole_again() -> None:
    cut = GUIDE.index("- Watch")
    first, second = passage(GUIDE[: cut + 10], start=0), passage(GUIDE[cut - 40 :], start=cut - 40, score=0.0)
    steps = next(u for u in units([first, second], primary=1) if u.lead_in is not None)
    assert len(steps.pieces) == 4
    assert {p.source for p in steps.pieces} == {1, 2}  # each item cited from a passage that holds it whole


def test_a_table_keeps_its_header_row() -> None:
    (table,) = units([passage(TABLE)], primary=1)
    assert table.kind == "table" and table.lead_in is not None and "What it requires" in table.lead_in.text
    assert len(table.pieces) == 2


def test_a_howto_answer_is_one_authors_list_in_its_order_with_its_lead_in(embeddings: MiniLMEmbeddings) -> None:
    sources = [passage(GUIDE)]
    draft = composer(embeddings).draft("How do I run a usability test with users?", sources, Mode.howto)
    lines = draft.splitlines()
    assert lines[0].startswith(("To run a usability session:", "**To run a usability session:"))
    steps = [re.sub(r"\*\*|\s*\[\d+\]", "", ln) for ln in lines[1:5]]
    assert steps == ["1. Recruit five people who use the service.", "2. Write tasks that match what they need to do.",
                     "3. Watch each person try the tasks without helping them.",
                     "4. Write up what went wrong and fix it first."]  # fmt: skip
    assert "Consent forms" not in draft  # never items of another list
    verified = Verifier(embeddings, 0.5).verify(draft, sources, whole_units=True)
    assert not verified.dropped and len(verified.citations) == draft.count("[")


def test_the_answer_stays_within_its_word_budget_and_the_lead_is_cut_not_dropped(
    embeddings: MiniLMEmbeddings,
) -> None:
    draft = composer(embeddings, words=40).draft("How do I run a usability session?", [passage(GUIDE)], Mode.howto)
    words = len(re.sub(r"\[\d+\]|\*\*", "", draft).split())
    assert 0 < words <= 40 + 8  # whole pieces: the last one kept may end past the budget by its own length
    assert "Recruit five people" in draft


def test_links_read_as_their_text_and_the_citation_keeps_the_markdown(embeddings: MiniLMEmbeddings) -> None:
    text = "To take a page down, follow the [remove outdated content instructions](https://example.org/remove)."
    sources = [passage(text)]
    draft = composer(embeddings).draft("How do I take an old page down?", sources, Mode.explain)
    assert "remove outdated content instructions" in draft and "https://" not in draft and "](" not in draft
    verified = Verifier(embeddings, 0.5).verify(draft, sources, whole_units=True)
    assert verified.citations and verified.citations[0].quote == text


def test_the_sentences_that_answer_are_highlighted(embeddings: MiniLMEmbeddings) -> None:
    sources = [passage(GUIDE)]
    draft = composer(embeddings).draft("Is usability testing expensive?", sources, Mode.explain)
    verified = Verifier(embeddings, 0.5).verify(draft, sources, whole_units=True)
    bold = [c.quote for c in verified.citations if c.highlight]
    assert bold and len(bold) < len(verified.citations)
    assert all(f"**{q.lstrip('- ')}**" in verified.text for q in bold)


@pytest.mark.parametrize(
    "question",
    ["How can I give civil servants time to innovate?", "Who set up the Zero Carbon Hub?"],
)
def test_passage_answers_on_the_real_corpus_are_grounded(corpus_index: SearchIndex, question: str) -> None:
    settings = Settings(data_dir=corpus_index.settings.data_dir, corpus_dir=CORPUS, generator="passages")
    answer = AnswerPipeline(settings, corpus_index).ask(question)
    assert not answer.refused and answer.generator == "passages"
    assert_grounded(answer, CORPUS)
    assert any(c.highlight for c in answer.citations)
    assert len(re.sub(r"\[\d+\]|\*\*", "", answer.answer).split()) <= settings.answer_words + 60  # + source lines


def test_an_llm_is_given_the_units_with_source_numbers_that_resolve(embeddings: MiniLMEmbeddings) -> None:
    sources = [passage("An unrelated opening paragraph about office plants and their care."), passage(GUIDE)]
    focus = composer(embeddings).focus("How do I run a usability session?", sources, Mode.howto)
    assert 2 in focus
    lines = focus[2].splitlines()
    assert lines[0] == "To run a usability session:" and "- Recruit five people who use the service." in lines
    assert all(line in GUIDE for line in lines)  # verbatim, so [2] resolves to the passage that holds it


def test_a_quoted_passage_reads_without_its_blockquote_marks(embeddings: MiniLMEmbeddings) -> None:
    text = "> Teams that test early with five users find most of the problems in a service."
    sources = [passage(text)]
    draft = composer(embeddings).draft("How many users find most problems?", sources, Mode.explain)
    assert draft.lstrip("*").startswith("Teams that test early") and ">" not in draft
    verified = Verifier(embeddings, 0.5).verify(draft, sources, whole_units=True)
    assert verified.citations and verified.citations[0].quote == text
