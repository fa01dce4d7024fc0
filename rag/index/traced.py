"""The embedding model's transformer as one TorchScript call, for the short texts asked at run time.

``SentenceTransformer.forward`` walks a few hundred Python module calls per text (six BERT
layers, each wrapped by transformers' keyword and deprecation decorators), all of it holding the
GIL: for a query, a third of its cost, and under concurrent load the thing every request queues
on. Traced once when a long-lived process warms up (the API, an evaluation run; about a second,
which a one-shot command does not spend), the same graph runs in C++ without the GIL. Tokenizing
and mean pooling stay as the model defines them, and the traced encoder is used only when the
model is exactly a transformer, mean pooling and (optionally) normalisation, and only if its
vectors match the model's own on a check when traced; otherwise the model's own path is kept.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

SHAPE = ["Transformer", "Pooling"]
CHECK = [
    "How do I plan a discovery phase for a new service?",
    "Budget",
    "Social enterprises within the policy landscape are a major provider of public services, and "
    "they are often described as more innovative and efficient in responding to citizens' needs.",
]
TOLERANCE = 1e-5
E = TypeVar("E", bound=Callable[[list[str]], np.ndarray])


class TracedEncoder:
    """Unit vectors of texts: the model's tokenizer, its transformer traced, mean pooling."""

    def __init__(self, model: SentenceTransformer, traced: Any, inputs: list[str]) -> None:
        self.model = model
        self.traced = traced
        self.inputs = inputs  # the tokenizer outputs the transformer takes, by name

    @classmethod
    def of(cls, model: SentenceTransformer) -> TracedEncoder | None:
        """The traced encoder of ``model``, or None when it is not a mean-pooled transformer or its
        vectors would differ from the model's own."""
        import torch
        from transformers.utils import logging as hf_logging

        if not mean_pooled(model):
            return None
        modules = list(model)

        def build() -> TracedEncoder:
            features = model.preprocess(CHECK[:2])
            inputs: list[str] = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in features]
            transformer: Any = modules[0].auto_model
            verbosity = hf_logging.get_verbosity()
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")  # the tracer's notes on Python branches it fixed
                hf_logging.set_verbosity_error()  # and transformers' on attributes the tracer reads
                try:
                    traced = torch.jit.trace(
                        transformer.eval(), example_kwarg_inputs={k: features[k] for k in inputs}, strict=False
                    )
                finally:
                    hf_logging.set_verbosity(verbosity)
            return cls(model, traced, inputs)

        return kept(build, model, "traced", "its own forward pass is used")

    def __call__(self, texts: list[str]) -> np.ndarray:
        import torch

        features = self.model.preprocess(texts)
        with torch.inference_mode():
            out = self.traced(**{k: features[k] for k in self.inputs})
            hidden = out["last_hidden_state"] if isinstance(out, dict) else out[0]
            mask = features["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled.float(), p=2, dim=1).numpy()


def mean_pooled(model: SentenceTransformer) -> bool:
    """Whether ``model`` is exactly a transformer, mean pooling and (optionally) normalisation:
    the shape the traced and exported encoders rebuild around the transformer."""
    modules = list(model)
    names = [type(m).__name__ for m in modules]
    return names in (SHAPE, [*SHAPE, "Normalize"]) and getattr(modules[1], "pooling_mode", None) == "mean"


def kept(build: Callable[[], E], model: SentenceTransformer, what: str, instead: str) -> E | None:
    """The encoder ``build`` makes of ``model``, kept only when it builds and gives the model's own
    unit vectors on the check texts (within ``TOLERANCE``); else None, and a log line saying which
    path is used ``instead``."""
    import torch

    try:
        encoder = build()
        with torch.inference_mode():
            own = model.forward(model.preprocess(CHECK))["sentence_embedding"]
        theirs = torch.nn.functional.normalize(own.float(), p=2, dim=1).numpy()
        ours = encoder(CHECK)
    except Exception as exc:  # noqa: BLE001 - any failure keeps the other paths
        logger.info("embedding model not %s (%s): %s", what, exc, instead)
        return None
    if ours.shape != theirs.shape or float(np.abs(ours - theirs).max()) > TOLERANCE:
        logger.info("embedding model not %s: its vectors differ from the model's own", what)
        return None
    return encoder
