"""``astroshield config reference``: docs/configuration.md, generated from the Settings model.

Each setting's description is its ``Field(description=...)``, else the comment at the end
of its line, else its name in words. The comment block above a group of settings (the lines
up to the next blank line) is the group's introduction. Secrets (``SecretStr``) are marked
and their defaults never printed.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from astroshield import config as config_module
from astroshield.cli.output import console, fail
from astroshield.config import Settings

app = typer.Typer(help="Configuration.", no_args_is_help=True)

REGENERATE = ".venv/bin/astroshield config reference --output docs/configuration.md"
CONSTRAINTS = ("gt", "ge", "lt", "le", "pattern")


@dataclass
class _Group:
    intro: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def _comments(source: str) -> dict[int, str]:
    """Line number -> the comment text on that line."""
    found: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            found[token.start[0]] = text
    return found


def _groups(model: type[BaseModel]) -> tuple[list[_Group], dict[str, str]]:
    """The settings in source order, grouped by blank lines, and their own comments: the
    one at the end of the line, or a block right above the setting inside a group."""
    source = Path(config_module.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    comments = _comments(source)
    tree = ast.parse(source)
    body = next(
        node.body
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == model.__name__
    )
    groups: list[_Group] = []
    inline: dict[str, str] = {}
    previous_end = 0
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        name = node.target.id
        start = node.lineno
        above: list[str] = []
        line = start - 1
        while line > previous_end and line in comments and lines[line - 1].lstrip().startswith("#"):
            above.insert(0, comments[line])
            line -= 1
        blank_before = line > previous_end and not lines[line - 1].strip()
        if not groups or blank_before:
            groups.append(_Group(intro=above))
        elif above:
            inline[name] = " ".join(above)
        groups[-1].names.append(name)
        end = node.end_lineno or start
        if end in comments and not lines[end - 1].lstrip().startswith("#"):
            inline[name] = comments[end]
        previous_end = end
    return groups, inline


def _type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "none"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(arg) for arg in args)
    if origin is list:
        return f"list of {_type_name(args[0])} (JSON)"
    if annotation is SecretStr:
        return "string (secret)"
    if annotation is Path:
        return "path"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def is_secret(info: FieldInfo) -> bool:
    return "SecretStr" in repr(info.annotation)


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if value is None:
        return "(unset)"
    if is_secret(info):
        return "(dev placeholder: refused in prod)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def _constraints(info: FieldInfo) -> str:
    parts: list[str] = []
    for item in info.metadata:
        for key in CONSTRAINTS:
            value = getattr(item, key, None)
            if value is not None:
                parts.append(f"{key} `{value}`" if key == "pattern" else f"{key} {value}")
    return ", ".join(parts).replace("|", "\\|")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_reference(model: type[BaseModel] = Settings) -> str:
    """The whole of docs/configuration.md."""
    prefix = str(model.model_config.get("env_prefix", ""))
    groups, inline = _groups(model)
    fields = model.model_fields
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from the Settings model (src/astroshield/config.py): do not edit.",
        f"     Regenerate with: {REGENERATE} -->",
        "",
        f"Every setting is an environment variable with the prefix `{prefix}` (or a line in",
        '`.env`). Lists are JSON (`["a", "b"]`). Secrets are marked **secret**: give them',
        "through a secret store or a file readable by the service only, never in a",
        "committed file; the `*_FILE` settings name files that hold key material.",
        "",
        f"Regenerate this file after changing settings: `{REGENERATE}`.",
        "",
    ]
    for group in groups:
        if group.intro:
            out += [" ".join(group.intro), ""]
        out += [
            "| variable | type | default | constraints | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name in group.names:
            info = fields[name]
            description = info.description or inline.get(name) or name.replace("_", " ")
            variable = f"`{prefix}{name.upper()}`"
            if is_secret(info):
                variable += " **secret**"
            out.append(
                f"| {variable} | {_type_name(info.annotation)} | {_default(info)} "
                f"| {_constraints(info)} | {_cell(description)} |"
            )
        out.append("")
    return "\n".join(out)


@app.command("reference")
def reference(
    output: Annotated[
        Path | None, typer.Option("--output", help="file to write (default: stdout)")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="exit 1 if OUTPUT differs from the generated text")
    ] = False,
) -> None:
    """Print (or write) the configuration reference generated from the settings model.

    \b
    Example:
      astroshield config reference --output docs/configuration.md
    """
    text = render_reference()
    if output is None:
        if check:
            fail("--check needs --output")
        typer.echo(text, nl=False)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            console.print(f"{output} is out of date; regenerate: {REGENERATE}", highlight=False)
            raise typer.Exit(code=1)
        console.print(f"{output} is up to date", highlight=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output} ({len(Settings.model_fields)} settings)", highlight=False)
