"""The refusal gate's threshold is read off the library in use, not fixed on one library."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.pipeline import Ingestor
from rag.answer.refusal import RefusalThreshold, probes
from rag.core.config import Settings
from rag.core.models import SearchResult
from rag.index.retrieval import SearchIndex


class _Library:
    """An index stand-in: each query's closest passage is as near as ``near`` says."""

    def __init__(self, near: Callable[[str], float]) -> None:
        self.near = near
        self.lexical = object()
        self.searches = 0

    def search(self, query: str, k: int | None = None) -> list[SearchResult]:
        self.searches += 1
        hit = SearchResult(chunk_id="c", doc_id="d", title="t", section="", text="x", score=1.0, char_start=0,
                           char_end=1, dense_score=self.near(query))  # fmt: skip
        return [hit]


def test_a_library_gets_the_threshold_its_everyday_questions_reach(tmp_path: Path) -> None:
    near = {q: 0.1 + i / 1000 for i, q in enumerate(probes())}
    library = _Library(lambda q: near[q])
    gate = RefusalThreshold(Settings(data_dir=tmp_path), library)  # type: ignore[arg-type]
    assert gate() == round(max(near.values()), 4)
    assert gate() == gate() and library.searches == len(near), "worked out once per loaded library"
    library.lexical = object()  # the index reloaded: the library changed
    library.near = lambda q: 0.5
    assert gate() == 0.5


def test_a_fixed_threshold_is_used_as_set_and_searches_nothing(tmp_path: Path) -> None:
    library = _Library(lambda q: 0.9)
    gate = RefusalThreshold(Settings(data_dir=tmp_path, refusal_threshold=0.3), library)  # type: ignore[arg-type]
    assert gate() == 0.3 and library.searches == 0


def test_a_library_that_starts_to_cover_everyday_things_raises_its_threshold(
    make_settings: Callable[..., Settings], index_for: Callable[[Settings], SearchIndex]
) -> None:
    """Real index: a guide to home baking and cooking added to the policy library brings the
    everyday questions nearer, so a question must come nearer still to count as covered."""
    settings = make_settings()
    index = index_for(settings)
    Ingestor(settings, index).run()
    gate = RefusalThreshold(settings, index)
    before = gate()
    (settings.corpus_dir / "kitchen.md").write_text(
        "# Home cooking\n\nBake banana bread with ripe bananas, flour, butter and sugar for an hour. "
        "Keep a sourdough starter alive by feeding it flour and water every day. Boil an egg for six "
        "minutes for a runny yolk. Season a cast iron pan with oil after washing it.\n",
        encoding="utf-8",
    )
    Ingestor(settings, index).run()
    index.sync()
    after = gate()
    assert after > before + 0.1, (before, after)
