"""A GGUF model in a child process, so that a native fault in llama.cpp ends the child, not us.

llama.cpp is native code: an instruction the CPU cannot run (a build tuned for another machine, or
AMX advertised but trapping) kills the process it runs in with SIGILL. Run in the API or the test
process, that takes the server down with every request in flight. Here the model lives in a
``spawn`` child; the parent sends chat requests over a pipe and reads tokens back, and a child that
dies is reported as an :class:`LLMError` naming the signal, then started afresh on the next call.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import runpy
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 600.0  # loading a 1.5B model from a cold disk on a busy machine


class LLMError(RuntimeError):
    """The generate stage could not reach or run its language model."""


@contextlib.contextmanager
def extra_buffers(on: bool) -> Iterator[None]:
    """Models loaded inside the block use llama.cpp's extra buffer types (weights repacked for AMX,
    AVX-512) only when ``on``. llama-cpp-python 0.3.36 has no argument for it, so the defaults it
    reads are changed for the block; this runs in the model's own process only."""
    import llama_cpp.llama_cpp as native

    original = native.llama_model_default_params

    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = on
        return params

    native.llama_model_default_params = defaults
    try:
        yield
    finally:
        native.llama_model_default_params = original


def serve(conn: Connection, params: dict[str, Any]) -> None:
    """The child's loop: load the model, then answer chat requests until the pipe closes.

    A request is ``create_chat_completion``'s keyword arguments plus ``stream``; the answer is
    ``("token", text)`` messages then ``("done", None)``, or ``("error", message)``. A ``"cancel"``
    sent while tokens flow ends that completion early (the caller stopped reading).
    """
    try:
        from llama_cpp import Llama

        params = dict(params)
        with extra_buffers(bool(params.pop("use_extra_bufts", False))):
            llm = Llama(**params)
    except Exception as exc:  # noqa: BLE001 - whatever failed is reported to the caller, not lost here
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if not isinstance(request, dict):
            continue  # a stale "cancel" for a completion that already ended
        try:
            if request.pop("stream", False):
                parts: Any = llm.create_chat_completion(**request, stream=True)
                for part in parts:
                    token = part["choices"][0]["delta"].get("content") or ""
                    if token:
                        conn.send(("token", token))
                    if conn.poll():
                        conn.recv()  # "cancel"
                        break
            else:
                out: Any = llm.create_chat_completion(**request)
                conn.send(("token", out["choices"][0]["message"].get("content") or ""))
            conn.send(("done", None))
        except Exception as exc:  # noqa: BLE001
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def died(exitcode: int | None) -> str:
    """How a child ended, as a reader would say it: "killed by SIGILL (Illegal instruction)"."""
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        sig = signal.Signals(-exitcode)
        return f"was killed by {sig.name} ({signal.strsignal(sig) or 'signal'})"
    return f"exited with status {exitcode}"


class ModelProcess:
    """One model in one child process; calls from several threads take turns."""

    def __init__(
        self,
        params: dict[str, Any],
        worker: Callable[[Connection, dict[str, Any]], None] = serve,
        timeout: float = 120.0,
    ) -> None:
        self.params = params
        self.worker = worker
        self.timeout = timeout  # longest wait for the next piece of an answer
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def chat(self, request: dict[str, Any], stream: bool) -> Iterator[str]:
        """The completion's text in pieces (one piece when not streaming)."""
        with self._lock:
            conn = self._started()
            conn.send({**request, "stream": stream})
            finished = False
            try:
                while True:
                    kind, value = self._receive(conn)
                    if kind == "token":
                        yield value
                    elif kind == "done":
                        finished = True
                        return
                    else:
                        finished = True
                        raise LLMError(f"generate: the local model failed: {value}")
            finally:
                if not finished and self._conn is conn:
                    self._cancel(conn)

    def close(self) -> None:
        """Stop the child (it also ends by itself when this process ends)."""
        proc, self._proc, self._conn = self._proc, None, None
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(timeout=10)

    def _started(self) -> Connection:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            return self._conn
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=self.worker, args=(child, self.params), daemon=True, name="policyrag-llm")
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        if not parent.poll(READY_TIMEOUT_S):
            self.close()
            raise LLMError(f"generate: the local model did not load within {READY_TIMEOUT_S:.0f} s")
        kind, value = self._receive(parent)
        if kind != "ready":
            self.close()
            raise LLMError(f"generate: the local model could not be loaded: {value}")
        return parent

    def _receive(self, conn: Connection) -> tuple[str, Any]:
        if not conn.poll(self.timeout):
            self.close()
            raise LLMError(f"generate: the local model did not answer within {self.timeout:.0f} s; it was stopped")
        try:
            kind, value = conn.recv()
        except (EOFError, OSError):
            proc = self._proc
            if proc is not None:
                proc.join(timeout=5)
            how = died(proc.exitcode if proc is not None else None)
            self._proc = self._conn = None
            log.error("the local model's process %s", how)
            raise LLMError(
                f"generate: the local model's process {how}. If it is an illegal instruction, llama.cpp was "
                "built for another CPU or this CPU traps on instructions it advertises: build llama-cpp-python "
                "portably (make install-dev does) and keep POLICYRAG_LLM_EXTRA_BUFFERS off"
            ) from None
        return str(kind), value

    def _cancel(self, conn: Connection) -> None:
        """The caller stopped reading: end the completion and drain what it still sent."""
        with contextlib.suppress(LLMError, OSError):
            conn.send("cancel")
            while self._receive(conn)[0] == "token":
                pass


def openai_server(argv: list[str]) -> None:
    """``python -m llama_cpp.server`` with ``--use_extra_bufts true|false`` (default false) as well."""
    on = False
    if "--use_extra_bufts" in argv:
        i = argv.index("--use_extra_bufts")
        on = argv[i + 1].lower() in {"1", "true", "yes", "on"}
        del argv[i : i + 2]
    sys.argv = ["llama_cpp.server", *argv]
    with extra_buffers(on):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    openai_server(sys.argv[1:])
