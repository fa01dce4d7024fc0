"""Optional LLM-judge tier: a model rates faithfulness and relevance, N times, cached.

Off by default; the deterministic metrics are the ones that gate. Any OpenAI-compatible endpoint
works. Every call is cached on disk under a hash of (model, prompt, repeat), so re-running a
suite costs nothing and gives the same numbers; the spread over the N repeats is reported, and
a reply that holds no score counts as undetermined, never as 0.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

ASPECTS = {
    "faithfulness": "Does every statement in the ANSWER follow from the SOURCES? 10 = fully supported, 0 = invented.",
    "relevance": "Does the ANSWER address the QUESTION? 10 = answers it directly, 0 = unrelated.",
}
SYSTEM = "You are a strict evaluator. Reply with a single integer from 0 to 10 and nothing else."
SCORE = re.compile(r"\b(10|[0-9])\b")


@dataclass
class Judge:
    chat: BaseChatModel
    model: str
    cache_dir: Path
    repeats: int = 3
    calls: int = 0  # model calls actually made (cache misses)

    def _ask(self, prompt: str, repeat: int) -> str:
        key = hashlib.sha256(json.dumps([self.model, SYSTEM, prompt, repeat]).encode()).hexdigest()
        path = self.cache_dir / f"{key}.json"
        if path.exists():
            return str(json.loads(path.read_text(encoding="utf-8"))["reply"])
        # The repeat index goes into the prompt so a server with prompt caching still samples anew.
        reply = self.chat.invoke([SystemMessage(SYSTEM), HumanMessage(f"{prompt}\n\n(rating {repeat + 1})")]).text
        self.calls += 1
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"model": self.model, "reply": reply}), encoding="utf-8")
        return reply

    def rate(self, question: str, answer: str, passages: list[str]) -> dict[str, Any]:
        sources = "\n\n".join(f"[{i}] {p}" for i, p in enumerate(passages, start=1)) or "(none)"
        out: dict[str, Any] = {}
        for aspect, instruction in ASPECTS.items():
            prompt = f"{instruction}\n\nQUESTION: {question}\n\nSOURCES:\n{sources}\n\nANSWER:\n{answer}\n\nScore:"
            scores = []
            for r in range(self.repeats):
                m = SCORE.search(self._ask(prompt, r))
                if m:
                    scores.append(int(m.group(1)) / 10)
            out[aspect] = round(statistics.fmean(scores), 4) if scores else None
            out[f"{aspect}_spread"] = [min(scores), max(scores)] if scores else None
            out[f"{aspect}_undetermined"] = self.repeats - len(scores)
        return out


def judge_results(results: dict[str, Any], judge: Judge, answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Add ``judge`` to each answered case and a summary to ``results``."""
    per_aspect: dict[str, list[float]] = {a: [] for a in ASPECTS}
    undetermined = dict.fromkeys(ASPECTS, 0)
    for case in results["cases"]:
        if case["refused"]:
            continue
        answer = answers[case["id"]]
        passages = list(dict.fromkeys(c.get("passage") or c["quote"] for c in answer.get("citations", [])))
        case["judge"] = judge.rate(case["question"], case["answer"], passages)
        for aspect in ASPECTS:
            value = case["judge"][aspect]
            if value is None:
                undetermined[aspect] += 1
            else:
                per_aspect[aspect].append(value)
    summary: dict[str, Any] = {"model": judge.model, "repeats": judge.repeats, "undetermined": undetermined}
    for aspect, values in per_aspect.items():
        summary[aspect] = round(statistics.fmean(values), 4) if values else None
        judged = [c["judge"] for c in results["cases"] if "judge" in c]
        spreads = [j[f"{aspect}_spread"] for j in judged if j[f"{aspect}_spread"]]
        summary[f"{aspect}_mean_spread"] = (
            round(statistics.fmean(hi - lo for lo, hi in spreads), 4) if spreads else None
        )
    results["judge"] = summary
    return results
