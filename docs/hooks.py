"""MkDocs hook: the reference parts generated from the code at build time, so they cannot drift from it.

A page asks for a part with a marker line of its own, ``<!-- generated: NAME -->``:

- ``settings``: every field of ``rag.core.config.Settings`` (variable, default, type, description);
- ``ui-settings``: the same for the UI's own ``ui.settings.UiSettings``;
- ``cli``: every ``policyrag`` command and sub-command, with the help the command itself prints;
- ``http-routes``: every route of the FastAPI app's OpenAPI schema;
- ``metrics``: every Prometheus series ``rag.core.observability`` records;
- ``answer``: the fields of ``rag.answer.model.Answer`` and of the models it holds.

The OpenAPI schema itself is written as ``reference/openapi.json`` (from ``api.app.create_app``: building
the app loads no model, that happens in its lifespan, which never runs here). An unknown marker fails
the build. Everything here imports the installed package, so build with the project's venv.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import re
import types
import typing
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
OPENAPI_PATH = "reference/openapi.json"
HELP_WIDTH = 76  # fits a code block of the Material theme without scrolling


# --- settings -------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def type_name(annotation: Any) -> str:
    """A reader's name for a type: ``list[Citation]``, ``str | None``, ``extractive | openai | local``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        inner = ", ".join(type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(str(member.value) for member in annotation)
    if annotation is SecretStr:
        return "secret"
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, enum.Enum):
        return f"`{value.value}`"
    if value == "" or value == [] or value == {}:
        return "(empty)"
    return f"`{value}`"


def bounds_text(field: FieldInfo) -> str:
    """The field's numeric and length bounds, as the settings enforce them."""
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "at least", "max_length": "at most"}
    parts = []
    for item in field.metadata:
        for attr, word in words.items():
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{word} {value}" + (" characters" if "length" in attr else ""))
    return ", ".join(parts)


def settings_rows(model: type[BaseModel]) -> list[tuple[str, str, str, str, str]]:
    """(field, variable, default, type, description) for every field of a settings class."""
    prefix = str(model.model_config.get("env_prefix", ""))
    rows = []
    for name, field in model.model_fields.items():
        description = field.description or ""
        kind, bounds = type_name(field.annotation), bounds_text(field)
        rows.append((name, f"{prefix}{name}".upper(), default_text(field), f"{kind} ({bounds})" if bounds else kind,
                     description))  # fmt: skip
    return rows


def settings_table(model: type[BaseModel]) -> str:
    lines = ["| variable | default | type | what it does |", "| --- | --- | --- | --- |"]
    for _, variable, default, kind, description in settings_rows(model):
        lines.append(f"| `{variable}` | {_cell(default)} | {_cell(kind)} | {_cell(description)} |")
    return "\n".join(lines)


def core_settings() -> str:
    from rag.core.config import Settings

    return settings_table(Settings)


def ui_settings() -> str:
    from ui.settings import UiSettings

    return settings_table(UiSettings)


# --- the CLI --------------------------------------------------------------------------------------


@functools.cache
def cli_app() -> Any:
    """The ``policyrag`` typer app with every package's commands, as ``main()`` builds it."""
    from rag import cli

    have = {c.name for c in cli.app.registered_commands} | {g.name for g in cli.app.registered_groups}
    for ep in sorted(entry_points(group="policyrag.commands"), key=lambda e: e.name):
        if ep.name not in have:  # a rebuild under `mkdocs serve` finds them registered already
            ep.load()(cli.app)
    return cli.app


def cli_commands() -> list[tuple[str, ...]]:
    """Every command path, groups and their sub-commands included: ("ask",), ("eval", "run"), ..."""
    import typer

    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if getattr(sub, "hidden", False):
                continue
            paths.append((*path, name))
            walk(sub, (*path, name))

    walk(typer.main.get_command(cli_app()), ())
    return paths


def command_help(path: tuple[str, ...]) -> str:
    """What ``policyrag PATH --help`` prints, at a fixed width and without colour."""
    from typer.testing import CliRunner

    env = {"COLUMNS": str(HELP_WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
    result = CliRunner().invoke(cli_app(), [*path, "--help"], prog_name="policyrag", env=env,
                                terminal_width=HELP_WIDTH)  # fmt: skip
    if result.exit_code != 0:
        raise RuntimeError(f"policyrag {' '.join(path)} --help exited {result.exit_code}: {result.output}")
    lines = [line.rstrip() for line in result.output.splitlines()]
    return "\n".join(lines).strip("\n")


def cli_reference() -> str:
    out = ["```text", command_help(()), "```"]
    for path in cli_commands():
        level = "#" * (1 + len(path))
        out += ["", f"{level} `policyrag {' '.join(path)}`", "", "```text", command_help(path), "```"]
    return "\n".join(out)


# --- the HTTP API ---------------------------------------------------------------------------------


@functools.cache
def openapi_schema() -> dict[str, Any]:
    """The app's OpenAPI schema with the default settings, whatever this shell's environment says."""
    from api.app import create_app
    from rag.core.config import Settings

    return create_app(Settings.model_construct()).openapi()


def http_routes() -> str:
    lines = ["| method | route | what it does |", "| --- | --- | --- |"]
    for route, operations in openapi_schema()["paths"].items():
        for method, operation in operations.items():
            what = operation.get("description") or operation.get("summary") or ""
            what = what.strip().split("\n\n")[0]
            lines.append(f"| `{method.upper()}` | `{route}` | {_cell(what)} |")
    return "\n".join(lines)


# --- Prometheus metrics ---------------------------------------------------------------------------


def metrics_table() -> str:
    """Every series ``rag.core.observability.metrics()`` creates, with its type, labels and help text."""
    import dataclasses

    from rag.core.observability import STAGES, metrics

    suffix = {"counter": "_total"}
    lines = ["| metric | type | labels | what |", "| --- | --- | --- | --- |"]
    recorded = metrics()
    for field in dataclasses.fields(recorded):
        collector = getattr(recorded, field.name)
        family = collector.describe()[0]
        labels = ", ".join(f"`{name}`" for name in getattr(collector, "_labelnames", ()))
        if "stage" in getattr(collector, "_labelnames", ()):
            labels += f": {', '.join((*STAGES, 'total'))}"
        name = family.name + suffix.get(family.type, "")
        lines.append(f"| `{name}` | {family.type} | {_cell(labels)} | {_cell(family.documentation)} |")
    return "\n".join(lines)


# --- the Answer -----------------------------------------------------------------------------------


def models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in models_in(arg)]


def model_tables(root: type[BaseModel]) -> str:
    """A table per model, the root first, then each model one of its fields holds."""
    seen: list[type[BaseModel]] = []
    queue = [root]
    while queue:
        model = queue.pop(0)
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            queue += models_in(field.annotation)
    out = []
    for model in seen:
        doc = inspect.cleandoc(model.__doc__ or "") if model.__doc__ else ""
        out += [f"### `{model.__name__}`", ""]
        if doc:
            out += [" ".join(doc.split()), ""]
        out += ["| field | type | default | what it holds |", "| --- | --- | --- | --- |"]
        for name, field in model.model_fields.items():
            default = "required" if field.is_required() else default_text(field)
            out.append(f"| `{name}` | {_cell(type_name(field.annotation))} | {_cell(default)} "
                       f"| {_cell(field.description or '')} |")  # fmt: skip
        out.append("")
    return "\n".join(out)


def answer_shape() -> str:
    from rag.answer.model import Answer

    return model_tables(Answer)


# --- MkDocs events --------------------------------------------------------------------------------

GENERATORS = {
    "settings": core_settings,
    "ui-settings": ui_settings,
    "cli": cli_reference,
    "http-routes": http_routes,
    "metrics": metrics_table,
    "answer": answer_shape,
}


def render(markdown: str, where: str = "") -> str:
    """The page with each marker line replaced by its generated part."""

    def part(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            from mkdocs.exceptions import PluginError

            raise PluginError(f"{where}: unknown generated part {name!r}; known: {', '.join(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(part, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return render(markdown, page.file.src_uri)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    schema = json.dumps(openapi_schema(), indent=2, ensure_ascii=False) + "\n"
    files.append(File.generated(config, OPENAPI_PATH, content=schema))
    return files
