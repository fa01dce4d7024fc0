"""The README stays short and the documentation site loses nothing: every setting and every command is in
the generated reference, every page is in the navigation, every local link of the README resolves.
(`make docs`, part of `make test`, builds the site itself with --strict: broken links and anchors.)"""

from __future__ import annotations

import importlib.util
import re
from types import ModuleType
from typing import Any

import pytest
import yaml

from rag.core.config import Settings
from tests.conftest import REPO

DOCS = REPO / "docs"
README = REPO / "README.md"


@pytest.fixture(scope="module")
def hooks() -> ModuleType:
    """docs/hooks.py, the MkDocs hook that generates the reference pages, imported as MkDocs does."""
    spec = importlib.util.spec_from_file_location("policyrag_docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nav_pages(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [page for item in node for page in nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in nav_pages(value)]
    return []


def test_the_readme_is_read_in_five_minutes() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_every_local_link_of_the_readme_resolves() -> None:
    text = README.read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]
    assert any(t.startswith("docs/") for t in targets)
    missing = [t for t in targets if not (REPO / t.split("#")[0]).exists()]
    assert missing == []


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    in_nav = nav_pages(config["nav"])
    on_disk = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(in_nav) == on_disk
    assert len(in_nav) == len(set(in_nav)), "a page is in the navigation twice"


def test_every_setting_is_in_the_settings_reference_with_what_it_does(hooks: ModuleType) -> None:
    from ui.settings import UiSettings

    page = (DOCS / "operating" / "settings.md").read_text(encoding="utf-8")
    assert "<!-- generated: settings -->" in page and "<!-- generated: ui-settings -->" in page
    for model, generated in ((Settings, hooks.core_settings()), (UiSettings, hooks.ui_settings())):
        described = {variable: what for _, variable, _, _, what in hooks.settings_rows(model)}
        for name in model.model_fields:
            variable = f"POLICYRAG_{name.upper()}"
            assert f"| `{variable}` |" in generated, f"{variable} is not in the settings reference"
            assert described[variable].strip(), f"{variable} has no description: give its Field one"


def test_every_command_is_in_the_cli_reference(hooks: ModuleType) -> None:
    import typer

    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert "<!-- generated: cli -->" in page
    generated = hooks.cli_reference()
    root = typer.main.get_command(hooks.cli_app())
    commands: list[str] = []

    def walk(command: Any, path: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            commands.append(f"{path} {name}".strip())
            walk(sub, f"{path} {name}")

    walk(root, "")
    assert {"ingest", "ask", "serve", "ui", "eval", "eval run", "eval compare", "feedback export"} <= set(commands)
    assert len(commands) == len(hooks.cli_commands())
    for command in commands:
        assert re.search(rf"^#+ `policyrag {command}`$", generated, re.MULTILINE), f"policyrag {command}"
        assert f"Usage: policyrag {command} " in generated, f"the help of policyrag {command}"


def test_every_route_of_the_api_is_documented(hooks: ModuleType) -> None:
    """The hand-written routes of the HTTP API page cover the app's schema (`{id}` and `{case_id}` alike)."""
    page = (DOCS / "reference" / "http-api.md").read_text(encoding="utf-8")
    written = re.sub(r"\{[a-z_]*\}", "{}", page.split("<!-- generated: http-routes -->")[0])
    for route in hooks.openapi_schema()["paths"]:
        assert re.sub(r"\{[a-z_]*\}", "{}", route) in written, f"{route} is not on the HTTP API page"
    assert "| `POST` | `/v1/ask` |" in hooks.http_routes()


def test_every_generated_part_a_page_asks_for_exists(hooks: ModuleType) -> None:
    asked = {name for page in DOCS.rglob("*.md") for name in hooks.MARKER.findall(page.read_text(encoding="utf-8"))}
    assert asked == set(hooks.GENERATORS)
