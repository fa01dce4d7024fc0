"""Compare two runs: per-metric deltas (paired bootstrap intervals) and per-case changes.

A candidate fails when a headline metric drops by more than the tolerance, or a case that
passed in the baseline fails now. Exit status 1 then, so it gates CI. The answer's search-box
figures (``evals.searchbox``) are compared beside the search box's own and their ratios; of them
only the answer's gold recall and first-citation-on-gold gate. A figure the baseline lacks (a
run from before it existed) is listed as not comparable, never as a failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.metrics import HEADLINE, METRICS
from evals.searchbox import FIGURES, GATED, RATIOS, SIDES


@dataclass
class Comparison:
    deltas: dict[str, dict[str, Any]] = field(default_factory=dict)
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    search_box: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    by_split: dict[str, Any] = field(default_factory=dict)
    not_comparable: list[str] = field(default_factory=list)
    note: str | None = None

    @property
    def ok(self) -> bool:
        return not self.regressions and not self.newly_failing

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "regressions": self.regressions, "newly_failing": self.newly_failing,
                "newly_passing": self.newly_passing, "missing_cases": self.missing, "deltas": self.deltas,
                "search_box": self.search_box, "not_comparable": self.not_comparable, "by_split": self.by_split,
                "note": self.note}  # fmt: skip


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


def _delta(b: Any, c: Any) -> float | None:
    return None if b is None or c is None else round(c - b, 4)


def search_box_deltas(base: dict[str, Any] | None, cand: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Side by side: each figure of the answer, of the search box and of their ratio, base and candidate."""
    out: dict[str, dict[str, Any]] = {}
    for side in SIDES:
        b_side, c_side = (base or {}).get(side) or {}, (cand or {}).get(side) or {}
        out[side] = {}
        for fig in RATIOS if side == "ratio" else FIGURES:
            b, c = b_side.get(fig), c_side.get(fig)
            out[side][fig] = {"base": b, "candidate": c, "delta": _delta(b, c)}
    return out


def restrict(results: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """The run as if it had asked only the cases ``ids`` (a full baseline against a one-split candidate)."""
    from evals.run import aggregate
    from evals.searchbox import summarize

    cases = [c for c in results["cases"] if c["id"] in ids]
    metrics, _, _ = aggregate(cases)
    has_box = all(c.get("search_box") for c in cases)
    return {**results, "metrics": metrics, "cases": cases, "search_box": summarize(cases) if has_box else None}


def compare(base: dict[str, Any], cand: dict[str, Any], tolerance: float = 0.02) -> Comparison:
    result = Comparison()
    split = (cand.get("manifest") or {}).get("split")
    cand_ids = {c["id"] for c in cand["cases"]}
    if split and (base.get("manifest") or {}).get("split") != split and {c["id"] for c in base["cases"]} > cand_ids:
        base = restrict(base, cand_ids)
        result.note = f"the candidate ran split {split!r} only: the baseline is scored on the same cases"
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
    result.search_box = search_box_deltas(base.get("search_box"), cand.get("search_box"))
    for side, figures in result.search_box.items():
        for fig, entry in figures.items():
            if entry["delta"] is None and entry["candidate"] is not None:
                result.not_comparable.append(f"search_box.{side}.{fig}")
            elif side == "answer" and fig in GATED and entry["delta"] is not None and entry["delta"] < -tolerance:
                result.regressions.append(
                    f"search_box.answer.{fig} fell {entry['base']} → {entry['candidate']} (tolerance {tolerance})"
                )
    for name in sorted((base.get("by_split") or {}).keys() & (cand.get("by_split") or {}).keys()):
        b_split, c_split = base["by_split"][name], cand["by_split"][name]
        result.by_split[name] = {
            "cases": {"base": b_split.get("cases"), "candidate": c_split.get("cases")},
            "metrics": {k: {"base": b_split["metrics"].get(k), "candidate": c_split["metrics"].get(k),
                            "delta": _delta(b_split["metrics"].get(k), c_split["metrics"].get(k))}
                        for k in HEADLINE},
            "search_box": search_box_deltas(b_split.get("search_box"), c_split.get("search_box")),
        }  # fmt: skip
    for i in common:
        was, now = base_cases[i]["passed"], cand_cases[i]["passed"]
        if was and not now:
            result.newly_failing.append(i)
        elif now and not was:
            result.newly_passing.append(i)
    return result


def table(result: Comparison) -> str:
    """Plain text for a person: each figure of the answer, the search box and the ratio, base → candidate."""
    from evals.searchbox import LABELS, cell

    def row(fig: str, figures: dict[str, dict[str, Any]]) -> str:
        entry = figures.get(fig)
        if entry is None:
            return f"{'':>22}"
        return f"{cell(fig, entry['base']):>9} → {cell(fig, entry['candidate']):<10}"

    groups = {"all": result.search_box} | {n: s["search_box"] for n, s in sorted(result.by_split.items())}
    lines = []
    for name, box in groups.items():
        lines.append(f"{name}: {'':24}{'answer':^22}{'search box':^22}{'answer ÷ search':^22}")
        for fig in FIGURES:
            lines.append(f"  {LABELS[fig]:28}" + "".join(row(fig, box.get(side, {})) for side in SIDES))
    if result.not_comparable:
        lines.append("not comparable (the baseline lacks them): " + ", ".join(result.not_comparable))
    return "\n".join(lines)
