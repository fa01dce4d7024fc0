"""The answer mode is learnt from labelled questions: accurate on questions held out from training,
reproducible from its data, and it falls back to an explanation when unsure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evals.modes import QUESTIONS, data_hash, examples, train
from rag.answer.model import Mode
from rag.answer.modes import WEIGHTS, ModeClassifier
from rag.index.embeddings import MiniLMEmbeddings


@pytest.fixture(scope="module")
def classifier(embeddings: MiniLMEmbeddings) -> ModeClassifier:
    return ModeClassifier(embeddings)


def test_the_labelled_set_is_large_and_apart_from_the_evaluation_sets() -> None:
    data = examples()
    assert len(data) >= 200
    assert {m for _, m in data} == {Mode.howto, Mode.precedent, Mode.explain}
    questions = {q.lower() for q, _ in data}
    from tests.conftest import REPO

    for name in ("dev.jsonl", "sotu.jsonl"):
        for line in (REPO / "evals" / "datasets" / name).read_text(encoding="utf-8").splitlines():
            assert json.loads(line)["question"].lower() not in questions


@pytest.mark.slow
def test_the_shipped_weights_are_what_training_on_the_shipped_data_gives(embeddings: MiniLMEmbeddings) -> None:
    shipped = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    assert shipped["data_sha256_16"] == data_hash(QUESTIONS), "modes.jsonl changed: run python -m evals.modes"
    again = train(embeddings)
    assert again["heldout_accuracy"] >= 0.90
    assert again["heldout_accuracy"] == shipped["heldout_accuracy"]
    assert np.allclose(np.asarray(again["weights"]), np.asarray(shipped["weights"]), atol=1e-4)


@pytest.mark.parametrize(
    ("question", "mode"),
    [
        ("How do I set up a shared space with local business?", Mode.howto),
        ("What should my team do to start working with a social enterprise?", Mode.howto),
        ("Has any council tried giving entrepreneurs a shared back office?", Mode.precedent),
        ("Who ran the Zero Carbon Hub?", Mode.precedent),
        ("What is social productivity?", Mode.explain),
        # the words a regex keys on, in questions that ask for neither steps nor cases
        ("What is the business case for working with local firms?", Mode.explain),
        ("How does co-production differ from consultation?", Mode.explain),
    ],
)
def test_questions_get_the_mode_a_reader_expects(classifier: ModeClassifier, question: str, mode: Mode) -> None:
    assert classifier(question) is mode, classifier.probabilities(question)


def test_an_unsure_classifier_answers_as_an_explanation(classifier: ModeClassifier) -> None:
    probs = classifier.probabilities("Zero Carbon Hub")
    assert abs(sum(probs.values()) - 1) < 1e-9
    flat = ModeClassifier(classifier.encoder)
    flat._w = np.zeros_like(classifier.weights)  # equal odds for all three: below the confidence floor
    assert flat("How do I set up a shared space with local business?") is Mode.explain
