"""The traced transformer gives the model's own vectors (real MiniLM from the wheel)."""

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
    traced = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0)
    own = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0, traced=False)
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
