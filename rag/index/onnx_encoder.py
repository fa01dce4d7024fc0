"""The embedding model's transformer under ONNX Runtime, for the few short texts of a query.

A lone query spends most of its time in the model, and most of the model's time on a dozen tokens
is framework overhead rather than arithmetic: per operator dispatch and thread hand-offs. ONNX
Runtime (already installed: Chroma depends on it) runs the same graph in about half the time of
the TorchScript trace (``rag.index.traced``) for one to four texts, and level with it from eight
on, where the trace stays. The graph is exported once when a long-lived process warms up (about
a second; the session reads it from a temporary file), with the model's own tokenizer and mean
pooling around it, and kept only if its vectors match the model's own on a check; otherwise the
traced or stock path is used.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.index.traced import CHECK, kept, mean_pooled

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


MAX_TEXTS = 4  # up to this many texts per call run here; more go to the trace, as quick from 8 on


class OnnxEncoder:
    """Unit vectors of texts: the model's tokenizer, its transformer in ONNX Runtime, mean pooling."""

    def __init__(self, model: SentenceTransformer, session: Any, inputs: list[str]) -> None:
        self.model = model
        self.session = session
        self.inputs = inputs

    @classmethod
    def of(cls, model: SentenceTransformer, threads: int) -> OnnxEncoder | None:
        """The exported encoder of ``model`` on ``threads`` threads, or None when it is not a
        mean-pooled transformer, ``onnx`` or ``onnxruntime`` is missing, or its vectors differ."""
        if not mean_pooled(model):
            return None

        def build() -> OnnxEncoder:
            import onnxruntime as ort
            import torch
            from transformers.utils import logging as hf_logging

            features = model.preprocess(CHECK[:2])
            inputs: list[str] = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in features]
            verbosity = hf_logging.get_verbosity()
            with warnings.catch_warnings(), torch.inference_mode(), tempfile.TemporaryDirectory() as tmp:
                warnings.simplefilter("ignore")  # the exporter's notes on Python branches it fixed
                hf_logging.set_verbosity_error()
                try:
                    torch.onnx.export(
                        _hidden(model[0].auto_model, inputs).eval(),
                        tuple(features[k] for k in inputs),
                        Path(tmp) / "model.onnx",
                        input_names=inputs,
                        output_names=["hidden"],
                        dynamic_axes={k: {0: "texts", 1: "tokens"} for k in [*inputs, "hidden"]},
                        opset_version=17,
                        dynamo=False,
                    )
                finally:
                    hf_logging.set_verbosity(verbosity)
                options = ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                session = ort.InferenceSession(
                    str(Path(tmp) / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
            return cls(model, session, inputs)

        return kept(build, model, "exported to ONNX", "the traced path is used")

    def __call__(self, texts: list[str]) -> np.ndarray:
        features = self.model.preprocess(texts)
        feeds = {k: features[k].numpy().astype(np.int64) for k in self.inputs}
        hidden = self.session.run(None, feeds)[0]
        mask = feeds["attention_mask"][..., None].astype(hidden.dtype)
        pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
        pooled = pooled.astype(np.float32)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def _hidden(transformer: Any, names: list[str]) -> Any:
    """A module giving the transformer's last hidden state from positional ``names`` tensors, for
    export (made here so that importing this module does not import torch)."""
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors: Any) -> Any:
            return self.transformer(**dict(zip(names, tensors, strict=True))).last_hidden_state

    return Hidden()
