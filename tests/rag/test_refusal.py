"""The refusal gate's threshold is read off the library in use, not fixed on one library."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.pipeline import Ingestor
from rag.answer.refusal import RefusalThreshold, probes
from rag.core.config import Settings
from rag.core.models import SearchResult
from rag.index.retrieval import SearchIndex

ALMANAC = [
    ("Boiling an egg:", "six minutes gives a runny yolk."),
    ("The 1998 football World Cup", "was won by France."),
    ("Australia's capital", "is Canberra."),
    ("To reset a home wifi router,", "hold its reset button for ten seconds."),
    ("Banana bread", "needs ripe bananas, flour, butter and sugar."),
    ("Jupiter", "has dozens of known moons."),
    ("Red wine on a carpet", "comes out with cold water and salt."),
    ("A flat bicycle tyre", "is fixed with a patch."),
    ("Pride and Prejudice", "was written by Jane Austen."),
    ("A dog learns to sit", "with treats and patience."),
    ("In chess, castling", "moves the king two squares."),
    ("A sourdough starter", "is flour and water fed daily."),
    ("Kilimanjaro", "is the tallest mountain in Africa."),
    ("An apple", "has about 95 calories."),
    ("Learning the guitar", "starts with a few chords."),
    ("Volcanoes form", "where magma reaches the surface."),
    ("Mercury", "is the planet closest to the sun."),
    ("The Berlin Wall", "fell in 1989."),
    ("A cast iron pan", "is cleaned with hot water and oiled."),
    ("Football's offside rule", "concerns attackers."),
    ("A cactus", "needs water every two or three weeks."),
    ("The Mona Lisa", "was painted by Leonardo da Vinci."),
    ("A dripping tap", "usually needs a new washer."),
    ("Light in a vacuum", "travels at 299,792 km a second."),
]


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


def test_a_library_gets_the_threshold_its_everyday_questions_typically_reach(tmp_path: Path) -> None:
    """Median plus five median absolute deviations of the probes' closeness: one probe the library
    happens to cover (0.9) does not move it."""
    asked = probes()
    near = {q: (0.9 if i == 0 else 0.2 + (-0.01 if i % 2 else 0.01)) for i, q in enumerate(asked)}
    library = _Library(lambda q: near[q])
    gate = RefusalThreshold(Settings(data_dir=tmp_path), library)  # type: ignore[arg-type]
    assert gate() == round(0.2 + 5 * 0.01, 4)
    assert gate() == gate() and library.searches == len(asked), "worked out once per loaded library"
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
    """Real index: an almanac of everyday answers added to the policy library brings the everyday
    questions nearer, so a question must come nearer still to count as covered."""
    settings = make_settings()
    index = index_for(settings)
    Ingestor(settings, index).run()
    gate = RefusalThreshold(settings, index)
    before = gate()
    (settings.corpus_dir / "almanac.md").write_text(
        "# Everyday almanac\n\n" + "\n\n".join(f"{q} {a}" for q, a in ALMANAC) + "\n", encoding="utf-8"
    )
    Ingestor(settings, index).run()
    index.sync()
    after = gate()
    assert after > before + 0.1, (before, after)
