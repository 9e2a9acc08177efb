"""The catalog API through the real app: search, detail, history, uploads."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.dynamics.orbit import (
    EARTH_EQUATORIAL_RADIUS_KM,
    regime,
    semi_major_axis_from_mean_motion,
)
from astroshield.astro.formats.omm import format_omm_json, format_omm_xml, parse_omm_csv
from astroshield.astro.formats.tle import parse_tle
from tests.catalog.conftest import (
    CRYOSAT_TLE,
    FENGYUN_TLE,
    Importer,
    csv_head,
    csv_rows_where,
    tle_head,
    tle_sets,
)
from tests.conftest import Factory

PROBLEM_JSON = "application/problem+json"


Item = dict[str, Any]


def _epoch(item: Item) -> datetime:
    return datetime.fromisoformat(item["epoch"])


async def _all_pages(client: httpx.AsyncClient, url: str, **params: str | float) -> list[Item]:
    items: list[Item] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_search_filters_and_pages_the_catalog(
    client: httpx.AsyncClient, factory: Factory, import_sets: Importer
) -> None:
    snapshot = parse_omm_csv(csv_head(300))
    await import_sets(snapshot)
    client.headers.update(await factory.login(role="viewer"))
    url = "/api/v1/catalog/objects"

    listed = await _all_pages(client, url, limit=37)
    numbers = [item["catalog_number"] for item in listed]
    assert numbers == sorted({s.catalog_number for s in snapshot}, key=int)

    def expected(predicate: Callable[[ElementSet], bool]) -> list[str]:
        return sorted({s.catalog_number for s in snapshot if predicate(s)}, key=int)

    def found(items: list[Item]) -> list[str]:
        return [item["catalog_number"] for item in items]

    by_name = await _all_pages(client, url, q="vanguard")
    assert found(by_name) == expected(lambda s: "VANGUARD" in (s.object_name or "")) != []
    by_cospar = await _all_pages(client, url, q="1959-")
    assert found(by_cospar) == expected(lambda s: (s.object_id or "").startswith("1959-")) != []
    assert "5" in found(await _all_pages(client, url, q="5"))

    # Orbit filters against a brute-force pass over the same rows with the astro library.
    def apsides(s: ElementSet) -> tuple[float, float, float]:
        a = semi_major_axis_from_mean_motion(s.mean_motion_rev_per_day)
        e = s.eccentricity
        return a, a * (1 - e) - EARTH_EQUATORIAL_RADIUS_KM, a * (1 + e) - EARTH_EQUATORIAL_RADIUS_KM

    geo = await _all_pages(client, url, regime="GEO")
    assert (
        found(geo)
        == expected(lambda s: regime(apsides(s)[0], s.eccentricity, s.inclination_deg) == "GEO")
        != []
    )
    low = await _all_pages(client, url, min_perigee_km=300, max_apogee_km=1000)
    assert found(low) == expected(lambda s: apsides(s)[1] >= 300 and apsides(s)[2] <= 1000) != []
    polar = await _all_pages(client, url, min_inclination=80, max_inclination=100, limit=500)
    assert found(polar) == expected(lambda s: 80 <= s.inclination_deg <= 100) != []

    response = await client.get(url, params={"regime": "XEO"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "regime"]
    response = await client.get(url, params={"cursor": "bm90LWEtY3Vyc29y"})
    assert response.status_code == 422


async def test_object_detail_with_latest_set_and_own_spacecraft(
    client: httpx.AsyncClient, factory: Factory, import_sets: Importer
) -> None:
    history = tle_sets(FENGYUN_TLE, 8)
    await import_sets(history, source="fengyun.tle")
    organisation, other = await factory.organisation(), await factory.organisation()
    own = await factory.spacecraft(organisation, name="FY-2F", catalog_number="38049")
    await factory.spacecraft(other, name="theirs", catalog_number="38049")
    client.headers.update(await factory.login(organisation, role="viewer"))

    response = await client.get("/api/v1/catalog/objects/38049")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["element_set_count"] == 8
    assert body["regime"] == "GEO" and body["object_id"] == "2012-002A"
    assert [item["id"] for item in body["spacecraft"]] == [str(own.id)]
    latest = body["latest_element_set"]
    assert latest["source"] == "fengyun.tle"
    # The TLE lines read back to the newest set of the input file.
    assert parse_tle(latest["tle_line1"], latest["tle_line2"]).elements == history[-1]
    assert latest["omm"]["NORAD_CAT_ID"] == 38049
    assert latest["omm"]["MEAN_MOTION"] == history[-1].mean_motion_rev_per_day

    assert (await client.get("/api/v1/catalog/objects/99999")).status_code == 404
    response = await client.get("/api/v1/catalog/objects/I0000")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["loc"] == ["path", "catalog_number"]


async def test_alpha5_catalog_numbers(
    client: httpx.AsyncClient, factory: Factory, import_sets: Importer
) -> None:
    await import_sets(parse_omm_csv(csv_rows_where(lambda row: ",270001," in row)))
    client.headers.update(await factory.login(role="viewer"))
    response = await client.get("/api/v1/catalog/objects/T0001")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["catalog_number"] == "270001"
    assert body["latest_element_set"]["tle_line1"].startswith("1 T0001U")
    listed = (await client.get("/api/v1/catalog/objects", params={"q": "t0001"})).json()
    assert [item["catalog_number"] for item in listed["items"]] == ["270001"]


async def test_history_pages_oldest_first_within_a_window(
    client: httpx.AsyncClient, factory: Factory, import_sets: Importer
) -> None:
    history = tle_sets(CRYOSAT_TLE, 20)
    await import_sets(history)
    client.headers.update(await factory.login(role="viewer"))
    url = "/api/v1/catalog/objects/36508/element-sets"

    items = await _all_pages(client, url, limit=6)
    assert [_epoch(item) for item in items] == [s.epoch for s in history]
    assert items[0]["mean_motion_rev_per_day"] == history[0].mean_motion_rev_per_day

    start, stop = history[4].epoch.isoformat(), history[11].epoch.isoformat()
    window = await _all_pages(client, url, start=start, stop=stop, limit=3)
    assert [_epoch(item) for item in window] == [s.epoch for s in history[4:12]]

    response = await client.get(url, params={"start": stop, "stop": start})
    assert response.status_code == 422
    assert (await client.get("/api/v1/catalog/objects/12345/element-sets")).status_code == 404


@pytest.mark.parametrize(
    ("media_type", "render"),
    [
        ("text/plain", lambda sets: tle_head(CRYOSAT_TLE, 12)),
        ("application/json", lambda sets: format_omm_json(sets)),
        ("application/xml", lambda sets: format_omm_xml(sets)),
        ("text/csv", lambda sets: csv_head(12)),
    ],
)
async def test_upload_imports_each_format_idempotently(
    client: httpx.AsyncClient,
    factory: Factory,
    media_type: str,
    render: Callable[[list[ElementSet]], str],
) -> None:
    sets = parse_omm_csv(csv_head(12))
    body = render(sets)
    client.headers.update(await factory.login(role="analyst"))
    url = "/api/v1/catalog/element-sets"
    headers = {"content-type": media_type}

    first = await client.post(url, content=body.encode(), headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "received": 12,
        "inserted": 12,
        "already_present": 0,
        "rejected": [],
        "skipped": 0,
        "problems": [],
    }
    again = await client.post(url, content=body.encode(), headers=headers)
    assert again.json() == {
        "received": 12,
        "inserted": 0,
        "already_present": 12,
        "rejected": [],
        "skipped": 0,
        "problems": [],
    }


async def test_three_line_tle_upload_keeps_the_name(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await factory.login(role="analyst"))
    text = "CRYOSAT 2\n" + tle_head(CRYOSAT_TLE, 1)
    response = await client.post(
        "/api/v1/catalog/element-sets", content=text, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 200, response.text
    detail = (await client.get("/api/v1/catalog/objects/36508")).json()
    assert detail["name"] == "CRYOSAT 2" and detail["object_type"] is None


async def test_strict_upload_names_the_line_and_writes_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await factory.login(role="analyst"))
    lines = tle_head(CRYOSAT_TLE, 3).splitlines()
    # Break the checksum of the third set's line 2 (file line 6).
    lines[5] = lines[5][:-1] + str((int(lines[5][-1]) + 1) % 10)
    response = await client.post(
        "/api/v1/catalog/element-sets",
        content="\n".join(lines),
        headers={"content-type": "text/plain"},
        params={"strict": "true"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["body", "line 6", "checksum"]
    assert "checksum" in problem["errors"][0]["msg"] and "line 6" in problem["detail"]
    listed = (await client.get("/api/v1/catalog/objects")).json()
    assert listed["items"] == []  # the two good sets before it were not written

    bad_json = format_omm_json(parse_omm_csv(csv_head(3))).replace(
        '"MEAN_MOTION": 11.88861557', '"MEAN_MOTION": "fast"'
    )
    response = await client.post(
        "/api/v1/catalog/element-sets",
        content=bad_json,
        headers={"content-type": "application/json"},
        params={"strict": "true"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "object 2", "MEAN_MOTION"]

    response = await client.post(
        "/api/v1/catalog/element-sets",
        content=b"\x00\x01",
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 415


async def test_physically_impossible_elements_are_refused_naming_the_field(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await factory.login(role="analyst"))
    url = "/api/v1/catalog/element-sets"
    line1, line2 = tle_head(CRYOSAT_TLE, 1).splitlines()
    body2 = line2[:8] + "200.0000" + line2[16:68]
    body2 += str(sum(int(c) if c.isdigit() else c == "-" for c in body2) % 10)
    response = await client.post(
        url, content=f"{line1}\n{body2}\n", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "line 2", "inclination"]
    assert error["msg"] == "line 2, columns 9-16: inclination 200.0 deg is outside 0..180"

    records = json.loads(format_omm_json(parse_omm_csv(csv_head(2))))
    records[1]["INCLINATION"] = 200.0
    records[0]["ECCENTRICITY"] = 1.0
    for index, (keyword, message) in enumerate(
        [("ECCENTRICITY", "1.0 is not within 0 <= e < 1"), ("INCLINATION", "200.0 deg")]
    ):
        response = await client.post(url, json=records[index : index + 1])
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["loc"] == ["body", "object 1", keyword]
        assert error["msg"].startswith(message)

    nested = b"[" * 100_000 + b"]" * 100_000
    response = await client.post(url, content=nested, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert (await client.get("/api/v1/catalog/objects")).json()["items"] == []


async def test_uploading_needs_catalog_write(client: httpx.AsyncClient, factory: Factory) -> None:
    client.headers.update(await factory.login(role="viewer"))
    response = await client.post(
        "/api/v1/catalog/element-sets",
        content=tle_head(CRYOSAT_TLE, 1),
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 403
    client.headers.clear()
    assert (await client.get("/api/v1/catalog/objects")).status_code == 401


def _archive_with_broken_sets() -> tuple[str, list[ElementSet]]:
    """Ten CryoSat-2 sets as an archive holds them, three broken: set 3's line 2 checksum
    (file line 6), set 6's inclination (file line 12, not a number), set 9 without its
    line 2 (reported at file line 18, where set 10's line 1 stands instead of it). Returns
    the text and the seven good sets."""
    lines = tle_head(CRYOSAT_TLE, 10).splitlines()
    good = [parse_tle(lines[i], lines[i + 1]).elements for i in range(0, 20, 2)]
    lines[5] = lines[5][:-1] + str((int(lines[5][-1]) + 1) % 10)
    body = lines[11][:8] + " 92.X000" + lines[11][16:68]
    lines[11] = body + str(sum(int(c) if c.isdigit() else c == "-" for c in body) % 10)
    del lines[17]
    return "\n".join(lines) + "\n", [good[i] for i in (0, 1, 3, 4, 6, 7, 9)]


async def test_upload_skips_unreadable_sets_and_names_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await factory.login(role="analyst"))
    text, good = _archive_with_broken_sets()
    response = await client.post(
        "/api/v1/catalog/element-sets", content=text, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["inserted"], report["skipped"]) == (10, 7, 3)
    assert [(p["line"], p["where"], p["field"]) for p in report["problems"]] == [
        (6, "line 6", "checksum"),
        (12, "line 12", "inclination"),
        (18, "line 18", None),
    ]
    assert "expected line 2" in report["problems"][2]["reason"]
    history = await _all_pages(client, "/api/v1/catalog/objects/36508/element-sets")
    assert [_epoch(item) for item in history] == [item.epoch for item in good]


async def test_upload_with_only_unreadable_sets_is_refused_naming_each(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    client.headers.update(await factory.login(role="analyst"))
    text, _ = _archive_with_broken_sets()
    lines = text.splitlines()
    broken = "\n".join(lines[4:6] + lines[10:12]) + "\n"  # sets 3 and 6 only
    response = await client.post(
        "/api/v1/catalog/element-sets", content=broken, headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert [error["loc"] for error in problem["errors"]] == [
        ["body", "line 2", "checksum"],
        ["body", "line 4", "inclination"],
    ]
    assert problem["detail"].startswith("none of the 2 element sets is readable; line 2:")
    assert (await client.get("/api/v1/catalog/objects")).json()["items"] == []
