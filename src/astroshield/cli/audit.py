"""``astroshield audit`` (check the chain, checkpoint it) and ``astroshield retention``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from astroshield.cli.output import console, next_step
from astroshield.cli.session import run_in_session, run_with_sessionmaker
from astroshield.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from astroshield.audit.checkpoints import Checkpoint
    from astroshield.audit.verify import ChainReport
    from astroshield.retention.service import RetentionReport

FINDINGS_SHOWN = 50

audit_app = typer.Typer(help="Audit log.", no_args_is_help=True)
retention_app = typer.Typer(help="Data retention.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoints",
            help="more checkpoint files to check against, e.g. exported from syslog "
            "(the configured checkpoint file is always read)",
        ),
    ] = None,
) -> None:
    """Check the audit chain and its checkpoints; exits 1 if entries were edited, deleted
    or re-hashed, or a checkpoint was altered.

    \b
    Example:
      astroshield audit verify --checkpoints syslog-checkpoints.jsonl
    """
    from astroshield.audit.verify import verify_against_files
    from astroshield.security.keys import KeyMaterialError

    settings = get_settings()
    paths = [settings.audit_checkpoint_file, *(checkpoints or [])]

    async def work(session: AsyncSession) -> ChainReport:
        return await verify_against_files(session, paths)

    try:
        with console.status("verifying the audit chain"):
            report = run_in_session(work)
    except (KeyMaterialError, RuntimeError) as exc:  # the key file, not the chain
        console.print(f"cannot verify: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=2) from None
    _print_chain_report(report)
    if not report.ok:
        raise typer.Exit(code=1)


def _print_chain_report(report: ChainReport) -> None:
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    counted = f"{report.entries_checked} entries, {report.checkpoints_checked} checkpoints"
    if report.ok:
        console.print(f"audit chain intact: {counted}", markup=False, highlight=False)
        return
    for finding in report.findings[:FINDINGS_SHOWN]:
        console.print(finding.describe(), markup=False, highlight=False)
    if len(report.findings) > FINDINGS_SHOWN:
        console.print(f"... and {len(report.findings) - FINDINGS_SHOWN} more findings")
    console.print(
        f"audit chain broken: {len(report.findings)} findings ({counted} checked)",
        markup=False,
        highlight=False,
    )


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Write a signed checkpoint of the chain's head now (to the checkpoint file and, when
    configured, syslog).

    \b
    Example:
      astroshield audit checkpoint
    """
    from astroshield.audit.checkpoints import CheckpointError, CheckpointWriter

    writer = CheckpointWriter.from_settings(get_settings())

    async def work(session: AsyncSession) -> Checkpoint:
        return await writer.write(session, "manual")

    try:
        checkpoint = run_in_session(work)
    except CheckpointError as exc:
        console.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    finally:
        writer.close()
    console.print(
        f"checkpoint: sequence {checkpoint.sequence}, {checkpoint.entries} entries, written "
        f"to {get_settings().audit_checkpoint_file}",
        markup=False,
        highlight=False,
    )
    next_step("astroshield audit verify")


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="report only, delete nothing")] = False,
) -> None:
    """Apply the retention policies (or report what they would delete).

    \b
    Example:
      astroshield retention run --dry-run
    """
    from astroshield.audit.checkpoints import CheckpointError
    from astroshield.retention.service import apply_retention

    settings = get_settings()

    async def work(sessionmaker: async_sessionmaker[AsyncSession]) -> RetentionReport:
        return await apply_retention(sessionmaker, settings, dry_run=dry_run)

    try:
        with console.status("applying retention" if not dry_run else "counting"):
            report = run_with_sessionmaker(work)
    except CheckpointError as exc:
        console.print(f"retention not applied: {exc}", markup=False, highlight=False)
        raise typer.Exit(code=1) from None
    if not report.ran:
        console.print("another retention run holds the lock; nothing done")
        return
    _print_retention_report(report, dry_run=dry_run)
    if dry_run:
        next_step("astroshield retention run")


def _print_retention_report(report: RetentionReport, *, dry_run: bool) -> None:
    from rich.table import Table

    table = Table(title="retention " + ("(dry run: nothing deleted)" if dry_run else "run"))
    for column in (
        "data class",
        "keep (days)",
        "older than",
        "would delete" if dry_run else "deleted",
    ):
        table.add_column(column)
    for result in report.classes:
        table.add_row(
            result.data_class,
            str(result.keep_days or "-"),
            result.cutoff.isoformat(timespec="seconds") if result.cutoff else "-",
            str(result.affected),
        )
    Console().print(table)
