from __future__ import annotations

from rag.core.text import sentences


def test_hard_wrapped_prose_stays_one_sentence_with_exact_offsets() -> None:
    text = "# Title\n\nThe parish set up a tool library, run by volunteers\nfrom the allotment society. It grew.\n"
    spans = sentences(text)
    assert [" ".join(s.text.split()) for s in spans] == [
        "# Title",
        "The parish set up a tool library, run by volunteers from the allotment society.",
        "It grew.",
    ]
    assert all(text[s.start : s.end] == s.text for s in spans)


def test_list_items_and_finished_lines_still_split() -> None:
    text = "Suggestions for civil servants:\n– tithes of working time\n– secondments into skunkworks\nDone"
    assert [s.text for s in sentences(text)] == [
        "Suggestions for civil servants:",
        "– tithes of working time",
        "– secondments into skunkworks",
        "Done",
    ]


def test_plain_reads_links_as_text_and_drops_bold_marks_even_when_a_sentence_cut_left_one_alone() -> None:
    from rag.core.text import plain

    assert plain("See the [guide](https://example.org/g) for **more**.") == "See the guide for more."
    assert (
        plain("**Keep in mind some activities need no clearance.") == "Keep in mind some activities need no clearance."
    )
    assert plain("Direct observation is one of them.**") == "Direct observation is one of them."
    assert plain("They may write their own plan. *") == "They may write their own plan."  # italics cut apart
    assert plain("We strongly advise against *this*.*") == "We strongly advise against this."


def test_plain_reads_a_heading_written_inside_a_list_item_as_its_text() -> None:
    from rag.core.text import plain

    assert plain("2. ### Investigation is research on named sources.") == "Investigation is research on named sources."
    assert plain("> ## Quoted heading") == "Quoted heading"
    assert plain("Issue #3 stays, and so does C# 12.") == "Issue #3 stays, and so does C# 12."


def test_a_name_is_a_proper_noun_or_entity_not_any_capitalised_word() -> None:
    """Capitals alone made "OK" and "PM" names the library never uses, and the refusal gate turned
    the question away; spaCy's tagger tells an interjection or a job title from a name."""
    from rag.core.language import names_in

    assert names_in("OK, so how do we pick that person?") == []
    assert names_in("Is it OK if links stand out only by colour?") == []
    assert names_in("What did the Big Lottery Fund do in Bogotá?") == [
        frozenset({"big", "lotteri", "fund"}),
        frozenset({"bogota"}),
    ]
    assert names_in("How do I pay tax in the UK?") == [frozenset({"uk"})]
    assert names_in("What is co-production?") == []  # a sentence's first word is no name


def test_a_star_bullet_opens_its_own_item_and_is_not_taken_for_a_closing_mark() -> None:
    """A ``*`` after a sentence may close bold ("**Done.**"); one that opens a line is an item's bullet."""
    text = (
        "## See also\n\n* [Storing code](code.html)\n  * [Git](git.html)\n* Working with Git\n\n"
        "**Keep it short.** Then stop."
    )
    assert [s.text for s in sentences(text)] == [
        "## See also",
        "* [Storing code](code.html)",
        "* [Git](git.html)",
        "* Working with Git",
        "**Keep it short.**",
        "Then stop.",
    ]
