"""Sentence vectors computed at ingest, read at ask time: real corpus, real model, real Chroma."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from rag.answer.pipeline import AnswerPipeline
from rag.core.config import Settings
from rag.index.retrieval import SearchIndex
from tests.conftest import REPO

OPEN_BOOK = "open-book-social-innovation-notes"
ZCH = "business-society-public-services"


def dev_questions() -> list[dict[str, object]]:
    lines = (REPO / "evals" / "datasets" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_answers_read_the_stored_vectors_and_are_the_same_without_them(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    pipeline = AnswerPipeline(settings, index)
    questions = dev_questions()

    def answers() -> list[str]:
        return [pipeline.ask(str(q["question"]), history=q.get("history")).answer for q in questions]  # type: ignore[arg-type]

    stored = answers()
    assert index.sentences.read > 1000 and index.sentences.encoded == 0, "every sentence the answers scored was stored"
    shutil.rmtree(settings.sentences_path)  # a node whose ingest never ran: everything encoded at ask time
    assert answers() == stored
    assert index.sentences.encoded > 0


def test_an_edit_encodes_only_the_new_sentences_of_the_edited_document(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    files = {f.name: f.stat().st_mtime_ns for f in settings.sentences_path.iterdir()}
    path = settings.corpus_dir / f"{OPEN_BOOK}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("community pledgebanks", "crowdmatch pools"), "utf-8")

    report = Ingestor(settings, index).run()
    assert 1 <= report.sentences_encoded <= 4, "the edited sentence (and its cuts at passage ends), nothing else"
    after = {f.name: f.stat().st_mtime_ns for f in settings.sentences_path.iterdir()}
    edited = index.sentences.file(OPEN_BOOK).name
    assert after[edited] != files[edited]
    assert {n: t for n, t in after.items() if n != edited} == {n: t for n, t in files.items() if n != edited}

    answer = AnswerPipeline(settings, index).ask("What are crowdmatch pools?")
    assert "crowdmatch" in answer.answer and index.sentences.encoded == 0
    assert Ingestor(settings, index).run().sentences_encoded == 0  # and a no-op ingest encodes nothing


def test_a_removed_document_loses_its_vectors(ingested: tuple[Settings, SearchIndex]) -> None:
    settings, index = ingested
    assert index.sentences.file(ZCH).exists()
    (settings.corpus_dir / f"{ZCH}.md").unlink()
    Ingestor(settings, index).run()
    assert not index.sentences.file(ZCH).exists()
    assert len(list(settings.sentences_path.iterdir())) == 4


def test_a_damaged_vector_file_costs_time_not_the_answer(
    ingested: tuple[Settings, SearchIndex], caplog: pytest.LogCaptureFixture
) -> None:
    settings, index = ingested
    question = "Who set up the Zero Carbon Hub?"
    before = AnswerPipeline(settings, index).ask(question).answer
    index.sentences.file(ZCH).write_bytes(b"not a vector file")
    with caplog.at_level(logging.WARNING, logger="rag.index.sentences"):
        assert AnswerPipeline(settings, index).ask(question).answer == before
    assert index.sentences.encoded > 0 and "cannot read" in caplog.text
    assert Ingestor(settings, index).run().sentences_encoded > 0  # the next ingest writes it again
    assert index.sentences.load(ZCH) is not None


def test_a_vector_file_is_read_row_by_row_and_a_replaced_file_is_never_misread(tmp_path: Path) -> None:
    """What ask time reads from a document's file is the vector ingest saved for that text; when
    the file is replaced after its keys were read, its rows are not trusted (encoded instead)."""
    import numpy as np

    from rag.index.sentences import SentenceVectors

    rng = np.random.default_rng(0)
    texts = [f"sentence number {i}" for i in range(300)]
    matrix = rng.standard_normal((300, 384)).astype(np.float32)
    store = SentenceVectors(tmp_path, embeddings=None, cache_docs=4)  # type: ignore[arg-type]
    store.save("doc", "fp1", texts, matrix)
    held = store.load("doc")
    assert held is not None and held.fingerprint == "fp1"
    picked = [texts[7], "not stored", texts[299], texts[0]]
    got = held.read(picked)
    assert got[1] is None
    assert np.array_equal(got[0], matrix[7]) and np.array_equal(got[2], matrix[299])
    assert np.array_equal(got[3], matrix[0])
    assert not any(isinstance(v, np.ndarray) and v.size > 384 for v in vars(held).values()), "no matrix held"

    store.save("doc", "fp2", texts[::-1], matrix)  # the same texts, other rows: an edit re-ordered them
    assert held.read([texts[7]]) == [None], "rows of the old keys are not read from the new file"
    again = store.load("doc")
    assert again is not None and np.array_equal(again.read([texts[7]])[0], matrix[292])
