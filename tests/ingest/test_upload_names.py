"""Upload file names: letters and digits of any script are welcome; what can hide or mislead is not."""

from __future__ import annotations

import unicodedata

import pytest

from ingest.uploads import UploadError, safe_name


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("noté ü 中文.md", "noté-ü-中文.md"),
        ("Отчёт 2012 (итог).txt", "Отчёт-2012-(итог).txt"),
        ("e\u0301tude.md", "étude.md"),  # decomposed "é" is stored composed (NFC): one name, however typed
        ("report_v2.final.pdf", "report_v2.final.pdf"),
    ],
)
def test_unicode_letters_and_digits_are_accepted(given: str, stored: str) -> None:
    assert safe_name(given) == stored
    assert unicodedata.is_normalized("NFC", safe_name(given))


@pytest.mark.parametrize(
    "name",
    [
        "report\u202efdp.md",  # right-to-left override: shows as "reportdm.pdf"
        "a\u200bb.md",  # zero-width space
        "line\u2028break.md",  # line separator
        "tab\there.md",  # control character
        ".hidden.md",  # leading dot
        "-dash.md",  # must start with a letter or digit
        "\u0301accent.md",  # a lone combining mark cannot start a name
    ],
)
def test_controls_overrides_separators_and_leading_dots_are_refused(name: str) -> None:
    with pytest.raises(UploadError, match="letters and digits"):
        safe_name(name)
