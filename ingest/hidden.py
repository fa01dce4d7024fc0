"""Text a reader of the page cannot see: not the document's content, so never indexed, quoted or
handed to a model. A page's CSS (inline, or any rule of its own ``<style>``, its selectors matched by
soupsieve, the selector engine BeautifulSoup uses) that takes text out of sight: ``display: none``,
``visibility: hidden``, zero opacity, a font too small to read, text moved far off screen, text
coloured as its background (its own, an ancestor's, or the default white page). A Word run marked
hidden, coloured white or too small to read, and white text on a PDF page, are read the same way by
their loaders."""

from __future__ import annotations

import re
from typing import Any

WHITE = {"#fff", "#ffffff", "white", "rgb(255,255,255)", "rgba(255,255,255,1)"}
OFF_SCREEN_PX = -500  # a left, top or text-indent this far out puts text beyond any screen
RULE = re.compile(r"([^{}@]+)\{([^{}]*)\}")  # selectors { declarations }, outside @-blocks' own braces
UNREADABLE_PX = 2  # a font-size at most this (px or pt) carries no text a reader can read
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
    size = _number(style.get("font-size"))
    if _number(style.get("opacity")) == 0 or (size is not None and size <= UNREADABLE_PX):
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


def css_rules(soup: Any) -> list[tuple[str, dict[str, str]]]:
    """The page's own style rules, in order: (selector, declarations)."""
    rules = []
    for tag in soup.find_all("style"):
        css = re.sub(r"/\*.*?\*/", "", tag.get_text(), flags=re.DOTALL)
        for selectors, body in RULE.findall(css):
            for selector in selectors.split(","):
                if selector.strip():
                    rules.append((selector.strip(), declarations(body)))
    return rules


def hidden_elements(root: Any, rules: list[tuple[str, dict[str, str]]]) -> list[Any]:
    """The elements under ``root`` whose style (the page's rules, then inline) hides them."""
    styles: dict[int, dict[str, str]] = {}
    for selector, decls in rules:
        try:
            matched = root.select(selector)
        except Exception:  # noqa: BLE001 - a selector soupsieve does not know (a pseudo-element) styles nothing we read
            continue
        for el in matched:
            styles.setdefault(id(el), {}).update(decls)

    def style_of(el: Any) -> dict[str, str]:
        return {**styles.get(id(el), {}), **declarations(str(el.get("style") or ""))}

    found = []
    for el in root.find_all(True):
        style = style_of(el)
        if not style:
            continue
        background = None
        for parent in el.parents:  # the nearest background an ancestor sets
            theirs = style_of(parent) if hasattr(parent, "get") else {}
            if background := theirs.get("background-color") or theirs.get("background"):
                break
        if hides(style, background):
            found.append(el)
    return found
