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
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, UNLIMITED
from tests.support.servers import free_port, service_process
from tests.support.shared import shared_path

GUIDE = REPO_ROOT / "docs" / "guide.md"
SKIP_MARK = "# not run by the guide test:"
# The only commands a reader runs that the test cannot: it starts the service itself.
SKIPPED_COMMANDS = [["make run"]]
WILDCARD = "…"
STEP_TIMEOUT_S = 120
# Everything the guide reads from the shared checkout (missing: skipped, or failed in CI).
SHARED_DATA = ["data/catalog/celestrak_on_orbit_20241101.csv"]

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
