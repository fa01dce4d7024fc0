"""The traced transformer, and the one exported to ONNX Runtime, give the model's own vectors (real
MiniLM from the wheel)."""

from __future__ import annotations

import numpy as np

from rag.index.embeddings import MiniLMEmbeddings

TEXTS = [
    "What does a discovery phase need before it starts?",
    "Budget",
    "  leading and trailing spaces  ",
    "A long passage " + "about user research, service design and procurement " * 40,  # past the 256-token cut
    "Émigré naïveté — “quotes” and 123 numbers",
    "",
]


def test_traced_vectors_are_the_models_own_in_any_batch() -> None:
    traced = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0, onnx=False)
    own = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0, traced=False, onnx=False)
    traced.warm_up()
    own.warm_up()
    assert traced._traced is not None, "MiniLM is a mean-pooled transformer: traced"
    assert own._traced is None
    together = traced.encode(TEXTS)
    alone = np.stack([traced.encode([t])[0] for t in TEXTS])
    reference = own.encode(TEXTS)
    assert together.shape == (len(TEXTS), 384)
    assert np.abs(together - reference).max() < 1e-5
    assert np.abs(alone - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_a_query_through_onnx_runtime_gets_the_models_own_vector_and_many_texts_keep_the_trace() -> None:
    embeddings = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0)
    own = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0, traced=False, onnx=False)
    embeddings.warm_up()
    assert embeddings._onnx is not None, "MiniLM is a mean-pooled transformer: exported"
    reference = own.encode(TEXTS)
    alone = np.stack([embeddings.encode([t])[0] for t in TEXTS])
    pairs = np.concatenate([embeddings.encode(TEXTS[i : i + 2]) for i in range(0, len(TEXTS), 2)])
    assert np.abs(alone - reference).max() < 1e-5
    assert np.abs(pairs - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)

    counted = embeddings._onnx.session = Counted(embeddings._onnx.session)
    embeddings.encode(TEXTS)  # six texts: past what ONNX Runtime is quicker at
    embeddings.encode(TEXTS[:1])
    assert counted.calls == 1


class Counted:
    """An ONNX Runtime session that counts its runs."""

    def __init__(self, session: object) -> None:
        self.session = session
        self.calls = 0

    def run(self, *args: object) -> object:
        self.calls += 1
        return self.session.run(*args)  # type: ignore[attr-defined]
