"""PDF ingest speed: pages per second, and the share of ingest time spent in layout and OCR.

Method: the five corpus documents as LibreOffice writes them as PDF (``tests/fixtures/real.py``),
each copied COPIES times under another name, plus the test suite's report (5 pages, outline, two
columns), its table (2 pages) and its scanned minutes (1 page of text, 1 scanned) -- so the mix
has text pages, table pages and OCR pages. First each file is read alone (``read_pdf``, REPEAT
times, best run) to time the stages; then the folder is ingested into a fresh data dir with the
real embedder (embedded Chroma), end to end. Writes benchmarks/RESULTS-pdf.md.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ingest.pdf import read_pdf  # noqa: E402
from ingest.pipeline import Ingestor  # noqa: E402
from rag.compose import compose  # noqa: E402
from rag.core.config import Settings  # noqa: E402
from tests.fixtures.pdfs import report_pdf, scanned_pdf, table_pdf  # noqa: E402
from tests.fixtures.real import real_corpus  # noqa: E402

COPIES, REPEAT = 4, 3


def corpus(dest: Path) -> None:
    real = real_corpus() / "pdf"
    for i in range(COPIES):
        for pdf in sorted(real.glob("*.pdf")):
            shutil.copy(pdf, dest / f"{pdf.stem}-{i}.pdf")
    (dest / "report.pdf").write_bytes(report_pdf())
    (dest / "costs.pdf").write_bytes(table_pdf())
    (dest / "minutes.pdf").write_bytes(scanned_pdf())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="policyrag-bench-pdf-") as tmp:
        root = Path(tmp)
        folder = root / "corpus"
        folder.mkdir()
        corpus(folder)
        files = sorted(folder.glob("*.pdf"))
        stages = {"checks": 0.0, "layout": 0.0, "ocr": 0.0, "compose": 0.0}
        pages = ocr_pages = 0
        for pdf in files:
            data = pdf.read_bytes()
            best = min((read_pdf(data, 2000) for _ in range(REPEAT)), key=lambda t: sum(t.seconds.values()))
            for k, v in best.seconds.items():
                stages[k] += v
            pages += len(best.page_starts)
            ocr_pages += len(best.ocr_pages)
        settings = Settings(data_dir=root / "data", corpus_dir=folder)
        index = compose(settings).index
        index.embeddings.embed_query("warm up")  # the model's load is not ingest time
        started = time.perf_counter()
        report = Ingestor(settings, index).run()
        ingest_s = time.perf_counter() - started
    read_s = sum(stages.values())
    lines = [
        "# PDF ingest speed",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()}. Command: `make bench` (benchmarks/bench_pdf.py).",
        "",
        f"{len(files)} PDFs, {pages} pages ({ocr_pages} scanned, read by Tesseract); {report.chunks_total} chunks.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| reading alone (checks, layout, OCR, composing the text) | {read_s:.2f} s, {pages / read_s:.1f} pages/s |",
        f"| full ingest (read, chunk, embed, write) | {ingest_s:.2f} s, {pages / ingest_s:.1f} pages/s |",
        f"| share of ingest time in layout | {stages['layout'] / ingest_s:.0%} ({stages['layout']:.2f} s) |",
        f"| share of ingest time in OCR | {stages['ocr'] / ingest_s:.0%} ({stages['ocr']:.2f} s, {ocr_pages} pages) |",
        f"| pypdf checks (limits, encryption, outline) | {stages['checks']:.2f} s |",
        f"| text without OCR pages | {(pages - ocr_pages) / (read_s - stages['ocr']):.1f} pages/s |",
        "",
        "Reading times are the best of three runs per file, timed by stage inside `read_pdf`; the shares",
        "set those stage times against the one end-to-end ingest run (after the embedding model is loaded).",
    ]
    out = HERE / "RESULTS-pdf.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
