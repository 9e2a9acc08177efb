"""docs/guide.md is run, command by command, against the real service, so it cannot go stale.

How the guide is read:

- Every fenced ```` ```sh ```` block is a step. Its commands run in ONE bash session
  (``set -euo pipefail``; variables carry from block to block), in the repository root,
  with ``$API`` the base URL of a service this test starts as a real process
  (``astroshield serve`` on a free port, a fresh SQLite database and key files in tmp) and
  ``astroshield`` on ``PATH``. The CLI commands reach the same database through the
  ``ASTROSHIELD_*`` environment, as on the operator's machine.
- A ```` ```text ```` block right after a step (blank lines between allowed) is what the
  step prints, standard output and standard error together. A step without one must print
  nothing.
- The comparison is exact, line by line (trailing spaces and trailing blank lines ignored),
  except for ``…``: inside a line it stands for any text (an id, a time, a progress bar),
  and a line that is only ``…`` stands for any number of lines. So a changed field name,
  value, status code, or a line added or lost fails the test; only what the guide marks
  with ``…`` may vary.
- A step must exit 0. The first failing step ends the run and is reported with its line in
  docs/guide.md, its exit status and its output.
- A step whose first line is ``# not run by the guide test: <reason>`` is skipped; the test
  asserts that the skipped steps are exactly ``make run`` (which this test replaces by the
  service it starts).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from astroshield.security.scopes import Scope, scopes_for
from tests.conftest import REPO_ROOT, UNLIMITED, Factory
from tests.support.servers import free_port, service_process
from tests.support.shared import in_ci, shared_path

GUIDE = REPO_ROOT / "docs" / "guide.md"
SKIP_MARK = "# not run by the guide test:"
# The only commands a reader runs that the test cannot: it starts the service itself.
SKIPPED_COMMANDS = [["make run"]]
WILDCARD = "…"
STEP_TIMEOUT_S = 120
# Everything the guide reads from the shared checkout (missing: skipped, or failed in CI).
SHARED_DATA = [
    "data/catalog/celestrak_on_orbit_20241101.csv",
    "data/maneuvers/processed_files/CryoSat-2.tle",
    "data/maneuvers/manoeuvres_utc.csv",
]
# What a reader needs besides the repository (the guide says so at its top).
GUIDE_TOOLS = ["bash", "curl", "jq", "date"]

_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Step:
    line: int  # 1-based line of the ```sh fence in docs/guide.md
    commands: str
    expected: str | None  # the following ```text block, if any

    @property
    def skipped(self) -> bool:
        return self.commands.startswith(SKIP_MARK)


def read_steps(text: str) -> list[Step]:
    """The ```sh blocks of ``text`` in order, each with the ```text block that follows it."""
    blocks: list[tuple[int, int, str, str]] = []  # (opening line, closing line, language, body)
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        blocks.append((index + 1, end + 1, opening.group(1), "\n".join(lines[index + 1 : end])))
        index = end + 1
    steps: list[Step] = []
    for position, (line, closing, language, body) in enumerate(blocks):
        if language != "sh":
            continue
        expected = None
        if position + 1 < len(blocks):
            following_line, _, following_language, following_body = blocks[position + 1]
            between = lines[closing : following_line - 1]
            if following_language == "text" and not "".join(between).strip():
                expected = following_body
        steps.append(Step(line, body, expected))
    return steps


def _normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def output_pattern(expected: str) -> re.Pattern[str]:
    """``expected`` as a regular expression: ``…`` any text in a line, a lone ``…`` line
    any number of lines; everything else literal."""
    parts: list[str] = []
    for line in _normalised(expected).split("\n"):
        if line.strip() == WILDCARD:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            literal = ".*?".join(re.escape(piece) for piece in line.split(WILDCARD))
            parts.append(literal + r"\n")
    return re.compile("".join(parts), re.DOTALL)


def output_matches(expected: str | None, actual: str) -> bool:
    printed = _normalised(actual)
    if expected is None:
        return printed == ""
    return output_pattern(expected).fullmatch(printed + "\n" if printed else "") is not None


def test_the_wildcard_rule() -> None:
    assert output_matches("id: …\nok", "id: 0190-ab\nok")
    assert not output_matches("id: …\nok", "id: 0190-ab\nOK")
    assert output_matches("first\n…\nlast", "first\na\nb\nlast")
    assert output_matches("first\n…\nlast", "first\nlast")
    assert not output_matches("first\nlast", "first\nextra\nlast")
    assert not output_matches(None, "something")
    assert output_matches(None, "  \n")


class Session:
    """One bash process; each step is sourced into it, its output captured in a file."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.workdir = workdir
        self.bash = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=env,
            text=True,
        )
        self._send("set -euo pipefail\n")

    def _send(self, text: str) -> None:
        assert self.bash.stdin is not None
        self.bash.stdin.write(text)
        self.bash.stdin.flush()

    def run(self, number: int, commands: str) -> tuple[int, str]:
        """Exit status and output of ``commands`` (a failing command ends the session,
        as ``set -e`` makes it: the status is then the shell's)."""
        script = self.workdir / f"step-{number}.sh"
        output = self.workdir / f"step-{number}.out"
        script.write_text(commands + "\n", encoding="utf-8")
        self._send(f"source {script} >{output} 2>&1 </dev/null\necho step-done\n")
        assert self.bash.stdout is not None
        line = self.bash.stdout.readline()
        printed = output.read_text(encoding="utf-8", errors="replace") if output.exists() else ""
        if line.strip() == "step-done":
            return 0, printed
        return self.bash.wait(timeout=STEP_TIMEOUT_S), printed

    def close(self) -> None:
        if self.bash.poll() is None:
            self.bash.kill()
        self.bash.wait(timeout=10)


def _service_env(tmp: Path, port: int) -> dict[str, str]:
    """What the operator's shell would hold, pointed at this test's own files."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ASTROSHIELD_") and key not in {"API", "TOKEN"}
    }
    return env | {
        "ASTROSHIELD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'astroshield.db'}",
        "ASTROSHIELD_LOCAL_KEYS_FILE": str(tmp / "keys.json"),
        "ASTROSHIELD_AUDIT_CHECKPOINT_FILE": str(tmp / "audit-checkpoints.jsonl"),
        "ASTROSHIELD_PORT": str(port),
        "ASTROSHIELD_RATE_LIMIT_CLIENT": UNLIMITED,
        "ASTROSHIELD_RATE_LIMIT_USER": UNLIMITED,
        "ASTROSHIELD_RATE_LIMIT_LOGIN": UNLIMITED,
        "ASTROSHIELD_LOG_LEVEL": "warning",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "COLUMNS": "120",
        "API": f"http://127.0.0.1:{port}",
    }


def test_the_skipped_steps_are_only_make_run() -> None:
    skipped = [step for step in read_steps(GUIDE.read_text(encoding="utf-8")) if step.skipped]
    commands = [
        [line for line in step.commands.splitlines() if line and not line.startswith("#")]
        for step in skipped
    ]
    assert commands == SKIPPED_COMMANDS


@pytest.mark.guide
def test_every_step_of_the_guide_prints_what_it_says(tmp_path: Path) -> None:
    for relative in SHARED_DATA:
        shared_path(relative)
    missing = [tool for tool in GUIDE_TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"the guide's commands need {', '.join(missing)}"
        if in_ci():
            pytest.fail(f"{message} and CI=true: not skipping")
        pytest.skip(message)
    steps = [step for step in read_steps(GUIDE.read_text(encoding="utf-8")) if not step.skipped]
    assert len(steps) > 20, "docs/guide.md lost its steps"
    port = free_port()
    env = _service_env(tmp_path, port)
    argv = [str(Path(sys.executable).parent / "astroshield"), "serve", "--port", str(port)]
    with service_process(argv, env["API"], env):
        session = Session(env, tmp_path)
        try:
            for number, step in enumerate(steps):
                status, printed = session.run(number, step.commands)
                where = f"docs/guide.md:{step.line}"
                assert status == 0, f"{where}: exit status {status}; it printed:\n{printed}"
                assert output_matches(step.expected, printed), (
                    f"{where}: the output differs from the guide's text block.\n"
                    f"--- expected\n{step.expected}\n--- printed\n{printed}"
                )
        finally:
            session.close()


README = REPO_ROOT / "README.md"
ROLE_COLUMNS = ["viewer", "operator", "analyst", "admin", "platform admin"]
_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]+)`")
# Path parameters of the table's routes, filled with values that exist nowhere: a caller
# with the scope gets 404 or 422, never 403.
_PATH_VALUES = {"{n}": "25544", "{parameter}": "BATT_V", "{key}": "live-streams"}


@dataclass(frozen=True)
class Permission:
    action: str
    routes: list[tuple[str, str]]
    scope: str
    allowed: dict[str, bool]  # role column -> ✓


def read_role_table(text: str) -> list[Permission]:
    section = text[text.index("### Roles and permissions") :].splitlines()
    first = next(index for index, line in enumerate(section) if line.startswith("| "))
    rows: list[str] = []
    for line in section[first:]:
        if not line.startswith("| "):
            break  # the table ends at its first line that is not a row
        rows.append(line)
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header[3:] == ROLE_COLUMNS, header
    permissions = []
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert all(mark in {"✓", "–"} for mark in cells[3:]), row
        permissions.append(
            Permission(
                action=cells[0],
                routes=_ROUTE.findall(cells[1]),
                scope=cells[2].strip("`"),
                allowed=dict(zip(ROLE_COLUMNS, (mark == "✓" for mark in cells[3:]), strict=True)),
            )
        )
    return permissions


def _scopes_of(column: str) -> frozenset[str]:
    if column == "platform admin":
        return scopes_for("admin", platform_admin=True)
    return scopes_for(column)


def test_the_readme_role_table_is_the_role_scope_map() -> None:
    """Every scope has its row, and each row's ticks are exactly the roles granted it."""
    permissions = read_role_table(README.read_text(encoding="utf-8"))
    assert sorted(p.scope for p in permissions) == sorted(scope.value for scope in Scope)
    for permission in permissions:
        assert permission.routes, permission.action
        expected = {column: permission.scope in _scopes_of(column) for column in ROLE_COLUMNS}
        assert permission.allowed == expected, permission.action


async def test_every_route_of_the_role_table_needs_its_scope(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Each route of the table, called as each role: 403 naming the row's scope for the
    roles without a tick, anything but 403 for the others."""
    organisation = await factory.organisation()
    headers = {
        column: factory.headers(
            await factory.user(
                organisation,
                role="admin" if column == "platform admin" else column,
                platform_admin=column == "platform admin",
            )
        )
        for column in ROLE_COLUMNS
    }
    for permission in read_role_table(README.read_text(encoding="utf-8")):
        for method, template in permission.routes:
            path = template.replace("{id}", str(uuid.uuid4()))
            for placeholder, value in _PATH_VALUES.items():
                path = path.replace(placeholder, value)
            body: dict[str, Any] = (
                {"content": "CCSDS_CDM_VERS = 1.0", "headers": {"content-type": "text/plain"}}
                if path.endswith("/cdms")
                else {"json": {}}
                if method != "GET"
                else {}
            )
            for column in ROLE_COLUMNS:
                request_headers = headers[column] | body.get("headers", {})
                response = await client.request(
                    method,
                    path,
                    headers=request_headers,
                    **{k: v for k, v in body.items() if k != "headers"},
                )
                where = f"{method} {template} as {column}"
                if permission.allowed[column]:
                    assert response.status_code != 403, f"{where}: {response.text}"
                else:
                    assert response.status_code == 403, f"{where}: {response.status_code}"
                    assert f"'{permission.scope}'" in response.json()["detail"], where
