"""Calibrate the verifier's support threshold on hand-labelled claims.

    python -m evals.calibrate_support [evals/datasets/support.jsonl]

Each claim is either stated by the corpus (verbatim, near-verbatim or paraphrased) or not
(fabricated, wrong entity or figure, outside knowledge, contradicted, and real SmolLM2 outputs
that reuse the sources' words). For each claim the verifier scores its best supporting quote among
the passages retrieved for it, exactly as it does when it re-attaches a citation. The threshold
minimises cost = 5 × false supports + missed supports (a wrong citation is far worse than a
dropped sentence: grounded or silent). Writes evals/calibration/support.json and SUPPORT.md.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from evals.dataset import dataset_hash
from evals.thresholds import choose_cut
from rag.answer.verify import SUPPORT_WEIGHTS as W
from rag.answer.verify import Verifier
from rag.compose import compose
from rag.core.config import get_settings

HERE = Path(__file__).resolve().parent
OUT = HERE / "calibration"
FALSE_SUPPORT_COST = 5  # a wrong citation misleads; a dropped sentence only shortens the answer (grounded or silent)


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    claim: str
    supported: bool
    kind: str


def load_claims(path: Path) -> list[Claim]:
    claims = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                claims.append(Claim.model_validate_json(line))
            except ValueError as exc:
                raise SystemExit(f"{path}:{number}: {exc}") from exc
    return claims


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    path = Path(argv[0]) if argv else HERE / "datasets" / "support.jsonl"
    claims = load_claims(path)
    settings = get_settings()
    index = compose(settings).index
    verifier = Verifier(index.embeddings, settings.support_threshold)
    rows: list[dict[str, Any]] = []
    for c in claims:
        sources = index.search(c.claim, settings.answer_k)
        best = max((verifier.support(c.claim, s) for s in sources), key=lambda s: s.score, default=None)
        score = round(best.score, 4) if best else 0.0
        rows.append({"id": c.id, "kind": c.kind, "supported": c.supported, "score": score,
                     "quote": " ".join(best.span.text.split()) if best else ""})  # fmt: skip
    threshold, missed, false = choose_cut([r["score"] for r in rows if r["supported"]],
                                      [r["score"] for r in rows if not r["supported"]], FALSE_SUPPORT_COST)  # fmt: skip
    n_sup = sum(r["supported"] for r in rows)
    n_uns = len(rows) - n_sup
    summary: dict[str, Any] = {
        "dataset": str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path),
        "dataset_sha256_16": dataset_hash(path),
        "signal": f"verifier support: {W.containment} content-token containment + {W.similarity} cosine, best "
        f"sentence or sentence pair, x{W.missing_figure} when the claim states a figure the quote does not, "
        f"x{W.missing_name} when it names someone or something the quote does not, "
        f"x{W.swapped_role} when it gives a body the quote names a role the quote gives another",
        "weights": asdict(W),
        "cost": f"{FALSE_SUPPORT_COST} x false supports + missed supports",
        "threshold": threshold,
        "supported_claims": n_sup,
        "unsupported_claims": n_uns,
        "missed_supports": missed,
        "false_supports": false,
        "false_support_rate": round(false / n_uns, 4) if n_uns else None,
        "missed_support_rate": round(missed / n_sup, 4) if n_sup else None,
        "scores": {r["id"]: r["score"] for r in rows},
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "support.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [
        "# Support calibration",
        "",
        f"Produced by `python -m evals.calibrate_support` on `{summary['dataset']}` ({len(rows)} claims). "
        f"Signal: {summary['signal']}. Cost: {summary['cost']}.",
        "",
        f"**Chosen threshold: {threshold}.** Missed supports: {missed}/{n_sup}; false supports: {false}/{n_uns}.",
        "",
        "| claim | kind | supported | score | decision | best quote |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(rows, key=lambda r: r["score"]):
        keep = r["score"] >= threshold
        mark = " ✗" if keep != r["supported"] else ""
        quote = r["quote"][:90].replace("|", "\\|")
        lines.append(f"| {r['id']} | {r['kind']} | {r['supported']} | {r['score']:.3f} | "
                     f"{'cite' if keep else 'drop'}{mark} | {quote} |")  # fmt: skip
    (OUT / "SUPPORT.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps({k: v for k, v in summary.items() if k != "scores"}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
