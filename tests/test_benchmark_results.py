"""benchmarks/results.replace_section: a benchmark rewrites its own section of RESULTS.md
and nothing else."""

from __future__ import annotations

from pathlib import Path

from benchmarks.results import replace_section

BEFORE = "# Benchmark results\n\n## A\n\nold a\n\n## B (issue 1)\n\nold b\n\n## C\n\nc\n"


def test_a_section_is_replaced_in_place(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(BEFORE)
    replace_section("## B (issue 1)", "## B (issue 1)\n\nnew b\n", results)
    assert results.read_text() == (
        "# Benchmark results\n\n## A\n\nold a\n\n## B (issue 1)\n\nnew b\n\n## C\n\nc\n"
    )


def test_the_last_section_and_a_new_one(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(BEFORE)
    replace_section("## C", "## C\n\nnew c", results)
    replace_section("## D", "## D\n\nd\n", results)
    replace_section("## B", "## B\n\nb\n", results)  # a heading that only prefixes another
    assert results.read_text() == (
        "# Benchmark results\n\n## A\n\nold a\n\n## B (issue 1)\n\nold b\n\n## C\n\nnew c\n"
        "\n## D\n\nd\n\n## B\n\nb\n"
    )
