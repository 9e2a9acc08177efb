"""The shape of the code, checked on its syntax tree (no database, no imports of src).

What import-linter cannot see: SQL outside repositories, module and function sizes, and
pyplot. Each failure lists the offenders as file:line. There are no allowlists: a module
may hold SQL only if it is a repository, and a function over the limit carries its reason
in a ``# Long because:`` comment right above it, where a reviewer sees it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "astroshield"
ROOT = SRC.parents[1]

SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text"})
SESSION_CALLS = frozenset(
    {"add", "add_all", "get", "execute", "scalar", "scalars", "delete", "merge"}
)
SESSION_NAMES = frozenset({"session", "_session"})

MAX_MODULE_LINES = 600

MAX_FUNCTION_LINES = 80
LONG_MARKER = "# Long because:"


def _modules() -> Iterator[Path]:
    yield from sorted(SRC.rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _may_hold_sql(path: Path) -> bool:
    parts = path.relative_to(SRC).parts
    return (
        path.name == "repository.py"
        or "repository" in parts[:-1]
        or parts == ("db.py",)
        or parts[0] == "migrations"
    )


def _sqlalchemy_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    names.add(alias.asname or alias.name)
    return names


def _is_session(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in SESSION_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in SESSION_NAMES
    return False


def sql_constructs(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, what) for every SQL construct: a call of a query builder imported from
    sqlalchemy, or a session call that reads or writes rows."""
    builders = _sqlalchemy_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in builders:
            yield node.lineno, f"{function.id}("
        elif (
            isinstance(function, ast.Attribute)
            and function.attr in SESSION_CALLS
            and _is_session(function.value)
        ):
            yield node.lineno, f"session.{function.attr}("


def test_sql_only_in_repositories() -> None:
    offenders = [
        f"{_relative(path)}:{line}: {what}"
        for path in _modules()
        if not _may_hold_sql(path)
        for line, what in sql_constructs(_tree(path))
    ]
    assert not offenders, "SQL outside repository modules:\n" + "\n".join(offenders)


def test_no_module_over_the_size_limit() -> None:
    offenders = []
    for path in _modules():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            offenders.append(f"{_relative(path)}:1: {lines} lines")
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(offenders)


def _function_starts(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The first line of a function with its decorators."""
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def _comments_above(
    source: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef
) -> Iterator[str]:
    """The comment block right above a function (and its decorators)."""
    index = _function_starts(node) - 2  # the line above, 0-based
    while index >= 0 and source[index].strip().startswith("#"):
        yield source[index].strip()
        index -= 1


def long_functions(path: Path) -> Iterator[str]:
    if path.relative_to(SRC).parts[0] == "migrations":
        return  # a migration is one schema change written out: its length is the schema's
    source = path.read_text(encoding="utf-8").splitlines()
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        if any(line.startswith(LONG_MARKER) for line in _comments_above(source, node)):
            continue
        yield f"{_relative(path)}:{node.lineno}: {node.name} ({length} lines)"


def test_no_function_over_the_size_limit_without_a_reason() -> None:
    offenders = [offender for path in _modules() for offender in long_functions(path)]
    assert not offenders, (
        f"functions over {MAX_FUNCTION_LINES} lines without a '{LONG_MARKER}' comment above "
        "them:\n" + "\n".join(offenders)
    )


def pyplot_uses(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "matplotlib.pyplot":
                    yield node.lineno, "import matplotlib.pyplot"
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module == "matplotlib.pyplot" or (
                module == "matplotlib" and any(a.name == "pyplot" for a in node.names)
            ):
                yield node.lineno, "pyplot imported"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "use"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"matplotlib", "mpl"}
        ):
            yield node.lineno, f"{node.func.value.id}.use("


def test_no_pyplot_and_no_backend_switch() -> None:
    """Plots draw on a Figure with an Agg canvas: pyplot's global state needs a lock and
    ``matplotlib.use`` changes every later import."""
    offenders = [
        f"{_relative(path)}:{line}: {what}"
        for path in _modules()
        for line, what in pyplot_uses(_tree(path))
    ]
    assert not offenders, "pyplot or matplotlib.use in src/:\n" + "\n".join(offenders)


def test_the_checks_find_what_they_look_for() -> None:
    """The detectors themselves, on a snippet: a silent detector would pass everything."""
    snippet = ast.parse(
        "from sqlalchemy import select\n"
        "import matplotlib.pyplot as plt\n"
        "import matplotlib as mpl\n"
        "mpl.use('Agg')\n"
        "async def f(self, session):\n"
        "    await session.execute(select(X))\n"
        "    self.session.add(y)\n"
    )
    assert sorted(what for _, what in sql_constructs(snippet)) == [
        "select(",
        "session.add(",
        "session.execute(",
    ]
    assert len(list(pyplot_uses(snippet))) == 2
