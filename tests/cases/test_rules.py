"""The rules that tell a case from any capitalised name, on hand-made sentences: a case is a named
undertaking the sentence says something was done by or to, studies, or gives as an example of an
undertaking; a tool, a kind of thing, a part or a work of an organisation, or a name that only shares
its sentence with a verb, is not one."""

from __future__ import annotations

import pytest

from rag.cases.extract import mentions
from rag.core.chunks import Chunk, DocumentMeta


def _chunk(text: str) -> Chunk:
    return Chunk(chunk_id="doc-0", doc=DocumentMeta("doc", "Doc", file_hash="doc"), text=text, char_start=0,
                 char_end=len(text), chunk_index=0)  # fmt: skip


def _names(text: str) -> list[str]:
    return [m.name for m in mentions([_chunk(text)])]


@pytest.mark.parametrize(
    "text",
    [
        # an action in the sentence, but not the name's: someone else set up the stall
        "The Riverside Housing Board publishes a yearly report, and volunteers set up a stall at the fair.",
        # "example" is a noun, not something a case did
        "For example, the National Records Office keeps a list of forms.",
        "For example, write “Applicant 2” on the form.",
        # a name inside a phrase that opens the sentence is not who acted
        "During the Long Winter, Millbrook built a seed bank.",
    ],
)
def test_a_verb_elsewhere_in_the_sentence_makes_no_case(text: str) -> None:
    assert _names(text) == []


def test_a_name_that_acts_or_is_acted_on_is_a_case() -> None:
    assert _names("The Riverside Housing Board set up a repair fund for tenants in 2019.") == [
        "Riverside Housing Board"
    ]
    assert _names("Northvale Council and the Harbour Trust launched a shared repair service.") == [
        "Northvale Council",
        "Harbour Trust",
    ]
    assert _names("Last year the county funded the Green Lanes Partnership.") == ["Green Lanes Partnership"]


@pytest.mark.parametrize(
    "text",
    [
        "Sketch the screens in a drawing tool such as Paper Canvas or Sketch Board.",
        "Regions like ours send their figures to the Northern Parks Office each month.",  # not the example
    ],
)
def test_an_example_of_a_tool_is_no_case(text: str) -> None:
    assert _names(text) == []


def test_an_example_of_an_undertaking_is_a_case() -> None:
    assert _names("The county has tried initiatives such as Street Kitchen Network to feed older residents.") == [
        "Street Kitchen Network"
    ]
    assert _names("Some towns pay for it centrally, like the Warm Homes Programme.") == ["Warm Homes Programme"]


@pytest.mark.parametrize(
    "text",
    [
        "Consider reading the Service Design Notes before the first workshop.",  # advice to the reader
        "Templates can be found in the Design Kit Library.",  # where a thing is kept
    ],
)
def test_advice_and_places_are_not_a_document_studying_a_case(text: str) -> None:
    assert _names(text) == []


def test_a_document_that_studies_a_case_names_it() -> None:
    assert _names("The review considers the role of the Tenant Voice Panel in setting rents.") == ["Tenant Voice Panel"]


@pytest.mark.parametrize(
    "text",
    [
        "An Interagency Agreement was set up with the county.",
        "Staff signed a Data Sharing Agreement with the school.",
    ],
)
def test_a_name_after_a_or_an_is_a_kind_of_thing(text: str) -> None:
    assert _names(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Read the Acme Institute's Style Notes before writing.",  # a work of the owner
        "The Acme Institute's approach to hiring is described below.",  # a kind with no name
        "Some of Westland's largest banks were asked for data.",  # an adjective, not a name
    ],
)
def test_what_an_owner_has_is_no_case_unless_it_names_an_undertaking(text: str) -> None:
    assert _names(text) == []


def test_an_owners_named_undertaking_is_a_case_with_its_kind() -> None:
    assert _names("The Acme Institute's Night Shelter project housed 40 people last winter.") == [
        "Acme Institute's Night Shelter project"
    ]
    assert _names("Volunteers trained with Acme's Street Safety program.") == ["Acme's Street Safety program"]


def test_a_name_that_starts_with_digits_keeps_them() -> None:
    (found,) = mentions([_chunk("Testing plans came from 3M's Clean Water project.")])
    assert found.name == "3M's Clean Water project" and [q.quote for q in found.who] == ["3M"]


def test_a_lone_ordinal_after_a_preposition_points_at_the_text_before_it() -> None:
    assert _names("In the first example, the heading is too long.") == []
    numbered = "In the first case, the council set up a hub. In the second case, tenants ran it."
    assert _names(numbered) == ["the first case", "the second case"]
