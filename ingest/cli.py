"""``policyrag ingest``: contributed to the ``policyrag`` command through an entry point."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON report.")]
WaitForWriter = Annotated[
    float, typer.Option("--wait", min=0, help="Seconds to wait for another writer (ingest, upload) to finish.")
]


@contextmanager
def exit_on_stage_error(err: Console) -> Iterator[None]:
    """An ingest or store failure is one red line and exit code 2, never a traceback."""
    from ingest.pipeline import IngestError
    from rag.index.store import StoreError

    try:
        yield
    except (IngestError, StoreError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc


def print_json(report: Any) -> None:
    sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")


def ingest_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (default: the corpus dir).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index and start over.")] = False,
    as_json: AsJson = False,
    wait: WaitForWriter = 30.0,
) -> None:
    """Ingest documents incrementally: unchanged files cost nothing, removed files leave the index."""
    from ingest.pipeline import Ingestor
    from rag.compose import compose
    from rag.core.config import get_settings

    err = Console(stderr=True)
    settings = get_settings()
    show_bar = err.is_terminal and not as_json
    with exit_on_stage_error(err):
        if show_bar:
            with Progress(
                TextColumn("ingesting {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
            ) as bar:
                task = bar.add_task("files", total=None)
                report = Ingestor(settings, compose(settings).index).run(
                    paths,
                    rebuild=rebuild,
                    progress=lambda done, total, stage: bar.update(
                        task, completed=done, total=total, description=stage
                    ),
                    lock_timeout=wait,
                )
        else:
            report = Ingestor(settings, compose(settings).index).run(paths, rebuild=rebuild, lock_timeout=wait)

    if as_json:
        print_json(report)
    else:
        out = Console()
        out.print(
            f"{report.files_seen} files: {report.files_ingested} ingested, {report.files_unchanged} unchanged, "
            f"{report.files_removed} removed, {len(report.files_skipped)} skipped. "
            f"Chunks: +{report.chunks_added} -{report.chunks_removed} = {report.chunks_total}; "
            f"{report.embeddings_computed} embeddings, {report.sentences_encoded} sentence vectors "
            f"in {report.seconds:.1f} s."
            + (f" Cases: {report.cases_total} (policyrag cases)." if report.cases_total is not None else "")
        )
        for skipped in report.files_skipped:
            out.print(f"  skipped {skipped['path']}: {skipped['reason']}", highlight=False)
        for warning in report.warnings:
            out.print(f"  indexed {warning['path']} in part: {warning['reason']}", highlight=False)
    readable = report.files_ingested + report.files_unchanged
    if not readable and (report.files_seen or report.files_skipped):
        raise typer.Exit(1)  # nothing at all could be read


def doctor_command(
    repair: Annotated[bool, typer.Option("--repair", help="Fix what is found, then check again.")] = False,
    as_json: AsJson = False,
    wait: WaitForWriter = 30.0,
) -> None:
    """Check that Chroma, the lexical cache and the ingest manifest agree (exit 1 if not)."""
    from ingest.doctor import Doctor
    from rag.compose import compose
    from rag.core.config import get_settings

    with exit_on_stage_error(Console(stderr=True)):
        settings = get_settings()
        doctor = Doctor(settings, compose(settings).index)
        report = doctor.repair(wait) if repair else doctor.check()

    if as_json:
        print_json(report)
    else:
        out = Console(highlight=False)
        for line in report.repaired:
            out.print(f"repaired: {line}")
        out.print(
            f"{report.documents} documents, {report.chunks} chunks, {report.corpus_files} corpus files; "
            f"{report.vectors_checked} chunks looked up in the vector index."
        )
        for f in report.findings:
            label = "[yellow]pending[/]" if f.pending else "[bold red]error[/]"
            out.print(f"  {label} {f.kind}: {f.subject}: {f.detail}")
        if report.clean:
            out.print("index consistent" + ("" if report.up_to_date else "; the corpus has changes to ingest"))
        else:
            out.print("index inconsistent: run [bold]policyrag doctor --repair[/]")
    if not report.clean:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.command("doctor")(doctor_command)
