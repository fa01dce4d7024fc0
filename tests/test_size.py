"""The code stays readable in the units issue 39 set: the answer stage (every module under
``rag/answer``, subpackages included) at most 2,000 lines, and no product module over 300."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO

PRODUCT = ("rag", "ingest", "api", "ui", "evals")


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_answer_stage_is_at_most_2000_lines() -> None:
    total = sum(lines(p) for p in (REPO / "rag" / "answer").rglob("*.py"))
    assert total <= 2000, f"rag/answer/ is {total} lines"


def test_no_product_module_is_over_300_lines() -> None:
    modules = [p for package in PRODUCT for p in (REPO / package).rglob("*.py")]
    long = {str(p.relative_to(REPO)): n for p in modules if (n := lines(p)) > 300}
    assert not long, long
