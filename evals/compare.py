"""Compare two runs: per-metric deltas (paired bootstrap intervals) and per-case changes.

A candidate fails when a headline metric drops by more than the tolerance, or a case that
passed in the baseline fails now. Exit status 1 then, so it gates CI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.metrics import HEADLINE, METRICS


@dataclass
class Comparison:
    deltas: dict[str, dict[str, Any]] = field(default_factory=dict)
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.regressions and not self.newly_failing

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "regressions": self.regressions, "newly_failing": self.newly_failing,
                "newly_passing": self.newly_passing, "missing_cases": self.missing, "deltas": self.deltas}  # fmt: skip


def load(path: Path) -> dict[str, Any]:
    file = path / "results.json" if path.is_dir() else path
    return dict(json.loads(file.read_text(encoding="utf-8")))


def paired_ci(base: list[float], cand: list[float], resamples: int = 2000, seed: int = 0) -> list[float] | None:
    if len(base) < 2:
        return None
    diff = np.asarray(cand, dtype=float) - np.asarray(base, dtype=float)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(resamples, len(diff)))].mean(axis=1)
    return [round(float(np.quantile(means, 0.025)), 4), round(float(np.quantile(means, 0.975)), 4)]


def compare(base: dict[str, Any], cand: dict[str, Any], tolerance: float = 0.02) -> Comparison:
    result = Comparison()
    base_cases = {c["id"]: c for c in base["cases"]}
    cand_cases = {c["id"]: c for c in cand["cases"]}
    common = [i for i in base_cases if i in cand_cases]
    result.missing = sorted(set(base_cases) - set(cand_cases))
    for key in METRICS:
        b, c = base["metrics"].get(key), cand["metrics"].get(key)
        delta = None if b is None or c is None else round(c - b, 4)
        entry: dict[str, Any] = {"base": b, "candidate": c, "delta": delta}
        if not key.startswith("latency_"):
            pairs = [(base_cases[i]["metrics"].get(key), cand_cases[i]["metrics"].get(key)) for i in common]
            pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
            entry["delta_ci"] = paired_ci([x for x, _ in pairs], [y for _, y in pairs])
        result.deltas[key] = entry
        if key in HEADLINE and entry["delta"] is not None and entry["delta"] < -tolerance:
            result.regressions.append(f"{key} fell {b} → {c} (tolerance {tolerance})")
    for i in common:
        was, now = base_cases[i]["passed"], cand_cases[i]["passed"]
        if was and not now:
            result.newly_failing.append(i)
        elif now and not was:
            result.newly_passing.append(i)
    return result
