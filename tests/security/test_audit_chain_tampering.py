"""An audit trail that cannot be rewritten quietly.

Each test plays an attacker with write access to the database (raw SQL on the rows), and
sometimes with the chain key too, and checks that ``astroshield audit verify`` names what
was done: the newest entries deleted (truncation), an entry deleted from the middle, an
edit followed by recomputing every later hash (re-hashing, with and without the key), a
checkpoint line altered. Checkpoints are written by the real writer to the configured file
(and to a syslog receiver this test runs), and retention runs write them too.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import JSON, String, column, delete, select, table, update
from typer.testing import CliRunner

from astroshield.audit.checkpoints import (
    SYSLOG_IDENT,
    Checkpoint,
    CheckpointWriter,
    encode_checkpoint,
    parse_checkpoint,
    read_checkpoint_file,
)
from astroshield.audit.keys import audit_chain_key, audit_chain_keys
from astroshield.audit.models import AuditEntry
from astroshield.audit.service import SYSTEM, keyed_hash, legacy_hash, record, record_detached
from astroshield.audit.verify import (
    CHECKPOINT,
    DELETED,
    MODIFIED,
    REHASHED,
    TRUNCATED,
    UNKNOWN_KEY,
    ChainReport,
    verify_against_files,
    verify_chain,
)
from astroshield.cli import app as cli
from astroshield.config import Settings, get_settings
from astroshield.db import UTCDateTime, create_sessionmaker, create_unpooled_engine, session_scope
from astroshield.migrate import upgrade_async
from astroshield.retention.service import apply_retention
from astroshield.security.keys import encode_key, generate_key
from tests.conftest import Factory, checkpoint_file_for, settings_for


async def _history(client: httpx.AsyncClient, factory: Factory, writes: int = 6) -> None:
    headers = await factory.login(role="operator")
    for n in range(writes):
        response = await client.post(
            "/api/v1/spacecraft", json={"name": f"Sat {n}"}, headers=headers
        )
        assert response.status_code == 201


async def _checkpoint(app: FastAPI, reason: str = "test") -> Checkpoint:
    writer = CheckpointWriter.from_settings(app.state.settings)
    async with session_scope(app.state.sessionmaker) as session:
        return await writer.write(session, reason)


async def _verify(app: FastAPI) -> ChainReport:
    async with app.state.sessionmaker() as session:
        return await verify_against_files(session, [app.state.settings.audit_checkpoint_file])


async def _entries(app: FastAPI) -> list[AuditEntry]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


async def _rewrite_from(app: FastAPI, index: int, *, key: bytes | None, actor: str) -> None:
    """The attacker edits entry ``index`` and recomputes its hash and every later one:
    with the chain key (HMAC) when they have it, else with the old unkeyed SHA-256."""
    entries = await _entries(app)
    entries[index].actor = actor
    previous_hash = entries[index - 1].entry_hash if index else entries[0].previous_hash
    async with app.state.sessionmaker() as session, session.begin():
        for entry in entries[index:]:
            entry.previous_hash = previous_hash
            entry.entry_hash = keyed_hash(entry, key) if key else legacy_hash(entry)
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.id == entry.id)
                .values(
                    actor=entry.actor,
                    previous_hash=entry.previous_hash,
                    entry_hash=entry.entry_hash,
                )
            )
            previous_hash = entry.entry_hash


def _text(path: Path) -> str:
    return path.read_text()


def _replace(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.fixture
def cli_env(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings: Settings = app.state.settings
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ASTROSHIELD_AUDIT_CHECKPOINT_FILE", str(settings.audit_checkpoint_file))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _cli_verify(*extra: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["audit", "verify", *extra])
    return result.exit_code, result.output


async def test_untouched_chain_with_checkpoints_verifies_clean(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, cli_env: None
) -> None:
    await _history(client, factory, writes=3)
    first = await _checkpoint(app)
    await _history(client, factory, writes=3)
    second = await _checkpoint(app)
    entries = await _entries(app)
    assert [e.sequence for e in entries] == [1, 2, 3, 4, 5, 6]
    assert {e.hash_version for e in entries} == {2} and {e.key_id for e in entries} == {"local"}
    assert (first.sequence, first.entries, second.sequence, second.entries) == (3, 3, 6, 6)
    assert second.head_hash == entries[-1].entry_hash and second.entry_id == entries[-1].id

    lines = app.state.settings.audit_checkpoint_file.read_text().splitlines()
    assert len(lines) == 2
    assert stat.S_IMODE(os.stat(app.state.settings.audit_checkpoint_file).st_mode) == 0o600
    report = await _verify(app)
    assert report.ok and report.checkpoints_checked == 2, report.findings
    code, output = await _cli_verify()
    assert code == 0, output
    assert f"audit chain intact: {len(entries)} entries, 2 checkpoints" in output


async def test_deleting_the_newest_entries_is_reported_as_truncation(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, cli_env: None
) -> None:
    await _history(client, factory)
    checkpoint = await _checkpoint(app)
    entries = await _entries(app)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id > entries[-4].id))
    # What is left is a perfectly linked chain: only the checkpoint knows it was longer.
    async with app.state.sessionmaker() as session:
        assert (await verify_chain(session)).ok

    report = await _verify(app)
    assert report.kinds() == {TRUNCATED}
    assert f"recorded sequence {checkpoint.sequence}" in (report.problem or "")
    assert f"ends at sequence {checkpoint.sequence - 3} (3 missing)" in (report.problem or "")
    code, output = await _cli_verify()
    assert code == 1
    assert "TRUNCATED: the newest entries were deleted" in output and "Traceback" not in output


async def test_truncation_is_found_after_the_service_has_written_new_entries(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    """The service keeps appending after the attack: the checkpointed sequence number is
    taken again, by an entry written after the checkpoint."""
    await _history(client, factory)
    checkpoint = await _checkpoint(app)
    entries = await _entries(app)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id > entries[-3].id))
    await _history(client, factory, writes=4)
    assert (await _entries(app))[-1].sequence > checkpoint.sequence
    report = await _verify(app)
    assert report.kinds() == {TRUNCATED}
    assert "its sequence now belongs to an entry written later" in (report.problem or "")
    assert report.findings[0].sequence == checkpoint.sequence


async def test_deleting_a_middle_entry_is_reported_as_deletion(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, cli_env: None
) -> None:
    await _history(client, factory)
    await _checkpoint(app)
    entries = await _entries(app)
    victim = entries[3]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id == victim.id))
    report = await _verify(app)
    assert report.kinds() == {DELETED}
    assert report.first_bad_id == entries[4].id
    assert f"sequence {victim.sequence}-{victim.sequence} missing" in (report.problem or "")
    code, output = await _cli_verify()
    assert code == 1 and f"DELETED: entry {entries[4].id} " in output


async def test_a_deletion_relinked_with_the_key_still_shows_as_deletion(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    """Even an attacker holding the key cannot renumber without contradicting the
    checkpoint, and leaving the numbers leaves the gap."""
    await _history(client, factory)
    entries = await _entries(app)
    _, key = audit_chain_key(app.state.settings)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id == entries[3].id))
    # Relink the follower to the entry before the deleted one, recompute every HMAC.
    await _rewrite_from(app, 3, key=key, actor=entries[4].actor or "")
    report = await _verify(app)
    assert report.kinds() == {DELETED}
    assert "1 entry deleted before it" in (report.problem or "")


async def test_an_edit_rehashed_with_unkeyed_sha256_is_detected(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, cli_env: None
) -> None:
    """The old chain accepted this: every hash and link is consistent SHA-256."""
    await _history(client, factory)
    entries = await _entries(app)
    await _rewrite_from(app, 2, key=None, actor="someone-else")
    report = await _verify(app)
    assert report.kinds() == {REHASHED}
    assert len(report.findings) == 1  # one range, not one line per entry
    finding = report.findings[0]
    assert (finding.entry_id, finding.last_entry_id) == (entries[2].id, entries[-1].id)
    code, output = await _cli_verify()
    assert code == 1
    assert f"REHASHED: entries {entries[2].id}-{entries[-1].id} " in output
    assert "not the chain key's HMAC" in output


async def test_rewriting_the_chain_in_the_legacy_format_is_detected(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    """Downgrading keyed entries to the unkeyed version 1 (which verifies without a key)."""
    await _history(client, factory)
    entries = await _entries(app)
    previous_hash = entries[3].previous_hash
    async with app.state.sessionmaker() as session, session.begin():
        for entry in entries[3:]:
            entry.actor, entry.hash_version, entry.key_id = "forged", 1, None
            entry.previous_hash = previous_hash
            entry.entry_hash = previous_hash = legacy_hash(entry)
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.id == entry.id)
                .values(
                    actor="forged",
                    hash_version=1,
                    key_id=None,
                    previous_hash=entry.previous_hash,
                    entry_hash=entry.entry_hash,
                )
            )
    report = await _verify(app)
    assert report.kinds() == {REHASHED}
    assert "unkeyed entry after keyed ones" in (report.problem or "")
    assert report.first_bad_id == entries[3].id


async def test_an_edit_rehashed_with_the_key_is_caught_by_a_checkpoint(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, cli_env: None
) -> None:
    await _history(client, factory, writes=4)
    checkpoint = await _checkpoint(app)
    await _history(client, factory, writes=2)
    entries = await _entries(app)
    _, key = audit_chain_key(app.state.settings)
    await _rewrite_from(app, 2, key=key, actor="someone-else")
    # With the key every HMAC and link is valid again: the chain alone cannot tell.
    async with app.state.sessionmaker() as session:
        assert (await verify_chain(session)).ok

    report = await _verify(app)
    assert report.kinds() == {REHASHED}
    checkpointed = next(e for e in entries if e.sequence == checkpoint.sequence)
    assert report.first_bad_id == checkpointed.id
    assert "recomputed with the chain key after it was checkpointed" in (report.problem or "")
    code, output = await _cli_verify()
    assert code == 1 and f"REHASHED: entry {checkpointed.id} " in output


async def test_an_altered_checkpoint_line_is_detected(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, cli_env: None
) -> None:
    await _history(client, factory, writes=3)
    await _checkpoint(app)
    path: Path = app.state.settings.audit_checkpoint_file
    line = json.loads(_text(path))
    # Moving the checkpoint back would hide a later truncation; the signature stops it.
    line["sequence"] -= 2
    _replace(path, json.dumps(line) + "\n{not json\n")
    report = await _verify(app)
    assert report.kinds() == {CHECKPOINT}
    assert [f.detail for f in report.findings] == [
        f"{path}:1: signature does not match: the line was altered",
        f"{path}:2: not valid JSON (line damaged or edited)",
    ]
    code, output = await _cli_verify()
    assert code == 1 and "CHECKPOINT:" in output and "signature does not match" in output


async def test_oldest_entries_deleted_outside_retention_are_reported(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    await _history(client, factory)
    await _checkpoint(app)
    entries = await _entries(app)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id <= entries[1].id))
    report = await _verify(app)
    assert report.kinds() == {DELETED}
    assert "without a retention record" in (report.problem or "")


async def test_retention_checkpoints_around_pruning_and_the_pruned_chain_verifies(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, database_url: str, cli_env: None
) -> None:
    await _history(client, factory, writes=3)
    early = await _checkpoint(app)
    await _history(client, factory, writes=3)
    head_before = (await _entries(app))[-1]
    settings = settings_for(database_url, retention_audit_days=1)
    report = await apply_retention(
        app.state.sessionmaker, settings, dry_run=False, now=datetime.now(UTC) + timedelta(days=2)
    )
    # All six are past the policy; the newest stays so that the chain continues from it.
    assert {r.data_class: r.affected for r in report.classes}["audit_log"] == 5

    entries = await _entries(app)
    assert [e.action for e in entries] == [
        head_before.action,
        "retention.audit_pruned",
        "retention.run",
    ]
    assert entries[0].id == head_before.id  # the chain continues from its old head
    lines = settings.audit_checkpoint_file.read_text().splitlines()
    reasons = [json.loads(line)["reason"] for line in lines]
    assert reasons == ["test", "retention-start", "retention-end"]
    start, end = (json.loads(line) for line in lines[1:])
    assert start["sequence"] == head_before.sequence and start["entries"] == 6
    assert end["sequence"] == entries[-1].sequence and end["entries"] == 3
    # The early checkpoint names a pruned entry: retention's anchor accounts for it.
    assert early.sequence < entries[0].sequence
    verified = await _verify(app)
    assert verified.ok and verified.checkpoints_checked == 3, verified.findings
    code, output = await _cli_verify()
    assert code == 0, output


async def test_a_retention_run_that_cannot_checkpoint_prunes_nothing(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, database_url: str, tmp_path: Path
) -> None:
    from astroshield.audit.checkpoints import CheckpointError

    await _history(client, factory, writes=3)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    settings = settings_for(
        database_url,
        retention_audit_days=1,
        audit_checkpoint_file=blocked / "checkpoints.jsonl",
    )
    with pytest.raises(CheckpointError, match="not-a-directory"):
        await apply_retention(
            app.state.sessionmaker,
            settings,
            dry_run=False,
            now=datetime.now(UTC) + timedelta(days=2),
        )
    assert len(await _entries(app)) == 3


async def test_checkpoints_also_go_to_syslog(app: FastAPI, database_url: str) -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    try:
        settings = settings_for(
            database_url,
            audit_checkpoint_syslog=True,
            audit_checkpoint_syslog_address=f"127.0.0.1:{port}",
        )
        async with session_scope(app.state.sessionmaker) as session:
            await record(session, SYSTEM.event("test.syslog"))
        writer = CheckpointWriter.from_settings(settings)
        try:
            async with session_scope(app.state.sessionmaker) as session:
                written = await writer.write(session, "test")
        finally:
            writer.close()
        datagram, _ = await asyncio.to_thread(receiver.recvfrom, 8192)
    finally:
        receiver.close()
    message = datagram.decode()
    assert message.startswith("<38>" + SYSLOG_IDENT)  # facility auth (4) * 8 + info (6)
    keys = audit_chain_keys(settings)
    parsed = parse_checkpoint(message, keys, source="syslog")
    assert parsed.problem is None and parsed.checkpoint == written
    # The file got the same line.
    assert settings.audit_checkpoint_file.read_text().strip() == message[message.index("{") :]


async def test_the_service_writes_checkpoints_on_its_schedule(scratch_database_url: str) -> None:
    from astroshield.app import create_app

    settings = settings_for(scratch_database_url, audit_checkpoint_interval_s=0.2)
    await upgrade_async(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with session_scope(app.state.sessionmaker) as session:
            await record(session, SYSTEM.event("test.scheduled"))
        for _ in range(50):  # bounded: 5 s at most
            await asyncio.sleep(0.1)
            if settings.audit_checkpoint_file.exists():
                break
        # The head did not move: later cycles write nothing more.
        await asyncio.sleep(0.5)
        report = await _verify(app)
    lines = settings.audit_checkpoint_file.read_text().splitlines()
    assert [json.loads(line)["reason"] for line in lines] == ["interval"]
    assert report.ok and report.checkpoints_checked == 1 and report.entries_checked == 1


async def test_legacy_entries_still_verify_after_the_migration(
    scratch_database_url: str,
) -> None:
    """Entries hashed with unkeyed SHA-256 before the chain was keyed keep verifying; the
    first keyed entry seals them, and editing one is still found."""
    from astroshield.app import create_app

    settings = settings_for(scratch_database_url)
    await upgrade_async(settings, "a1c47a0c2006")
    # audit_log as it was at that revision (before sequence, hash_version, key_id).
    legacy_table = table(
        "audit_log",
        column("occurred_at", UTCDateTime()),
        column("actor", String()),
        column("action", String()),
        column("details", JSON()),
        column("previous_hash", String()),
        column("entry_hash", String()),
    )
    engine = create_unpooled_engine(settings)
    previous = "0" * 64
    legacy_hashes = []
    try:
        async with engine.begin() as connection:
            for n in range(3):
                entry = AuditEntry(
                    occurred_at=datetime(2026, 1, 1, n, tzinfo=UTC),
                    actor="system",
                    action=f"legacy.{n}",
                    details={"n": n},
                    previous_hash=previous,
                )
                previous = legacy_hash(entry)
                legacy_hashes.append(previous)
                await connection.execute(
                    legacy_table.insert().values(
                        occurred_at=entry.occurred_at,
                        actor=entry.actor,
                        action=entry.action,
                        details=entry.details,
                        previous_hash=entry.previous_hash,
                        entry_hash=previous,
                    )
                )
    finally:
        await engine.dispose()
    await upgrade_async(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with session_scope(app.state.sessionmaker) as session:
            await record(session, SYSTEM.event("keyed.first"))
        entries = await _entries(app)
        assert [(e.sequence, e.hash_version) for e in entries] == [(1, 1), (2, 1), (3, 1), (4, 2)]
        assert [e.entry_hash for e in entries[:3]] == legacy_hashes
        assert entries[3].previous_hash == legacy_hashes[-1]
        assert (await _verify(app)).ok

        # Editing a legacy entry and recomputing the legacy part breaks the keyed seal.
        await _rewrite_from(app, 1, key=None, actor="someone-else")
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(
                update(AuditEntry).where(AuditEntry.sequence == 3).values(entry_hash="f" * 64)
            )
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.sequence == 4)
                .values(previous_hash="f" * 64, entry_hash="e" * 64)
            )
        report = await _verify(app)
    assert report.kinds() == {MODIFIED}


async def test_retired_chain_keys_keep_verifying_and_a_missing_one_is_named(
    scratch_database_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "audit-keys.json"
    old, new = encode_key(generate_key()), encode_key(generate_key())

    def write_keys(active: str, keys: dict[str, str]) -> None:
        key_file.write_text(json.dumps({"active": active, "keys": keys}))
        key_file.chmod(0o600)

    async def append_and_verify() -> ChainReport:
        settings = settings_for(scratch_database_url, audit_key_file=key_file)
        engine = create_unpooled_engine(settings)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                await record(session, SYSTEM.event("test.rotation"))
            async with create_sessionmaker(engine)() as session:
                return await verify_chain(session)
        finally:
            await engine.dispose()

    await upgrade_async(settings_for(scratch_database_url))
    write_keys("a1", {"a1": old})
    assert (await append_and_verify()).ok
    write_keys("a2", {"a1": old, "a2": new})
    assert (await append_and_verify()).ok
    write_keys("a2", {"a2": new})
    report = await append_and_verify()
    assert report.kinds() == {UNKNOWN_KEY}
    assert report.findings[0].sequence == 1 and "'a1'" in report.findings[0].detail

    key_file.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        audit_chain_keys(settings_for(scratch_database_url, audit_key_file=key_file))


def test_prod_refuses_to_start_without_an_audit_key(tmp_path: Path) -> None:
    from astroshield.app import create_app
    from astroshield.security.context import SecurityConfigError
    from astroshield.security.tokens import KeyRing, write_key_ring

    jwt_file = tmp_path / "jwt.json"
    write_key_ring(KeyRing.generate(kid="k1"), jwt_file)
    prod = {
        "profile": "prod",
        "secret_key": "s" * 40,
        "jwt_keys_file": jwt_file,
        "pii_keys": f"k1:{encode_key(generate_key())}",
        "pii_active_key": "k1",
        "pii_index_key": encode_key(generate_key()),
        "metrics_enabled": False,
    }
    url = f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}"
    with pytest.raises(SecurityConfigError, match="ASTROSHIELD_AUDIT_KEY_FILE"):
        create_app(settings_for(url, **prod))
    key_file = tmp_path / "audit.json"
    key_file.write_text(json.dumps({"active": "a1", "keys": {"a1": encode_key(generate_key())}}))
    key_file.chmod(0o600)
    assert create_app(settings_for(url, audit_key_file=key_file, **prod)) is not None


async def test_platform_admins_see_the_verification_over_the_api(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI
) -> None:
    await _history(client, factory)
    platform = await factory.login(role="admin", platform_admin=True)
    organisation_admin = await factory.login(role="admin")
    refused = await client.get("/api/v1/audit/verify", headers=organisation_admin)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    clean = await client.get("/api/v1/audit/verify", headers=platform)
    assert clean.status_code == 200, clean.text
    assert clean.json()["ok"] is True and clean.json()["findings"] == []
    assert clean.json()["entries_checked"] == 7  # six writes and the refusal above

    await _checkpoint(app)
    entries = await _entries(app)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(AuditEntry).where(AuditEntry.id == entries[-1].id))
    tampered = (await client.get("/api/v1/audit/verify", headers=platform)).json()
    assert tampered["ok"] is False and tampered["checkpoints_checked"] == 1
    assert [f["kind"] for f in tampered["findings"]] == [TRUNCATED]
    assert tampered["findings"][0]["description"].startswith("TRUNCATED: the newest entries")


async def test_audit_key_file_from_the_cli_and_rotation_keep_the_chain_verifiable(
    scratch_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "keys" / "audit.json"
    monkeypatch.setenv("ASTROSHIELD_DATABASE_URL", scratch_database_url)
    monkeypatch.setenv("ASTROSHIELD_AUDIT_KEY_FILE", str(key_file))
    monkeypatch.setenv(
        "ASTROSHIELD_AUDIT_CHECKPOINT_FILE", str(checkpoint_file_for(scratch_database_url))
    )
    get_settings.cache_clear()

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.output

    try:
        code, output = await asyncio.to_thread(invoke, "keys", "audit-generate", str(key_file))
        assert code == 0, output
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first = audit_chain_keys(get_settings()).active
        assert (await asyncio.to_thread(invoke, "audit", "checkpoint"))[0] == 0
        await asyncio.sleep(1.1)  # key ids carry the second they were made
        code, output = await asyncio.to_thread(invoke, "keys", "audit-rotate", str(key_file))
        assert code == 0, output
        rotated = audit_chain_keys(get_settings())
        assert rotated.active != first and set(rotated) == {first, rotated.active}
        assert (await asyncio.to_thread(invoke, "audit", "checkpoint"))[0] == 0
        code, output = await asyncio.to_thread(invoke, "audit", "verify")
        assert code == 0, output
        assert "audit chain intact: 1 entries, 2 checkpoints" in output
        assert (await asyncio.to_thread(invoke, "keys", "audit-generate", str(key_file)))[0] == 1
    finally:
        get_settings.cache_clear()


def test_checkpoint_lines_that_are_not_ours_are_refused() -> None:
    ours = {"a1": generate_key()}
    checkpoint = Checkpoint(
        sequence=5,
        entry_id=5,
        head_hash="ab" * 32,
        entries=5,
        at=datetime(2026, 12, 1, tzinfo=UTC),
        key_id="a1",
        reason="interval",
    )
    line = encode_checkpoint(checkpoint, ours)
    assert parse_checkpoint(line, ours, source="x").checkpoint == checkpoint
    exported = f"Dec  1 00:00:00 host {SYSLOG_IDENT}{line}\x00"  # from a syslog collector
    assert parse_checkpoint(exported, ours, source="x").checkpoint == checkpoint

    forged = encode_checkpoint(checkpoint, {"a1": generate_key()})  # someone else's key
    document = json.loads(line)
    cases = {
        forged: "signature does not match",
        line.replace('"sequence":5', '"sequence":50'): "signature does not match",
        line.replace('"key_id":"a1"', '"key_id":"zz"'): "key id 'zz', which the audit key",
        line.replace('"sequence":5', '"sequence":true'): "field 'sequence'",
        line.replace('"sequence":5', '"sequence":-1'): "out of range",
        line.replace('"v":1', '"v":9'): "unknown checkpoint format 9",
        json.dumps({k: v for k, v in document.items() if k != "sig"}): "field 'sig'",
        line.replace("+00:00", ""): "out of range",  # a time without its zone
        "[1, 2]": "no JSON object",
        "{}" * 3: "not valid JSON",
        "": "no JSON object",
    }
    for text, problem in cases.items():
        parsed = parse_checkpoint(text, ours, source="x")
        assert parsed.checkpoint is None and problem in (parsed.problem or ""), (text, parsed)


def test_an_overlong_line_in_the_checkpoint_file_is_reported_not_read_whole(
    tmp_path: Path,
) -> None:
    keys = {"a1": generate_key()}
    checkpoint = Checkpoint(1, 1, "cd" * 32, 1, datetime(2026, 12, 1, tzinfo=UTC), "a1", "t")
    path = tmp_path / "checkpoints.jsonl"
    good = encode_checkpoint(checkpoint, keys)
    path.write_text(good + "\n" + "{" + "x" * 100_000 + "\n\n" + good + "\n")
    lines = read_checkpoint_file(path, keys)
    assert lines is not None
    assert [line.problem for line in lines] == [None, "line too long to be a checkpoint", None]
    assert read_checkpoint_file(tmp_path / "missing.jsonl", keys) is None


async def test_concurrent_writers_extend_the_chain_without_a_fork(app: FastAPI) -> None:
    # A request's own entry and its after-commit work (an invitation's delivery, say) are
    # written by separate transactions at the same moment; each must see the other's
    # entry as its predecessor instead of both claiming the same sequence number.
    writers = 12
    await asyncio.gather(
        *(
            record_detached(app.state.sessionmaker, SYSTEM.event("test.concurrent", n=n))
            for n in range(writers)
        )
    )
    entries = await _entries(app)
    assert sorted(e.sequence for e in entries) == list(range(1, writers + 1))
    async with app.state.sessionmaker() as session:
        report = await verify_chain(session)
    assert report.ok, report.findings
