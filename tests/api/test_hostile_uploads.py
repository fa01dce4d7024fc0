"""Hostile uploads against a real server: each is refused or contained with a 4xx and a reason,
nothing is written to the corpus, the index stays consistent and the server keeps serving.

The outcome of every case is also written to ``test-artifacts/hostile-uploads.md``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import ADMIN, READER, Server, keyed_server, stop
from tests.conftest import REPO

pytestmark = [pytest.mark.server, pytest.mark.slow]

ARTIFACTS = Path(os.environ.get("POLICYRAG_TEST_ARTIFACTS", REPO / "test-artifacts"))
OUTCOMES: list[tuple[str, int, str]] = []


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = keyed_server(tmp_path_factory.mktemp("hostile-uploads"), "2")
    yield server
    stop(server)
    if OUTCOMES:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        rows = "\n".join(f"| {case} | {status} | {reason} |" for case, status, reason in OUTCOMES)
        (ARTIFACTS / "hostile-uploads.md").write_text(
            "| case | status | reason given |\n| --- | --- | --- |\n" + rows + "\n", encoding="utf-8"
        )


def docx_bytes(parts: dict[str, bytes] | None = None, big: tuple[str, int] | None = None) -> bytes:
    """A ZIP laid out like a Word package; ``big`` adds a part of that many zero bytes, streamed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        for name, data in (parts or {}).items():
            zf.writestr(name, data)
        if big:
            with zf.open(big[0], "w", force_zip64=True) as out:
                block = b"\0" * (1 << 20)
                for _ in range(big[1] >> 20):
                    out.write(block)
    return buf.getvalue()


def pdf_claiming(pages: int) -> bytes:
    """A well-formed one-page PDF whose page tree claims ``pages`` pages."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [3 0 R] /Count {pages} >>".encode(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def many_page_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica")
    for i in range(pages):
        pdf.add_page()
        pdf.cell(text=f"page {i}")
    return bytes(pdf.output())


def small_pdf() -> bytes:
    return many_page_pdf(1)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 120

CASES = [
    # (case, file name, bytes, expected status, words the reason must contain)
    ("zip bomb .docx (300 MB of zeros)", "bomb.docx",
     lambda: docx_bytes(big=("word/document.xml", 300 << 20)), 422, "unpacks to 300 MB"),
    ("a .docx of 6,000 parts", "parts.docx",
     lambda: docx_bytes({f"word/media/p{i}.xml": b"<x/>" for i in range(6000)}), 422, "6001 parts"),
    ("a plain ZIP named .docx", "plain.docx", lambda: docx_bytes({"notes.txt": b"hello"}), 422, "no word/document.xml"),
    ("PDF of 2,001 real pages", "long.pdf", lambda: many_page_pdf(2001), 422, "2001 pages, more than the limit"),
    # pypdf counts the real page tree, not the claim: one empty page, so nothing to index
    ("PDF claiming 1,000,000,000 pages", "claims.pdf", lambda: pdf_claiming(10**9), 422, "no extractable text"),
    ("PNG named .pdf", "scan.pdf", lambda: PNG, 415, "image/png"),
    ("PDF named .md", "notes.md", small_pdf, 415, "application/pdf"),
    ("ELF executable named .txt", "readme.txt", lambda: ELF, 415, "application/x-executable"),
    ("HTML with NUL bytes", "page.html", lambda: b"<html>\x00\x00<body>x</body></html>", 422, "binary"),
    ("name with a right-to-left override", "report\u202efdp.md", lambda: b"# x\n\ntext here\n", 400, "may use"),
    ("hidden file name", ".env.md", lambda: b"# x\n\ntext here\n", 400, "must start with a letter"),
    ("name of 300 characters", "a" * 297 + ".md", lambda: b"# x\n\ntext\n", 400, "at most 151"),
]  # fmt: skip


def documents(api: Server) -> set[str]:
    with api.client(READER) as client:
        return {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}


@pytest.mark.parametrize(("case", "name", "make", "status", "reason"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_upload_is_refused_with_a_reason(
    api: Server, case: str, name: str, make: object, status: int, reason: str
) -> None:
    before = documents(api)
    data = make()  # type: ignore[operator]
    with api.client(ADMIN) as client:
        r = client.post("/v1/documents", files={"file": (name, data, "application/octet-stream")})
        assert r.status_code == status, r.text
        message = r.json()["error"]["message"]
        assert reason in message, message
        OUTCOMES.append((case, r.status_code, message))
        assert client.get("/healthz").status_code == 200
    assert documents(api) == before
    uploads = api.root / "corpus" / "uploads"
    assert not uploads.exists() or not [p for p in uploads.iterdir() if not p.is_symlink()]


def test_oversize_bodies_are_refused_before_they_are_read(api: Server) -> None:
    big = b"x" * (3 << 20)
    with api.client(ADMIN) as client:
        declared = client.post("/v1/documents", files={"file": ("big.md", big, "text/markdown")})
        assert declared.status_code == 413 and "at most 2 MB" in declared.json()["error"]["message"]
        OUTCOMES.append(("3 MB upload, Content-Length declared", 413, declared.json()["error"]["message"]))

        def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.md"\r\n\r\n'
            for i in range(0, len(big), 1 << 16):
                yield big[i : i + (1 << 16)]
            yield b"\r\n--b--\r\n"

        streamed = client.post(
            "/v1/documents", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert streamed.status_code == 413, streamed.text
        OUTCOMES.append(("3 MB upload, chunked", 413, streamed.json()["error"]["message"]))
        huge_json = client.post("/v1/search", content=b'{"query": "' + b"a" * (3 << 20) + b'"}',
                                headers={"Content-Type": "application/json"})  # fmt: skip
        assert huge_json.status_code == 413
        OUTCOMES.append(("3 MB JSON body", 413, huge_json.json()["error"]["message"]))
        assert client.get("/healthz").status_code == 200


def test_a_symlink_in_the_uploads_folder_is_not_followed(api: Server, tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("# Private\n\nNot part of the library.\n")
    uploads = api.root / "corpus" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "linked.md").symlink_to(outside)
    try:
        with api.client(ADMIN) as client:
            r = client.post("/v1/documents", files={"file": ("linked.md", b"# New\n\nReplacement text here.\n")})
        assert r.status_code == 409 and "symbolic link" in r.json()["error"]["message"]
        OUTCOMES.append(("upload over a symlink planted in uploads/", 409, r.json()["error"]["message"]))
        assert outside.read_text() == "# Private\n\nNot part of the library.\n"
        assert (uploads / "linked.md").is_symlink()
    finally:
        (uploads / "linked.md").unlink()


def test_after_all_that_the_index_is_consistent(api: Server) -> None:
    doctor = subprocess.run(
        [str(Path(sys.executable).with_name("policyrag")), "doctor"], env=api.env, capture_output=True, text=True
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "index consistent" in doctor.stdout
    assert documents(api) == {
        "business-society-public-services", "citizen-centric-public-services", "corporate-infrastructure-society",
        "open-book-social-innovation-notes", "social-enterprise-co-production",
    }  # fmt: skip
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {READER}"}, timeout=60) as client:
        r = client.post("/v1/ask", json={"question": "Who set up the Zero Carbon Hub?"})
        assert r.status_code == 200 and r.json()["citations"]
