"""What the library does not say, said plainly: missing parts named, a premise it does not bear out
corrected first, and a sentence that points back never shown without what it points to."""

from __future__ import annotations

import pytest

from rag.answer.contrast import contrast_terms
from rag.answer.coverage import Sentence, not_stated, parts, unfounded_why, unsupported_premise
from rag.answer.model import Mode
from rag.answer.notes import is_note, is_source_line, not_stated_note
from rag.answer.pipeline import AnswerPipeline
from rag.answer.sentences import asked_meaning, defines, needs_antecedent
from rag.core.text import content_tokens
from rag.index.retrieval import SearchIndex
from tests.rag.test_answers import assert_grounded

ZCH_SENTENCE = (
    "The report looks at the Zero Carbon Hub, set up by the National House-Building Council with seed corn "
    "funding from DCLG, which has successfully taken responsibility for implementing the Government’s "
    "commitment to make new homes carbon neutral by 2016."
)


@pytest.fixture(scope="module")
def pipeline(corpus_index: SearchIndex) -> AnswerPipeline:
    return AnswerPipeline(corpus_index.settings, corpus_index)


def test_a_question_is_read_as_its_parts() -> None:
    two = parts("Which body runs the Zero Carbon Hub, and what is its annual budget?")
    assert [p.text for p in two] == ["Which body runs the Zero Carbon Hub", "what is its annual budget"]
    assert [a.name for a in two[1].asks] == ["budget"]
    # a statement before the question is not a part of it
    assert [p.text for p in parts("Manchester's council runs an office, doesn't it? What does it do?")] == [
        "What does it do"
    ]


def test_a_part_is_stated_only_by_a_sentence_that_gives_what_it_asks() -> None:
    pool = [Sentence(ZCH_SENTENCE)]
    assert not_stated("Who set up the Zero Carbon Hub, and who paid for it?", pool) == []
    assert not_stated("Which body runs the Zero Carbon Hub, and what is its annual budget?", pool) == [
        "what is its annual budget"
    ]
    # a sentence that only asks ("is it still their policy?") states nothing
    google = [Sentence("Tithes of working time (Google’s 20% is often mentioned, but is it still their policy?)")]
    assert not_stated("Does Google still give staff a fifth of their time?", google) == [
        "Does Google still give staff a fifth of their time"
    ]
    # who paid is read from a sentence that names the subject, not from a neighbour about financing
    sunderland = [
        Sentence("The report looks at Sunderland City Council’s ‘virtual’ back office for local entrepreneurs."),
        Sentence("When resources are scarce, new types of financing are crucial.", previous="The report looks at ..."),
    ]
    assert not_stated("What does Sunderland offer, and who is paying for it?", sunderland) == ["who is paying for it"]
    # a year is not a count: "carbon neutral by 2016" does not say how many staff the Hub has
    assert not_stated("Which body set up the Zero Carbon Hub, and how many staff does it employ?", pool) == [
        "how many staff does it employ"
    ]
    assert not_stated("How many residents gave?", [Sentence("The Mayor asked, and 63,000 residents gave!")]) == []
    # "what came of them" asks for a result, which a sentence naming the A-teams does not give
    teams = [Sentence("‘A-teams’ of young civil servants commissioned to develop innovative solutions")]
    assert not_stated("And what came of the A-teams?", teams) == ["And what came of the A-teams"]
    assert not_stated("Were the A-teams a success?", teams) == ["Were the A-teams a success"]
    hub = [Sentence(ZCH_SENTENCE)]  # "has successfully taken responsibility"
    assert not_stated("Did the Zero Carbon Hub work?", hub) == []
    # "how do we know if they work?" asks for a result too; "In effect" is not one
    effect = [Sentence("In effect we will need to take the same approach to support for ‘Big Citizens’.")]
    assert not_stated("And how do we know if they work?", effect) == ["And how do we know if they work"]
    # "how should I judge ...?" asks how success is measured: that the Hub succeeded does not say it
    assert not_stated("How should I judge whether a scheme is working?", hub) == [
        "How should I judge whether a scheme is working"
    ]
    measured = [Sentence("Success should be measured by the impact of interventions, the real benefits to lives.")]
    assert not_stated("How should I judge whether a scheme is working?", measured) == []
    assert not_stated("And how do we know if they work?", measured) == []
    # "should work together" is working alongside, not succeeding: it asks for no result
    partners = [Sentence("The report calls for the state, business and citizens to act as collaborative partners.")]
    assert not_stated("Which organisations does the framework say should work together?", partners) == []
    # "according to Biden" names who says it: a sentence stating the cost of junk fees need not name him,
    # but it must speak of what is asked (a $700 billion military budget is not the new branch's)
    speech = frozenset(content_tokens("State of the Union 2024 (Joseph R. Biden Jr.) Donald J. Trump"))
    fees = [Sentence("I'm saving American families $20 billion a year with all of the junk fees I'm eliminating.")]
    assert not_stated("How much do junk fees cost families according to Biden in 2024?", fees, "", speech) == []
    military = [Sentence("We have begun to rebuild the United States military, with $700 billion in funding.")]
    assert not_stated("What new military branch did Trump announce, and what is its budget?", military, "", speech) == [
        "what is its budget"
    ]
    # a follow-up about Sunderland City Council's back office is not answered by the Zero Carbon Hub's
    # sentence because both name a "Council"
    sunderland_turn = "Give me an example of a council working with entrepreneurs like Sunderland City Council’s"
    assert not_stated("Did it work?", pool, sunderland_turn) == ["Did it work"]
    assert not_stated("Who paid for it?", pool, sunderland_turn) == ["Who paid for it"]
    assert not_stated("Who paid for it?", pool, "Who set up the Zero Carbon Hub?") == []
    # a share is not a count: "two case studies" does not say what percentage of services they deliver
    two = [Sentence("The purpose of this paper is to compare two case studies of public service delivery.")]
    assert not_stated("What percentage of public services do social enterprises deliver?", two) == [
        "What percentage of public services do social enterprises deliver"
    ]
    assert not_stated("What share of public services do they deliver?", [Sentence("They deliver half of them.")]) == []
    # "how do I start one", "how can I fund it" ask how to, not who started or paid: no such part is missing
    skunk = [Sentence("Secondments into ‘skunkworks‘ projects: basically given a free role, unhampered by bureaucracy")]
    assert not_stated("How do I start a skunkworks team in my department?", skunk) == []
    assert not_stated("How can I fund a skunkworks team?", skunk) == []
    assert not_stated("Who started the skunkworks projects?", skunk) == ["Who started the skunkworks projects"]
    # "how do social enterprises make money" asks how they do it: a part the passages must state
    assert not_stated("How do social enterprises make their money?", skunk) == [
        "How do social enterprises make their money"
    ]


def test_a_premise_the_passages_do_not_bear_out_is_found() -> None:
    passages = [ZCH_SENTENCE, "have a dedicated innovation fund, like the NHS’s £200m fund"]
    assert unsupported_premise(
        "I read that Greenpeace runs the Zero Carbon Hub. Is that right?", passages, passages
    ) == ("Greenpeace")
    assert unsupported_premise("Why was the zero-carbon homes deadline put at 2030?", passages, passages) == "2030"
    assert unsupported_premise("What did the NHS do with its £2bn fund?", passages, passages) == "£2bn"
    for fine in ("Who set up the Zero Carbon Hub?", "How big is the NHS fund?", "Was the 2016 target met?"):
        assert unsupported_premise(fine, passages, passages) is None
    # a count the best sentences give differently: "two bipolar case studies" against "three case studies"
    counted = ["The purpose of this paper is to compare two bipolar case studies.", "progress depends on three fronts."]
    assert unsupported_premise("What do the three case studies show?", counted, counted) == "three"
    assert unsupported_premise("What do the two case studies show?", counted, counted) is None
    # "Green" in the passages is not "Greenpeace"; "South Aus" in the text is "South Australian" in a question
    assert unsupported_premise("Tell me about the South Australian teams.", ["this South Aus example"], []) is None


def test_notes_read_as_sentences() -> None:
    assert not_stated_note("what is its annual budget") == "The library does not say what its annual budget is."
    assert not_stated_note("who is paying for it") == "The library does not say who is paying for it."
    assert not_stated_note("how much was raised") == "The library does not say how much was raised."
    assert (
        not_stated_note("where are the two case studies based")
        == "The library does not say where the two case studies are based."
    )
    assert (
        not_stated_note("Who are the people behind the Open Data Institute")
        == "The library does not say who the people behind the Open Data Institute are."
    )
    assert not_stated_note("how much did the UK spend") == "The library does not say how much the UK spent."
    assert not_stated_note("why did they stop") == "The library does not say why they stopped."
    assert not_stated_note("How should we measure the social value of a partnership") == (
        "The library does not say how we should measure the social value of a partnership."
    )
    assert not_stated_note("How much did the Zero Carbon Hub cost") == (
        "The library does not say how much the Zero Carbon Hub cost."
    )
    assert is_note(not_stated_note("Did the hub hit its 2016 target"))
    assert (
        not_stated_note("What percentage of public services do social enterprises deliver")
        == "The library does not say what percentage of public services social enterprises deliver."
    )
    assert not_stated_note("When was the Open Book post published") == (
        "The library does not say when the Open Book post was published."
    )
    # "how many firms has it helped", the "when" left of "Who wrote it, and when?"
    assert not_stated_note("how many firms has it helped") == "The library does not say how many firms it has helped."
    assert not_stated_note("when") == "The library does not say when."
    # a yes/no "Did ...?" part reads as "whether ...", the verb in the past; a subject it cannot
    # read safely ("the council and the college") keeps the question's own words
    assert not_stated_note("Did the Zero Carbon Hub meet its 2016 target") == (
        "The library does not say whether the Zero Carbon Hub met its 2016 target."
    )
    assert (
        not_stated_note("Did Bogotá raise more money") == "The library does not say whether Bogotá raised more money."
    )
    assert not_stated_note("Did the council and the college agree").endswith("“Did the council and the college agree?”")


def test_a_figure_asked_of_a_place_the_library_only_names_is_not_stated(pipeline: AnswerPipeline) -> None:
    """ "What is the population of Sunderland?" asks a figure; the library names Sunderland and
    gives none, so the answer says so rather than standing on the back-office sentence alone."""
    answer = pipeline.ask("What is the population of Sunderland?")
    assert "The library does not say what the population of Sunderland is." in answer.answer, answer.answer
    fe = pipeline.ask("How should a council start working with further education colleges?")
    assert "Zero Carbon Hub" not in fe.answer, fe.answer  # "start working" asks no founder
    assert (
        not_stated_note("Were the A-teams a success") == "The library does not say whether the A-teams were a success."
    )
    assert not_stated_note("Did it work") == "The library does not say whether it worked."
    assert not_stated_note("how is it funded") == "The library does not say how it is funded."
    # "do" as a verb is not the question's auxiliary: "did" is, and its verb is put in the past
    assert (
        not_stated_note("What did Obama want to do about it")
        == "The library does not say what Obama wanted to do about it."
    )


def test_a_partly_covered_answer_quotes_only_passages_about_its_subject(pipeline: AnswerPipeline) -> None:
    """Not padded with nearby sentences on budgets in general: what is stated of the ODI, then the gap."""
    answer = pipeline.ask("What is the annual budget of the Open Data Institute?")
    assert not answer.refused and answer.citations
    assert all("Open Data Institute" in c.quote for c in answer.citations), [c.quote for c in answer.citations]
    assert "The library does not say what the annual budget of the Open Data Institute is." in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_partly_covered_answer_answers_the_part_it_can_and_names_the_rest(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("Which body runs the Zero Carbon Hub, and what is its annual budget?")
    assert not answer.refused
    assert "National House-Building Council" in answer.answer.splitlines()[0]  # the answer leads
    lines = [ln for ln in answer.answer.splitlines() if ln.strip() and not is_source_line(ln)]
    assert lines[-1] == "The library does not say what its annual budget is."  # then what its sources are
    assert answer.not_stated == ["what is its annual budget"] and answer.premise is None
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_false_premise_is_corrected_first_with_the_passage_that_corrects_it(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("I read that Greenpeace runs the Zero Carbon Hub. Is that right?")
    first, *rest = [line for line in answer.answer.splitlines() if line.strip()]
    assert first.startswith("The question assumes “Greenpeace”") and answer.premise == "Greenpeace"
    assert any("National House-Building Council" in c.quote for c in answer.citations)
    assert "Greenpeace" not in "\n".join(rest)
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_plain_question_gets_no_notes(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("Who set up the Zero Carbon Hub?")
    assert answer.not_stated == [] and answer.premise is None
    assert not any(is_note(line) and not is_source_line(line) for line in answer.answer.splitlines())


def test_streamed_notes_add_up_to_the_answer(pipeline: AnswerPipeline) -> None:
    question = "I read that Greenpeace runs the Zero Carbon Hub, and what is its annual budget?"
    events = list(pipeline.stream(question))
    final = events[-1].answer
    assert final is not None and final.premise == "Greenpeace" and final.not_stated
    assert "".join(e.text for e in events if e.event == "delta") == final.answer
    assert final.answer == pipeline.ask(question).answer


def test_a_sentence_needs_its_antecedent_only_when_it_leans_on_it() -> None:
    assert needs_antecedent("By doing this, the service users become advocates for the organisation.")
    assert needs_antecedent("Consequently it offers novel insights into relationship management.")
    assert needs_antecedent("This paper evaluates the evidence for such claims for their innovative capacity.")
    # a connective that names its own subject reads alone
    assert not needs_antecedent("In contrast, the second case focuses upon the continuous management by users.")
    assert not needs_antecedent("This report looks at the Zero Carbon Hub.")


@pytest.mark.parametrize(
    "question",
    [
        "Why is the Big Society called a two-way deal?",  # "It represents a social contract ..."
    ],
)
def test_a_sentence_that_points_back_comes_right_after_its_antecedent(pipeline: AnswerPipeline, question: str) -> None:
    answer = pipeline.ask(question)
    quotes = answer.citations
    pointing = [i for i, c in enumerate(quotes) if needs_antecedent(c.quote)]
    assert pointing, "this question's answer should quote a sentence that points back"
    for i in pointing:
        assert i > 0, f"{quotes[i].quote!r} is quoted first, without the sentence it points back to"
        before, this = quotes[i - 1], quotes[i]
        assert before.doc_id == this.doc_id and 0 <= this.char_start - before.char_end <= 2, (before.quote, this.quote)


def test_contrast_questions_get_one_part_per_term(pipeline: AnswerPipeline) -> None:
    assert contrast_terms("What is the difference between shared values and shared resources?") == (
        "shared values",
        "shared resources",
    )
    answer = pipeline.ask("What is the difference between shared values and shared resources?", mode=Mode.explain)
    heads = [line.split("**")[1] for line in answer.answer.splitlines() if line.startswith("- **")]
    assert heads == ["Shared values", "Shared resources"]
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_what_a_case_did_is_named_as_not_stated_when_the_case_library_has_no_action() -> None:
    from rag.answer.gaps import actions_not_stated
    from rag.cases.model import CaseQuote, CaseRecord

    did = CaseQuote(quote="set up the hub", doc_id="d", char_start=0, char_end=14)
    named_only = CaseRecord(id="odi", name="Open Data Institute")
    acted = CaseRecord(id="zch", name="Zero Carbon Hub", what=[did])
    records = [named_only, acted]
    odi = "What did the Open Data Institute do"
    assert actions_not_stated(odi + "?", records) == [odi]
    assert actions_not_stated("What did the Zero Carbon Hub do?", records) == []
    assert actions_not_stated("What did the Eden Project do?", records) == []  # not a case the library knows
    assert not_stated_note("What did the Open Data Institute do") == (
        "The library does not say what the Open Data Institute did."
    )


def test_an_answer_says_the_library_does_not_say_what_a_case_it_only_names_did(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("What did the Open Data Institute do?")
    assert not answer.refused and answer.citations
    assert "The library does not say what the Open Data Institute did." in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_term_the_library_uses_but_never_defines_is_named_as_not_stated(pipeline: AnswerPipeline) -> None:
    answer = pipeline.ask("What does enlightened enterprise mean in the 2012 report?")
    assert not answer.refused and "enlightened enterprise" in answer.answer
    assert "The library does not say what enlightened enterprise means." in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_question_about_the_risks_of_something_asks_for_risks_not_a_definition(pipeline: AnswerPipeline) -> None:
    """ "What are the risks of X?" is not "what does 'risks of X' mean?"; when no passage states a
    risk of it, the answer says so instead of leaving nearby sentences to pass for one."""
    assert asked_meaning("What are the risks of innovation in the public sector?") is None
    assert asked_meaning("What is the circular economy?") == "circular economy"
    answer = pipeline.ask("What are the risks of innovation in the public sector?")
    assert "always risks being a marginal add-on" in answer.answer
    assert "The library does not say" not in answer.answer, answer.answer
    answer = pipeline.ask("What are the risks of relying on volunteers to deliver services?")
    assert "The library does not say what the risks of relying on volunteers to deliver services are." in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_what_a_term_means_is_answered_by_its_item_not_the_whole_list(pipeline: AnswerPipeline) -> None:
    """ "Secondments into 'skunkworks' projects: basically given a free role" is one item of a list of
    ways to give staff time to innovate; its fellow items ("Tithes of working time") do not say what
    a skunkworks project is."""
    answer = pipeline.ask("What is a skunkworks project?")
    assert answer.answer.startswith("Secondments into ‘skunkworks‘ projects"), answer.answer
    assert "Tithes of working time" not in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_term_glossed_in_brackets_is_not_called_undefined(pipeline: AnswerPipeline) -> None:
    """ "a new form of value-generating regulation (regulation ‘plus’)" says what regulation plus is."""
    assert defines("… and a new form of value-generating regulation (regulation ‘plus’), seen in …",
                   frozenset(content_tokens("regulation plus")), whole=True)  # fmt: skip
    assert not defines("Regulation plus was mentioned.", frozenset(content_tokens("regulation plus")), whole=True)
    # a clause that opens "Whilst ..." and names the term defines nothing ("What does co-production mean?")
    coproduction = frozenset(content_tokens("co-production"))
    said = "Whilst these approaches to co-productive relationships are different, they both enhanced innovation."
    assert not defines(said, coproduction, whole=True)
    assert defines("Co-production is a relationship in which service users share the work.", coproduction, whole=True)
    # ... or lists it after a colon; a heading's colon ("shared resources: Resource challenges ...") does not
    ethos = frozenset(content_tokens("ethos of service"))
    assert defines("a new culture of service attuned to the public sector ethos of: care, support and duty.", ethos)
    resources = frozenset(content_tokens("shared resources"))
    assert not defines("• Unlocking of new shared resources: Resource challenges present risks.", resources, whole=True)
    assert asked_meaning("What does the citizen centric paper mean by an ethos of service?") == "ethos of service"
    answer = pipeline.ask("What is regulation plus?")
    assert "value-generating regulation" in answer.answer
    assert "does not say what regulation plus means" not in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_term_glossed_between_dashes_is_defined_and_a_quoted_term_is_asked_for_its_meaning(
    pipeline: AnswerPipeline,
) -> None:
    """ "require shared spaces – physical and virtual – to incubate connections" says what kind of
    space is meant; a question that quotes a term ("with 'shared spaces'") asks what it means."""
    spaces = frozenset(content_tokens("shared spaces"))
    assert defines("Economies require shared spaces – physical and virtual – to incubate.", spaces, whole=True)
    assert not defines("New shared spaces – Administration sets the policy strategy.", spaces, whole=True)
    answer = pipeline.ask("What kind of place does the framework have in mind with 'shared spaces'?")
    assert "shared spaces – physical and virtual –" in answer.answer.split("[1]")[0]  # it leads
    answer = pipeline.ask("What is meant by 'shared spaces'?")
    assert "physical and virtual" in answer.answer
    assert "does not say what shared spaces means" not in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_term_the_library_uses_once_is_answered_not_refused(pipeline: AnswerPipeline) -> None:
    """ "What are spin-outs?" reads far from every passage by embedding, but the library uses the
    term ("new public service delivery models (such spin-outs)"): that is what it says of it. A term
    the library never uses is still refused."""
    answer = pipeline.ask("What are spin-outs?")
    assert not answer.refused and "spin-outs" in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)
    assert pipeline.ask("What is photosynthesis?").refused


def test_a_definition_dense_retrieval_missed_is_found_before_saying_there_is_none(pipeline: AnswerPipeline) -> None:
    """ "What do people mean by social productivity?" retrieves passages that only use the term; the
    sentence defining it ("Social productivity calls for ...") is found by its words and leads."""
    answer = pipeline.ask("What do people mean by social productivity?")
    assert answer.answer.startswith("Social productivity calls for a more balanced relationship")
    assert "does not say what social productivity means" not in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_pair_the_library_never_sets_against_each_other_is_named_as_not_contrasted(
    pipeline: AnswerPipeline,
) -> None:
    answer = pipeline.ask("How is shared value different from corporate social responsibility?")
    assert "The library does not say how shared value and corporate social responsibility differ." in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)
    # asked as "is X the same as Y?", and with Y an acronym the passages only spell out ("... (CSR)")
    answer = pipeline.ask("Is shared value the same as corporate social responsibility?")
    assert "The library does not say how shared value and corporate social responsibility differ." in answer.answer
    answer = pipeline.ask("Is shared value different from CSR?")
    assert "The library does not say how shared value and CSR differ." in answer.answer
    # "another name for" asks whether two terms differ, not for a name: one note, not two
    answer = pipeline.ask("Is the Big Society just another name for volunteerism?")
    assert answer.answer.count("The library does not say") == 1, answer.answer
    assert "does not say how Big Society and volunteerism differ" in answer.answer


def test_a_contrast_the_library_draws_is_not_called_missing() -> None:
    from rag.answer.contrast import contrasted, explicit_contrast

    assert explicit_contrast("Should Big Society work be judged on targets or on outcomes?") is None  # loose "or"
    pair = explicit_contrast("How does the first case differ from the second case?")
    assert pair is not None
    said = ["In contrast, the second case focuses upon the continuous management by service users."]
    assert contrasted(pair, said)
    assert not contrasted(pair, ["The first case works with service users to develop work based skills."])
    # a sentence set against another contrasts a term only when it names the term whole, not one of its words
    pair = explicit_contrast("How is a social enterprise different from a charity?")
    assert pair is not None and not contrasted(pair, ["In contrast, the second case works with social care staff."])
    assert contrasted(pair, ["In contrast, a charity relies on donations."])


def test_how_do_x_and_y_differ_is_a_contrast_and_one_the_library_draws_is_not_called_missing(
    pipeline: AnswerPipeline,
) -> None:
    from rag.answer.contrast import explicit_contrast, sets_apart

    assert explicit_contrast("How do shared spaces and shared values differ?") == ("shared spaces", "shared values")
    pair = explicit_contrast("How do relational and transactional approaches to service users differ?")
    assert pair == ("relational", "transactional approaches to service users")
    said = "It emphasises an active, relational and co-productive rather than transactional orientation."
    assert sets_apart(pair, [said])
    assert not sets_apart(pair, ["Relational work matters, but transactional approaches to service users persist."])
    # the abstract says it in a sentence the answer cannot quote (its referent is three sentences back):
    # no "does not say how they differ" line
    answer = pipeline.ask("How do relational and transactional approaches to service users differ?")
    assert "does not say how relational" not in answer.answer
    answer = pipeline.ask("How do shared spaces and shared values differ?")
    assert "The library does not say how shared spaces and shared values differ." in answer.answer
    assert "**Shared spaces**" in answer.answer and "**Shared values**" in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_who_says_it_and_the_year_of_the_address_are_not_what_a_question_is_about() -> None:
    """ "What did Trump say about drug prices in 2019?" is answered by a sentence on drug prices in
    the 2019 address, which names neither Trump nor 2019: no "does not say" line for the question."""
    from rag.answer.coverage import Sentence, not_stated
    from rag.core.text import content_tokens, fold

    question = "What did Trump say about drug prices in 2019?"
    documents = content_tokens(fold("State of the Union 2019 (Donald J. Trump) Donald J. Trump"))
    authors = content_tokens(fold("Donald J. Trump"))
    on_prices = [
        Sentence("And working together, Congress can reduce drug prices substantially from current levels.", "")
    ]
    assert not_stated(question, on_prices, "", documents, authors) == []
    assert not_stated(question, on_prices, "", documents) == [question.rstrip("?")]  # author unknown: as before
    elsewhere = [Sentence("We will rebuild our roads and bridges with American hands.", "")]
    assert not_stated(question, elsewhere, "", documents, authors) == [question.rstrip("?")]


def test_a_bare_ordinal_in_a_contrast_takes_the_other_terms_noun() -> None:
    """ "How does the second social enterprise differ from the first?" sets two enterprises apart,
    not an enterprise and the word "first": "In contrast, the second case ..." draws that contrast."""
    from rag.answer.contrast import contrasted

    pair = contrast_terms("How does the second social enterprise differ from the first?")
    assert pair == ("second social enterprise", "first social enterprise")
    assert contrast_terms("What is the difference between the first and the second case?") == (
        "first case",
        "second case",
    )
    assert contrasted(pair, ["In contrast, the second case focuses upon the continuous management by service users."])


def test_one_in_a_contrast_takes_the_other_terms_noun(pipeline: AnswerPipeline) -> None:
    """ "a citizen centric service ... a product-focused one" sets two services apart: the product
    side is answered by the sentence on "a product and service orientation", not by whatever
    sentence is closest to the word "one"."""
    pair = contrast_terms("How is a citizen centric service different from a product-focused one?")
    assert pair == ("a citizen centric service", "a product-focused service")
    answer = pipeline.ask("How is a citizen centric service different from a product-focused one?")
    product = next(line for line in answer.answer.splitlines() if line.startswith("- **A product-focused service**"))
    assert "product and service orientation" in product
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_statement_a_question_opens_with_is_checked_like_a_why_question(pipeline: AnswerPipeline) -> None:
    """ "The NHS closed its £200m innovation fund, so what replaced it?" asserts a closure no passage
    mentions: said first, then what the library does say. The asker's own situation ("The council
    abolished its youth service", "We are short of money.") names no body and is not checked."""
    from rag.answer.coverage import unfounded_claim

    known = {"nhs", "innov", "fund", "council", "youth", "servic"}.__contains__
    assert unfounded_claim("The NHS closed its £200m innovation fund, so what replaced it?", known) == "closed"
    assert unfounded_claim("The council abolished its youth service, so how can we help?", known) is None
    assert unfounded_claim("Why was the NHS fund closed?", known) is None  # a why-question: unfounded_why
    assert unfounded_claim("The NHS funded it. Who else paid?", known) is None  # a word the library uses
    answer = pipeline.ask("The NHS closed its £200m innovation fund, so what replaced it?")
    assert answer.answer.startswith("The question assumes “closed”, but the library does not say so."), answer.answer
    assert "NHS’s £200m fund" in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)


def test_a_why_question_that_takes_for_granted_what_the_library_never_says_is_corrected(
    pipeline: AnswerPipeline,
) -> None:
    """ "Why did Sunderland close its virtual back office?" presupposes a closure no passage
    mentions: the answer says so first, then what the library does say. A word of the library's
    own family ("succeed" beside "successfully") is no such assumption."""
    known = {"sunderland", "virtual", "back", "offic", "success"}.__contains__
    assert unfounded_why("Why did Sunderland close its virtual back office?", known) == "close"
    assert unfounded_why("What did Sunderland close?", known) is None  # only a why-question presupposes
    answer = pipeline.ask("Why did Sunderland close its virtual back office?")
    assert answer.answer.startswith("The question assumes “close”, but the library does not say so."), answer.answer
    assert "Sunderland City Council’s ‘virtual’ back office" in answer.answer
    assert_grounded(answer, pipeline.settings.corpus_dir)
    answer = pipeline.ask("Why did the Zero Carbon Hub succeed?")
    assert "The question assumes" not in answer.answer, answer.answer


def test_by_a_common_word_names_no_author_and_started_to_founds_nothing() -> None:
    """ "excellence by ensuring" gave an author to any sentence (the pattern's capital letter was
    read case-blind), so the citizen centric paper seemed to say who wrote it; "have already
    started to emerge" founds nothing."""
    from rag.answer.attributes import ATTRIBUTES

    author = next(a for a in ATTRIBUTES if a.name == "author")
    founder = next(a for a in ATTRIBUTES if a.name == "founder")
    assert not author.gives.search("delivering excellence by ensuring a consistent customer centric approach")
    assert author.gives.search("An essay by Jeff Masters") and author.gives.search("written by the team")
    assert not founder.gives.search("the new models have already started to emerge in practice")
    assert founder.gives.search("The scheme started in 2010") and founder.gives.search("She started the hub")


def test_starting_a_business_asks_no_founder(pipeline: AnswerPipeline) -> None:
    """ "councils helping people start a business" asks for examples of that help, not who started
    a case: read as asking a founder, it kept only the Zero Carbon Hub ("set up by the National
    House-Building Council") and dropped Sunderland's back office for local entrepreneurs."""
    from rag.answer.attributes import asked_attributes

    assert "founder" not in {a.name for a in asked_attributes("Which councils help people start a business?")}
    assert "founder" not in {a.name for a in asked_attributes("Where do start-ups get office space?")}
    assert "founder" in {a.name for a in asked_attributes("Who started it?")}
    assert "founder" in {a.name for a in asked_attributes("Who started the skunkworks projects?")}
    answer = pipeline.ask("What examples are there of councils helping people start a business?")
    assert "Sunderland City Council’s ‘virtual’ back office for local entrepreneurs" in answer.answer, answer.answer


def test_what_a_case_is_is_what_it_did_not_what_a_term_means(pipeline: AnswerPipeline) -> None:
    """ "What is the Zero Carbon Hub?" names a case: the sentence saying who set it up and what it
    took on answers it, with no "does not say what Zero Carbon Hub means". Of a case the library
    only names (the Open Data Institute), the note says that nothing is said of what it is."""
    hub = pipeline.ask("What is the Zero Carbon Hub?")
    assert "set up by the National House-Building Council" in hub.answer
    assert "does not say what" not in hub.answer, hub.answer
    odi = pipeline.ask("What is the Open Data Institute?")
    assert "The library does not say what the Open Data Institute is or does." in odi.answer, odi.answer
    assert "means" not in odi.answer


def test_a_loose_part_the_answer_itself_gives_is_not_called_missing() -> None:
    """Coverage reads the passages before the answer is chosen; "how do we know if they work?" is
    answered by "Success should be measured by the impact ...", so no "does not say" may follow it.
    A strict or numeric part keeps its note, and a quote that only asks gives nothing."""
    from rag.answer.coverage import still_missing

    measured = ["Success should be measured by the impact of interventions."]
    assert still_missing("And how do we know if they work?", ["And how do we know if they work"], measured) == []
    assert still_missing("And how do we know if they work?", ["And how do we know if they work"], ["In effect."]) == [
        "And how do we know if they work"
    ]
    paid = ["When resources are scarce, new types of financing are crucial."]
    question = "What does Sunderland offer, and who is paying for it?"
    assert still_missing(question, ["who is paying for it"], paid) == ["who is paying for it"]
    asking = ["Google’s 20% is often mentioned, but is it still their policy?)"]
    question = "Do Google engineers still get a fifth of their week today?"
    assert still_missing(question, [question.rstrip("?")], asking) == [question.rstrip("?")]
    risks = ["Unlocking of new shared resources: Resource challenges present potential risks and opportunities."]
    question = "What are the risks of shared spaces?"
    assert still_missing(question, [question.rstrip("?")], risks) == [question.rstrip("?")]  # not of shared spaces


def test_who_paid_is_stated_only_by_a_sentence_naming_the_subject_by_two_of_its_words() -> None:
    """ "have a dedicated innovation fund, like the NHS's £200m fund" shares one word with "the Open Book
    of Social Innovation" and says nothing of who paid for it."""
    fund = [Sentence("have a dedicated innovation fund, like the NHS’s £200m fund")]
    assert not_stated("Who paid for the Open Book of Social Innovation?", fund) == [
        "Who paid for the Open Book of Social Innovation"
    ]
    paid = [Sentence("The Open Book of Social Innovation was funded by NESTA.")]
    assert not_stated("Who paid for the Open Book of Social Innovation?", paid) == []
    assert not_stated("Who paid for the Zero Carbon Hub?", [Sentence(ZCH_SENTENCE)]) == []  # "Hub" needs no company
