"""Text a reader of the page cannot see: not the document's content, so never indexed, quoted or
handed to a model. A page's CSS (inline, or a class rule of its own ``<style>``) that takes text out
of sight: ``display: none``, ``visibility: hidden``, zero opacity or font size, text moved far off
screen, text coloured as its background (white on the default white page). A Word run marked hidden
or coloured white, and white text on a PDF page, are read the same way by their loaders."""

from __future__ import annotations

import re
from typing import Any

WHITE = {"#fff", "#ffffff", "white", "rgb(255,255,255)", "rgba(255,255,255,1)"}
OFF_SCREEN_PX = -500  # a left, top or text-indent this far out puts text beyond any screen
CLASS_RULE = re.compile(r"((?:\s*\.[\w-]+\s*,?)+)\{([^}]*)\}")
NUMBER = re.compile(r"^(-?\d*\.?\d+)")


def declarations(style: str) -> dict[str, str]:
    """``"color: #FFF; font-size:0"`` → ``{"color": "#fff", "font-size": "0"}``."""
    out = {}
    for part in style.split(";"):
        name, _, value = part.partition(":")
        if value.strip():
            out[name.strip().lower()] = "".join(value.lower().replace("!important", "").split())
    return out


def _number(value: str | None) -> float | None:
    m = NUMBER.match(value or "")
    return float(m.group(1)) if m else None


def hides(style: dict[str, str], background: str | None = None) -> bool:
    """Whether these declarations take an element's text out of sight (``background``: the nearest
    background colour set by an ancestor, None for the page's default white)."""
    if style.get("display") == "none" or style.get("visibility") in ("hidden", "collapse"):
        return True
    if _number(style.get("opacity")) == 0 or _number(style.get("font-size")) == 0:
        return True
    if style.get("position") in ("absolute", "fixed") and any(
        (n := _number(style.get(side))) is not None and n <= OFF_SCREEN_PX for side in ("left", "top")
    ):
        return True
    if (n := _number(style.get("text-indent"))) is not None and n <= OFF_SCREEN_PX:
        return True
    color = style.get("color")
    ground = style.get("background-color") or style.get("background") or background
    return color is not None and (color == ground or (ground is None and color in WHITE))


def class_rules(soup: Any) -> dict[str, dict[str, str]]:
    """The declarations of the page's own single-class rules (``.note { color: #fff }``)."""
    rules: dict[str, dict[str, str]] = {}
    for tag in soup.find_all("style"):
        for selectors, body in CLASS_RULE.findall(tag.get_text()):
            for name in re.findall(r"\.([\w-]+)", selectors):
                rules.setdefault(name, {}).update(declarations(body))
    return rules


def hidden_elements(root: Any, rules: dict[str, dict[str, str]]) -> list[Any]:
    """The elements under ``root`` whose own style (class rules, then inline) hides them."""
    found = []
    for el in root.find_all(True):
        style: dict[str, str] = {}
        for name in el.get("class") or []:
            style.update(rules.get(name, {}))
        style.update(declarations(str(el.get("style") or "")))
        if not style:
            continue
        background = None
        for parent in el.parents:
            pstyle = declarations(str(parent.get("style") or "")) if hasattr(parent, "get") else {}
            if ground := pstyle.get("background-color") or pstyle.get("background"):
                background = ground
                break
        if hides(style, background):
            found.append(el)
    return found
