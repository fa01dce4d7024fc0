"""Evaluations: browse ``policyrag eval run`` results and compare two runs (files, not the index)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from evals.compare import compare
from evals.metrics import METRIC_HELP
from ui.settings import UiSettings

st.set_page_config(page_title="policyrag · Evaluations", layout="wide")
st.title("Evaluations")
root = UiSettings().eval_runs_dir
runs = sorted((p.parent for p in root.rglob("results.json")), key=lambda p: str(p)) if root.is_dir() else []
if not runs:
    st.info(f"No evaluation runs under {root}. Create one with `policyrag eval run evals/datasets/dev.jsonl`.")
    st.stop()


@st.cache_data
def load(path: str, mtime: float) -> dict[str, Any]:
    return dict(json.loads(Path(path, "results.json").read_text(encoding="utf-8")))


def results(path: Path) -> dict[str, Any]:
    return load(str(path), (path / "results.json").stat().st_mtime)


labels = [str(p.relative_to(root)) for p in runs]
chosen = st.selectbox("Run", labels)
run = results(root / chosen)
man = run["manifest"]
commit = str(man["git_commit"])[:10]
st.caption(f"{man['dataset']} · generator {man['models']['generator']} · commit {commit} · {man['time']}")
st.subheader("Metrics")
st.table([{"metric": k, "value": v, "95% interval": run["metric_ci"].get(k), "undetermined": run["undetermined"].get(k),
           "measures": METRIC_HELP.get(k, "")} for k, v in run["metrics"].items()])  # fmt: skip
st.subheader("By kind")
st.table([{"kind": k, **v} for k, v in run["by_kind"].items()])
failed = [c for c in run["cases"] if not c["passed"]]
st.subheader(f"Failing cases ({len(failed)})")
for c in failed:
    with st.expander(f"{c['id']} — {c['question']}"):
        st.markdown(c["answer"] or "*(no answer)*")
        retrieved = ", ".join(dict.fromkeys(c["retrieved"]))
        st.caption(f"retrieved: {retrieved} · expected: {', '.join(c['expected_sources'])}")
        for text in c.get("gold_missed", []):
            st.markdown(f"- gold evidence not cited: > {text}")
        if c.get("missing"):
            st.markdown("- should say the library does not state: " + "; ".join(c["missing"]))
        if c.get("false_premise"):
            st.markdown(f"- should first correct the premise: {c['false_premise']}")

st.subheader("Compare")
others = [label for label in labels if label != chosen]
if others:
    base_label = st.selectbox("Baseline", others)
    result = compare(results(root / base_label), run)
    if result.ok:
        st.success(f"No regression against {base_label}.")
    else:
        st.error("Regressed: " + "; ".join(result.regressions + [f"case {c}" for c in result.newly_failing]))
    st.table([{"metric": k, **v} for k, v in result.deltas.items()])
