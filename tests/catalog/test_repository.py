"""The catalog interface other domains use: idempotent import, set-in-force lookup, newest
sets, history. Runs on SQLite and PostgreSQL (``ASTROSHIELD_TEST_DATABASE_URL``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from astroshield.astro.formats.omm import parse_omm_csv
from astroshield.catalog.models import CatalogObject
from astroshield.catalog.repository import CatalogRepository
from astroshield.catalog.service import Origin, orbit_summary, to_element_set
from astroshield.db import session_scope
from tests.catalog.conftest import (
    CRYOSAT_TLE,
    FENGYUN_TLE,
    Importer,
    csv_rows_where,
    csv_sets,
    tle_sets,
)
from tests.conftest import Factory


async def test_import_is_idempotent_on_object_and_epoch(import_sets: Importer) -> None:
    snapshot = csv_sets(300)
    history = tle_sets(CRYOSAT_TLE, 40)

    first = await import_sets([*snapshot, *history, *history[:5]], chunk_size=64)
    assert (first.inserted, first.already_present, first.rejected) == (340, 5, [])

    again = await import_sets([*history, *snapshot], chunk_size=7)
    assert (again.inserted, again.already_present) == (0, 340)


async def test_stored_sets_come_back_exactly(app: FastAPI, import_sets: Importer) -> None:
    originals = [*csv_sets(50), *tle_sets(FENGYUN_TLE, 5)]
    await import_sets(originals)
    async with session_scope(app.state.sessionmaker) as session:
        repository = CatalogRepository(session, None)
        stored = [
            to_element_set(record)
            for item in originals
            for record in await repository.history(item.catalog_number, item.epoch, item.epoch)
        ]
    assert stored == originals  # every float and the microsecond epoch, unchanged


async def test_element_set_at_is_the_set_in_force(app: FastAPI, import_sets: Importer) -> None:
    history = tle_sets(CRYOSAT_TLE, 20)
    epochs = [item.epoch for item in history]
    assert epochs == sorted(epochs)
    await import_sets(list(reversed(history)))
    async with session_scope(app.state.sessionmaker) as session:
        repository = CatalogRepository(session, None)

        async def epoch_at(moment: datetime) -> datetime | None:
            found = await repository.element_set_at("36508", moment)
            return found.epoch if found else None

        assert await epoch_at(epochs[5]) == epochs[5]  # at an epoch: that set
        assert await epoch_at(epochs[5] + (epochs[6] - epochs[5]) / 2) == epochs[5]
        assert await epoch_at(epochs[6] - timedelta(microseconds=1)) == epochs[5]
        assert await epoch_at(epochs[0] - timedelta(days=30)) == epochs[0]  # before: earliest
        assert await epoch_at(epochs[-1] + timedelta(days=365)) == epochs[-1]
        assert await repository.element_set_at("99999", epochs[0]) is None


async def test_latest_element_sets_newest_per_object(app: FastAPI, import_sets: Importer) -> None:
    cryosat, fengyun = tle_sets(CRYOSAT_TLE, 30), tle_sets(FENGYUN_TLE, 12)
    # The newer half first: importing older history later must not move "latest" back.
    await import_sets([*cryosat[15:], *fengyun[6:]])
    await import_sets([*cryosat[:15], *fengyun[:6]])
    async with session_scope(app.state.sessionmaker) as session:
        repository = CatalogRepository(session, None)
        every = await repository.latest_element_sets()
        chosen = await repository.latest_element_sets(["38049", "036508", "12345"])
        cryosat_object = await session.get(CatalogObject, "36508")
    assert [(r.catalog_number, r.epoch) for r in every] == [
        ("36508", cryosat[-1].epoch),
        ("38049", fengyun[-1].epoch),
    ]
    assert [r.catalog_number for r in chosen] == ["36508", "38049"]  # unknown one left out
    assert cryosat_object is not None and cryosat_object.epoch == cryosat[-1].epoch
    newest_summary = orbit_summary(cryosat[-1])
    assert cryosat_object.period_min == newest_summary.period_min
    assert cryosat_object.regime == "LEO"


async def test_latest_element_sets_orders_catalog_numbers_numerically(
    app: FastAPI, import_sets: Importer
) -> None:
    rows = csv_rows_where(lambda row: row.split(",")[11] in {"5", "11", "900", "270000"})
    await import_sets(parse_omm_csv(rows))
    async with session_scope(app.state.sessionmaker) as session:
        repository = CatalogRepository(session, None)
        numbers = [r.catalog_number for r in await repository.latest_element_sets()]
        alpha5 = await repository.latest_element_sets(["T0000"])
    assert numbers == ["5", "11", "900", "270000"]
    assert [r.catalog_number for r in alpha5] == ["270000"]  # Alpha-5 T0000


async def test_history_is_ascending_within_the_window(app: FastAPI, import_sets: Importer) -> None:
    history = tle_sets(FENGYUN_TLE, 25)
    await import_sets(history[::-1], chunk_size=10)
    epochs = [item.epoch for item in history]
    async with session_scope(app.state.sessionmaker) as session:
        repository = CatalogRepository(session, None)
        everything = await repository.history("38049")
        window = await repository.history("38049", start=epochs[3], stop=epochs[9])
        from_start = await repository.history("38049", start=epochs[20])
    assert [r.epoch for r in everything] == epochs
    assert [r.epoch for r in window] == epochs[3:10]  # both ends included
    assert [r.epoch for r in from_start] == epochs[20:]


async def test_a_nameless_newer_set_keeps_the_known_name(
    app: FastAPI, import_sets: Importer
) -> None:
    (named,) = parse_omm_csv(csv_rows_where(lambda row: row.startswith("CRYOSAT 2,")))
    newer = replace(named, epoch=named.epoch + timedelta(days=1), object_name=None, object_id=None)
    await import_sets([named])
    await import_sets([newer])
    async with session_scope(app.state.sessionmaker) as session:
        stored = await session.get(CatalogObject, "36508")
    assert stored is not None
    assert (stored.name, stored.object_id, stored.epoch) == ("CRYOSAT 2", "2010-013A", newer.epoch)


async def test_an_organisations_overlay_takes_precedence_in_its_view_only(
    app: FastAPI, factory: Factory, import_sets: Importer
) -> None:
    """Public CryoSat-2 history; organisation A's overlay set at 2010-04-28 12:00 shadows the
    public sets of the day after it (04-28 12:59 and 04-29 00:34), not the one of 04-30."""
    public = tle_sets(CRYOSAT_TLE, 20)
    await import_sets(public)
    a, b = await factory.organisation(), await factory.organisation()
    overlay = replace(public[4], epoch=datetime(2010, 4, 28, 12, tzinfo=UTC), element_set_number=1)
    early = replace(public[0], epoch=public[0].epoch - timedelta(days=3), element_set_number=2)
    await import_sets([overlay, early], origin=Origin.overlay(a.id, "user-a"))

    async with session_scope(app.state.sessionmaker) as session:
        views = {
            name: CatalogRepository(session, organisation)
            for name, organisation in (("a", a.id), ("b", b.id), ("platform", None))
        }

        async def epoch_at(view: str, moment: datetime) -> datetime | None:
            found = await views[view].element_set_at("36508", moment)
            return found.epoch if found else None

        for moment, for_a, for_others in (
            (datetime(2010, 4, 28, 12, 30, tzinfo=UTC), overlay.epoch, public[4].epoch),
            (datetime(2010, 4, 29, 6, tzinfo=UTC), overlay.epoch, public[6].epoch),
            (public[7].epoch, public[7].epoch, public[7].epoch),
            (early.epoch - timedelta(days=1), early.epoch, public[0].epoch),
        ):
            assert await epoch_at("a", moment) == for_a
            assert await epoch_at("b", moment) == await epoch_at("platform", moment) == for_others

        everything = [r.epoch for r in await views["a"].history("36508")]
        assert everything == [
            early.epoch,
            *[s.epoch for s in public[:5]],
            overlay.epoch,
            *[s.epoch for s in public[7:]],
        ]
        # The overlay set before the window still shadows the public set inside it.
        window = await views["a"].history("36508", start=public[6].epoch, stop=public[8].epoch)
        assert [r.epoch for r in window] == [public[7].epoch, public[8].epoch]
        assert [r.epoch for r in await views["b"].history("36508")] == [s.epoch for s in public]
        assert await views["a"].count_element_sets("36508") == 22
        assert await views["b"].count_element_sets("36508") == 20


async def test_latest_sets_of_an_organisation_include_its_overlay(
    app: FastAPI, factory: Factory, import_sets: Importer
) -> None:
    cryosat, fengyun = tle_sets(CRYOSAT_TLE, 10), tle_sets(FENGYUN_TLE, 10)
    await import_sets([*cryosat, *fengyun])
    a, b = await factory.organisation(), await factory.organisation()
    recent = replace(cryosat[-1], epoch=cryosat[-1].epoch - timedelta(hours=12))
    stale = replace(fengyun[-1], epoch=fengyun[-1].epoch - timedelta(days=2))
    (unknown,) = tle_sets(CRYOSAT_TLE, 1)
    unknown = replace(unknown, catalog_number="99990")
    await import_sets([recent, stale, unknown], origin=Origin.overlay(a.id, "user-a"))
    async with session_scope(app.state.sessionmaker) as session:
        mine = await CatalogRepository(session, a.id).latest_element_sets()
        theirs = await CatalogRepository(session, b.id).latest_element_sets()
        chosen = await CatalogRepository(session, a.id).latest_element_sets(["99990", "38049"])
    assert [(r.catalog_number, r.epoch, r.overlay) for r in mine] == [
        ("36508", recent.epoch, True),  # within a day of the newest public set
        ("38049", fengyun[-1].epoch, False),  # the public one is more than a day newer
        ("99990", unknown.epoch, True),  # only the overlay knows it
    ]
    assert [(r.catalog_number, r.epoch, r.overlay) for r in theirs] == [
        ("36508", cryosat[-1].epoch, False),
        ("38049", fengyun[-1].epoch, False),
    ]
    assert [r.catalog_number for r in chosen] == ["38049", "99990"]
