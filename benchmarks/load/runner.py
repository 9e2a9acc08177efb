"""Locust, headless, in a process of its own (gevent's monkey-patching stays there)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILE = REPO / "benchmarks" / "load" / "locustfile.py"


def start_locust(
    scenario: Path, base: str, users: int, seconds: float, log: Path, *, stop_timeout_s: int = 3
) -> subprocess.Popen[bytes]:
    """Every user spawned at once; the run ends after ``seconds`` (tasks in flight get
    ``stop_timeout_s`` more to finish); locust's own CSV stats and output go next to
    ``log``."""
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    argv += ["--host", base, "-u", str(users), "-r", str(users), "-t", f"{seconds:.0f}s"]
    argv += ["--stop-timeout", str(stop_timeout_s), "--only-summary", "--loglevel", "WARNING"]
    argv += ["--csv", str(log.with_suffix(""))]
    env = {**os.environ, "ASTROSHIELD_LOAD_SCENARIO": str(scenario)}
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
