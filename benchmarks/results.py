"""What every benchmark shares when it records its figures in benchmarks/RESULTS.md: its
own section replaced in place (or added at the end), and the machine it ran on."""

from __future__ import annotations

import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(heading: str, section: str, results: Path = RESULTS) -> None:
    """Put ``section`` (which starts with ``heading``) where the section of that heading is,
    up to the next ``## `` heading, or at the end; every other section is left as it is."""
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    section = section.rstrip("\n") + "\n"
    start = text.find(heading + "\n")
    if start < 0:
        results.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    following = text.find("\n## ", start + len(heading))
    tail = "" if following < 0 else "\n" + text[following + 1 :]
    results.write_text(text[:start] + section + tail, encoding="utf-8")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
