"""Prometheus metrics and OpenTelemetry spans for the answer and ingest stages.

Both are built on first use, never at import: prometheus-client picks its multiprocess mode from
``PROMETHEUS_MULTIPROC_DIR`` when it is imported (``policyrag serve --workers N`` sets it), and
spans are exported only when an OTLP endpoint is configured; with none, no exporter exists and no
connection is ever attempted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sized
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Observed(Protocol):
    """What metrics and spans read of a finished answer (``rag.answer.model.Answer`` has it all)."""

    @property
    def timings_ms(self) -> dict[str, float]: ...

    @property
    def mode(self) -> Enum: ...

    @property
    def generator(self) -> str: ...

    @property
    def refused(self) -> bool: ...

    @property
    def refusal_reason(self) -> str | None: ...

    @property
    def fallback(self) -> bool: ...

    @property
    def dropped(self) -> list[str]: ...

    @property
    def citations(self) -> Sized: ...

    @property
    def retrieved(self) -> Sized: ...


log = logging.getLogger(__name__)

# The answer's stages, in the order they run; generate and verify interleave sentence by sentence.
STAGES = ("retrieve", "gate", "generate", "verify")
INTERLEAVED = {"generate", "verify"}
# Seconds: from a cached BM25 hit (~1 ms) to a slow local LLM draft (a minute).
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TRACER = "policyrag"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


@dataclass(frozen=True)
class Metrics:
    """Every metric policyrag records, created once per process."""

    requests: Counter
    request_seconds: Histogram
    stage_seconds: Histogram
    answers: Counter
    refusals: Counter
    fallbacks: Counter
    dropped: Counter
    admission_waiting: Gauge
    admission_active: Gauge
    answers_waiting: Gauge
    answers_active: Gauge
    rejected: Counter
    ingest_documents: Counter
    ingest_chunks: Counter
    ingest_embeddings: Counter
    ingest_skipped: Counter
    sentence_vectors: Counter
    query_batches: Counter
    query_batched: Counter
    cache_entries: Gauge
    cache_limit: Gauge


@lru_cache(maxsize=1)
def metrics() -> Metrics:
    from prometheus_client import Counter, Gauge, Histogram

    return Metrics(
        requests=Counter("policyrag_http_requests", "HTTP requests answered.", ["method", "route", "status"]),
        request_seconds=Histogram(
            "policyrag_http_request_duration_seconds",
            "Time to the response's headers.",
            ["method", "route", "status"],
            buckets=STAGE_BUCKETS,
        ),
        stage_seconds=Histogram(
            "policyrag_stage_duration_seconds",
            "Time in one answer stage, per answer.",
            ["stage"],
            buckets=STAGE_BUCKETS,
        ),
        answers=Counter("policyrag_answers", "Answers given (refusals included).", ["mode", "generator"]),
        refusals=Counter("policyrag_refusals", "Answers that refused, by reason.", ["reason"]),
        fallbacks=Counter("policyrag_llm_fallbacks", "LLM drafts dropped whole and answered extractively."),
        dropped=Counter("policyrag_verification_dropped_sentences", "Draft sentences verification dropped."),
        admission_waiting=Gauge(
            "policyrag_admission_waiting", "Requests waiting for a slot.", multiprocess_mode="livesum"
        ),
        admission_active=Gauge("policyrag_admission_active", "Requests running.", multiprocess_mode="livesum"),
        answers_waiting=Gauge(
            "policyrag_answers_waiting", "Answers waiting at their own gate.", multiprocess_mode="livesum"
        ),
        answers_active=Gauge("policyrag_answers_active", "Answers being composed.", multiprocess_mode="livesum"),
        rejected=Counter("policyrag_admission_rejected", "Requests turned away at the door.", ["reason"]),
        ingest_documents=Counter("policyrag_ingest_documents", "Documents seen by ingest.", ["outcome"]),
        ingest_chunks=Counter("policyrag_ingest_chunks", "Chunks written or removed.", ["change"]),
        ingest_embeddings=Counter("policyrag_ingest_embeddings", "Embeddings computed (reused chunks excluded)."),
        ingest_skipped=Counter("policyrag_ingest_skipped_files", "Files reported and skipped.", ["reason"]),
        sentence_vectors=Counter(
            "policyrag_sentence_vectors",
            "Sentence vectors of the library's text: stored at ingest, read at ask time, or encoded at ask time "
            "(no stored file had them).",
            ["event"],
        ),
        query_batches=Counter("policyrag_query_batches", "Model calls that encoded search queries."),
        cache_entries=Gauge(
            "policyrag_cache_entries",
            "Entries held by an in-memory cache: queries (query and sentence vectors), sentence_docs (documents' "
            "stored sentence vectors).",
            ["cache"],
            multiprocess_mode="livesum",
        ),
        cache_limit=Gauge(
            "policyrag_cache_limit",
            "The most entries a cache holds (its setting; summed over workers, as the entries are).",
            ["cache"],
            multiprocess_mode="livesum",
        ),
        query_batched=Counter(
            "policyrag_query_batched", "Search queries those calls encoded (÷ batches: the mean batch size)."
        ),
    )


def exposition() -> tuple[bytes, str]:
    """The Prometheus text for this process, or for every worker in multiprocess mode."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    metrics()  # every series appears, at zero, from the first scrape
    registry: CollectorRegistry = REGISTRY
    if multiprocess_dir():
        from prometheus_client import CollectorRegistry, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def worker_exit() -> None:
    """A worker is stopping: its live gauges leave the multiprocess sum."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


# -- tracing ---------------------------------------------------------------------------------------
def otlp_endpoint() -> str | None:
    return os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")


@lru_cache(maxsize=1)
def tracing_enabled() -> bool:
    """Install the OTLP/HTTP span exporter when an endpoint is set, once per process. Without one,
    spans are the API's no-op spans: nothing is recorded and nothing is sent."""
    if not otlp_endpoint():
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "policyrag")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing: spans exported over OTLP/HTTP to %s", otlp_endpoint())
    return True


def shutdown_tracing() -> None:
    """Send the spans still queued (the process is stopping)."""
    if not tracing_enabled():
        return
    from opentelemetry import trace

    provider: Any = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()


def tracer() -> Tracer:
    from opentelemetry import trace

    return trace.get_tracer(TRACER)


# -- what an answer records ------------------------------------------------------------------------
def observe_answer(answer: Observed, started_ns: int, record: bool = True) -> None:
    """Count one finished answer and, when tracing, add its stage spans under the current span.

    Stage times come from the answer's own timings, so ``ask`` and ``stream`` record the same thing.
    Generate and verify interleave (each draft sentence is verified as it arrives): their spans
    carry the summed time of each and are marked ``policyrag.interleaved``.
    """
    if record:
        _count_answer(answer)
    if tracing_enabled():
        _answer_spans(answer, started_ns)


def _count_answer(answer: Observed) -> None:
    m = metrics()
    timings = answer.timings_ms
    for stage in (*STAGES, "total"):
        if stage in timings:
            m.stage_seconds.labels(stage).observe(timings[stage] / 1000)
    m.answers.labels(answer.mode.value, answer.generator).inc()
    if answer.refused:
        m.refusals.labels(answer.refusal_reason or "unknown").inc()
    if answer.fallback:
        m.fallbacks.inc()
    if answer.dropped:
        m.dropped.inc(len(answer.dropped))


def _answer_spans(answer: Observed, started_ns: int) -> None:
    from opentelemetry import trace

    ms = 1_000_000
    end_ns = started_ns + int(answer.timings_ms.get("total", 0.0) * ms)
    root = tracer().start_span("policyrag.answer", start_time=started_ns)
    root.set_attributes({
        "policyrag.mode": answer.mode.value,
        "policyrag.generator": answer.generator,
        "policyrag.refused": answer.refused,
        "policyrag.citations": len(answer.citations),
        "policyrag.retrieved": len(answer.retrieved),
    })  # fmt: skip
    context = trace.set_span_in_context(root)
    at = started_ns
    for stage in STAGES:
        if stage not in answer.timings_ms:
            continue
        span = tracer().start_span(stage, context=context, start_time=at)
        span.set_attribute("policyrag.stage", stage)
        if stage in INTERLEAVED:
            span.set_attribute("policyrag.interleaved", True)
        at += int(answer.timings_ms[stage] * ms)
        span.end(end_time=at)
    root.end(end_time=max(end_ns, at))


def observe_ingest(report: Any) -> None:
    """Count one ingest run (an ``IngestReport``)."""
    m = metrics()
    for outcome, n in (("ingested", report.files_ingested), ("unchanged", report.files_unchanged),
                       ("removed", report.files_removed)):  # fmt: skip
        if n:
            m.ingest_documents.labels(outcome).inc(n)
    if report.chunks_added:
        m.ingest_chunks.labels("added").inc(report.chunks_added)
    if report.chunks_removed:
        m.ingest_chunks.labels("removed").inc(report.chunks_removed)
    if report.embeddings_computed:
        m.ingest_embeddings.inc(report.embeddings_computed)
    if report.sentences_encoded:
        m.sentence_vectors.labels("stored").inc(report.sentences_encoded)
    for skipped in report.files_skipped:
        m.ingest_skipped.labels(skipped["kind"]).inc()
