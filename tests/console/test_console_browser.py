"""The operator console as an operator uses it: the real service (uvicorn, its own SQLite
file, seeded through the CLI's first account and the public API), Debian's Chromium driven
by Playwright. Log in, see the fleet, open the red conjunction and its encounter plot,
acknowledge its alert, watch a telemetry value change after an ingest, log out; axe-core
on every page (no serious or critical violation) and no browser console error (a CSP
refusal shows up there). Screenshots at 1280x800 go to ``$ASTROSHIELD_CONSOLE_SCREENSHOTS``
when set, else the test's tmp dir.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.console.seeding import (
    CCDM_CHASER,
    CCDM_PROTECTED,
    CCDM_SPACECRAFT,
    ORGANISATION,
    PARAMETER,
    Seeded,
    cli_user,
    ingest,
    running_service,
    seed,
    seed_orbits,
)
from tests.support.browser import (
    chromium_or_skip,
    launched_chromium,
    record_problems,
    screenshot_path,
)
from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.browser

AXE = REPO_ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
BUILT = REPO_ROOT / "src" / "astroshield" / "console" / "dist" / "index.html"
TIMEOUT_MS = 15_000
VIEWPORT = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    if not BUILT.exists() or not AXE.exists():
        pytest.fail("the console is not built: run `make console` (make test-sqlite does)")
    with running_service(tmp_path_factory.mktemp("console") / "astroshield.db") as (base, env):
        seeded = seed(base, env)
        seed_orbits(seeded)
        yield seeded


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched_chromium(chromium_or_skip()) as launched:
        yield launched


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    # axe-core from npm (the console's devDependency). As an init script, as DevTools
    # injects it: the page's CSP rightly refuses the inline <script> add_script_tag makes.
    await context.add_init_script(path=AXE)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


async def serious_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.x A/AA rules on the page as it is now."""
    results: dict[str, Any] = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} "
        f"at {[node['target'] for node in violation['nodes']][:3]}"
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


async def look(page: Page, tmp_path: Path, name: str) -> None:
    """The page passes axe and is kept as a screenshot."""
    await page.screenshot(
        path=screenshot_path("ASTROSHIELD_CONSOLE_SCREENSHOTS", tmp_path, f"console-{name}.png")
    )
    assert await serious_violations(page) == [], name


async def test_an_operator_works_a_shift(seeded: Seeded, page: Page, tmp_path: Path) -> None:
    problems = record_problems(page)
    await page.goto(f"{seeded.base}/console/")

    # Log in.
    await expect(page.get_by_role("heading", name="AstroShield operations console")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    await look(page, tmp_path, "login")
    # By keyboard alone: the e-mail field has the focus, Tab moves on, Enter submits.
    await expect(page.get_by_label("E-mail")).to_be_focused()
    await page.keyboard.type(seeded.email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(seeded.password)
    await page.keyboard.press("Enter")

    # The fleet: every spacecraft, the red conjunction's tier and its firing alarm.
    rows = page.locator("#fleet-table tbody tr[data-spacecraft]")
    await expect(rows).to_have_count(len(seeded.spacecraft), timeout=TIMEOUT_MS)
    sentinel = page.locator(f"tr[data-spacecraft='{seeded.spacecraft['Sentinel-6A']}']")
    await expect(sentinel).to_contain_text("RED")
    await expect(sentinel).to_contain_text("1 (1 unacked)")
    await expect(rows.first).to_have_attribute("data-spacecraft", seeded.spacecraft["Sentinel-6A"])
    await look(page, tmp_path, "fleet")

    # The red conjunction, its encounter-plane plot (a real PNG) and its Pc.
    await page.get_by_role("link", name="Conjunctions").click()
    red = page.locator(f"tr[data-event='{seeded.red_event_id}']")
    await expect(red).to_contain_text("RED", timeout=TIMEOUT_MS)
    await look(page, tmp_path, "conjunctions")
    await red.get_by_role("link").click()
    plot = page.locator("#encounter-plot")
    await expect(plot).to_be_visible(timeout=TIMEOUT_MS)
    assert await _drawn_width(plot) > 100  # decoded, not a broken image
    with seeded.client() as api:
        event = api.get(f"/conjunctions/{seeded.red_event_id}").json()
    await expect(page.locator("#event-pc")).to_have_text(_exponential(event["pc"]))
    cdm = page.get_by_role("link", name="Download CDM (KVN)")
    async with httpx.AsyncClient(cookies=await _cookies(page)) as client:
        exported = await client.get(f"{seeded.base}{await cdm.get_attribute('href')}")
    assert exported.status_code == 200 and "CCSDS_CDM_VERS" in exported.text
    # The avoidance trade, computed on request: the burn the API finds for the same choice.
    await page.get_by_label("Burn before TCA").select_option("10800")
    await page.get_by_role("button", name="Compute avoidance").click()
    shown = page.locator("#avoidance-dv")
    await expect(shown).to_contain_text("m/s", timeout=TIMEOUT_MS)
    with seeded.client() as api:
        trade = api.get(
            f"/conjunctions/{seeded.red_event_id}/avoidance",
            params={"lead_time_s": 10800, "direction": "along_track"},
        ).json()
    assert trade["feasible"], trade
    assert await shown.inner_text() == (
        f"{trade['delta_v_m_s']:.3f} m/s Along track, 3.0 h before TCA"
    )
    await look(page, tmp_path, "conjunction")

    # Acknowledge its alert: the API says who did.
    alert = page.locator(f"tr[data-alert='{seeded.red_alert_id}']")
    await alert.get_by_role("button", name="Acknowledge").click()
    await expect(alert).to_have_attribute("data-status", "acknowledged", timeout=TIMEOUT_MS)
    with seeded.client() as api:
        stored = api.get(f"/alerts/{seeded.red_alert_id}").json()
    assert stored["status"] == "acknowledged"
    assert stored["acknowledged_by"] is not None

    # The spacecraft: an ingest above the warning limit (33 V) shows as the new value, the
    # limit state and a limit alarm, which the operator acknowledges there. The value comes
    # over the telemetry WebSocket, authenticated by the session cookie from this origin.
    frames: list[str] = []
    page.on(
        "websocket",
        lambda socket: socket.on("framereceived", lambda payload: frames.append(str(payload))),
    )
    await page.get_by_role("link", name="Sentinel-6A (44001)").click()
    value = page.locator(f"td[data-value='{PARAMETER}']")
    await expect(value).to_have_text("28.1 V", timeout=TIMEOUT_MS)
    await expect(page.locator("#telemetry-plot canvas")).to_be_visible()
    await expect(page.locator("#limits")).to_contain_text("Within limits")
    with seeded.client() as api:
        ingest(api, seeded.spacecraft["Sentinel-6A"], 34.2, datetime.now(UTC))
    await expect(value).to_have_text("34.2 V", timeout=TIMEOUT_MS)
    assert any('"subscribed"' in frame for frame in frames), frames
    assert any('"samples"' in frame and "34.2" in frame for frame in frames), frames
    await expect(page.locator("#limits")).to_contain_text("Out of limits: Warning")
    await expect(page.locator("#health-badge")).to_have_text("Degraded", timeout=TIMEOUT_MS)
    alarm = page.locator("#spacecraft-alerts tr[data-status='firing']")
    await expect(alarm).to_contain_text(f"Limit alarm: {PARAMETER}", timeout=TIMEOUT_MS)
    await look(page, tmp_path, "spacecraft")
    await alarm.get_by_role("button", name="Acknowledge").click()
    limit_alarm = page.locator("#spacecraft-alerts tr").filter(has_text=f"Limit alarm: {PARAMETER}")
    await expect(limit_alarm).to_have_attribute("data-status", "acknowledged", timeout=TIMEOUT_MS)
    with seeded.client() as api:
        limit_alarms = api.get("/alerts", params={"parameter": PARAMETER}).json()["items"]
    assert [a["status"] for a in limit_alarms] == ["acknowledged"]

    # Alerts: the acknowledged one is listed as such.
    await page.get_by_role("link", name="Alerts").click()
    listed = page.locator(f"#alert-list tr[data-alert='{seeded.red_alert_id}']")
    await expect(listed).to_have_attribute("data-status", "acknowledged", timeout=TIMEOUT_MS)
    await look(page, tmp_path, "alerts")

    # Tablet width: the fleet fits (a wide table scrolls inside its own box, not the page).
    await page.set_viewport_size(TABLET)
    await page.get_by_role("link", name="Fleet").click()
    await expect(rows).to_have_count(len(seeded.spacecraft), timeout=TIMEOUT_MS)
    assert await page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    await page.screenshot(
        path=screenshot_path(
            "ASTROSHIELD_CONSOLE_SCREENSHOTS", tmp_path, "console-fleet-tablet.png"
        )
    )
    await page.set_viewport_size(VIEWPORT)

    # Log out: the session is gone, the login form is back.
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_label("E-mail")).to_be_visible(timeout=TIMEOUT_MS)
    async with httpx.AsyncClient(cookies=await _cookies(page)) as client:
        after = await client.get(f"{seeded.base}/api/v1/auth/me")
    assert after.status_code == 401
    assert problems == []


def _exponential(value: float) -> str:
    """Three significant digits as JavaScript's toExponential(2) writes them (1.08e-4)."""
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa}e{int(exponent):+d}"


async def _drawn_width(image: Locator) -> int:
    """The natural width of an image once the browser has decoded it (0 if it never is)."""
    for _ in range(TIMEOUT_MS // 100):
        width = int(await image.evaluate("img => img.complete ? img.naturalWidth : -1"))
        if width >= 0:
            return width
        await asyncio.sleep(0.1)
    return 0


async def _cookies(page: Page) -> dict[str, str]:
    return {cookie["name"]: cookie["value"] for cookie in await page.context.cookies()}


async def _log_in(page: Page, seeded: Seeded, *, opened: bool = False) -> None:
    if not opened:
        await page.goto(f"{seeded.base}/console/")
    await page.get_by_label("E-mail").fill(seeded.email)
    await page.get_by_label("Password").fill(seeded.password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#fleet-table")).to_be_visible(timeout=TIMEOUT_MS)


MAP_WIDTH, MAP_HEIGHT = 1080, 540


async def _fits_tablet(page: Page, tmp_path: Path, name: str) -> None:
    """At tablet width the page does not scroll sideways (wide tables scroll in their box)."""
    await page.set_viewport_size(TABLET)
    # Plots follow their box's width once the resize has been observed (a polling loop:
    # wait_for_function evaluates a string, which the page's CSP refuses).
    width = 0
    for _ in range(50):
        width = int(await page.evaluate("document.documentElement.scrollWidth"))
        if width <= TABLET["width"]:
            break
        await asyncio.sleep(0.1)
    assert width <= TABLET["width"], name
    await page.screenshot(
        path=screenshot_path(
            "ASTROSHIELD_CONSOLE_SCREENSHOTS", tmp_path, f"console-{name}-tablet.png"
        )
    )
    await page.set_viewport_size(VIEWPORT)


def _projected(lon: float, lat: float) -> tuple[float, float]:
    """Equirectangular map coordinates, written out independently of the console's code."""
    wrapped = (lon + 180.0) % 360.0 - 180.0
    return (wrapped + 180.0) / 360.0 * MAP_WIDTH, (90.0 - lat) / 180.0 * MAP_HEIGHT


async def test_ground_track_and_passes(seeded: Seeded, page: Page, tmp_path: Path) -> None:
    problems = record_problems(page)
    await _log_in(page, seeded)
    primary = seeded.spacecraft["Sentinel-6A"]
    await page.locator(f"tr[data-spacecraft='{primary}']").get_by_role("link").first.click()
    await expect(page.locator("#parameter-table")).to_be_visible(timeout=TIMEOUT_MS)
    async with page.expect_response("**/api/v1/trajectory/analyze") as answered:
        await page.get_by_role("link", name="Ground track and passes").click()
    response = await answered.value
    analysis = await response.json()
    sent = response.request.post_data_json
    assert sent["spacecraft_id"] == primary
    assert [s["name"] for s in sent["ground_stations"]] == ["Svalbard"]

    # The same request straight to the API gives the passes the table shows.
    with seeded.client() as api:
        again = api.post("/trajectory/analyze", json=sent).json()
    assert again["passes"] == analysis["passes"] and analysis["passes"], analysis["passes"]
    rows = page.locator("#pass-table tbody tr")
    await expect(rows).to_have_count(len(analysis["passes"]), timeout=TIMEOUT_MS)
    for row, expected in zip(await rows.all(), analysis["passes"], strict=True):
        await expect(row.locator("th")).to_have_text("Svalbard")
        await expect(row.locator("td[data-max-elevation]")).to_have_text(
            f"{expected['max_elevation_deg']:.1f}°"
        )
        assert await row.get_attribute("data-rise") == expected["rise"]

    # The map: the track starts where the API's first point projects, and no drawn piece
    # jumps across the map (the antimeridian crossings are split).
    track = analysis["ground_track"]
    start = page.locator("#ground-track circle.track-start")
    x, y = _projected(track["longitude_deg"][0], track["latitude_deg"][0])
    assert abs(float(await start.get_attribute("cx") or "nan") - x) < 0.2
    assert abs(float(await start.get_attribute("cy") or "nan") - y) < 0.2
    pieces = await page.locator("#ground-track polyline.track").evaluate_all(
        "lines => lines.map(l => l.getAttribute('points'))"
    )
    crossings = sum(1 for a, b in pairwise(track["longitude_deg"]) if abs(b - a) > 180)
    assert crossings > 0 and len(pieces) == crossings + 1
    for piece in pieces:
        xs = [float(point.split(",")[0]) for point in piece.split()]
        assert max(abs(b - a) for a, b in pairwise(xs)) < MAP_WIDTH / 2
    assert await page.locator("#ground-track path.land").count() == 1
    await expect(page.locator("#orbit-facts")).to_contain_text(
        f"{analysis['mean_elements']['inclination_deg']:.2f}°"
    )
    await look(page, tmp_path, "ground-track")
    await _fits_tablet(page, tmp_path, "ground-track")
    assert problems == []


async def test_ccdm(seeded: Seeded, page: Page, tmp_path: Path) -> None:
    problems = record_problems(page)
    await _log_in(page, seeded)
    spacecraft_id = seeded.spacecraft[CCDM_SPACECRAFT]
    with seeded.client() as api:
        own = api.get(f"/ccdm/objects/{CCDM_PROTECTED}/maneuvers").json()
        chaser = api.get(f"/ccdm/objects/{CCDM_CHASER}/maneuvers").json()
        proximity = api.get(f"/ccdm/spacecraft/{spacecraft_id}/proximity").json()
    await page.locator(f"tr[data-spacecraft='{spacecraft_id}']").get_by_role("link").first.click()
    await page.get_by_role("link", name="CCDM").click()

    # The protected object's own history: no manoeuvre; the chaser's: its burn, plotted.
    await expect(page.locator("#maneuvers")).to_contain_text(
        f"{own['element_set_count']} element sets of {CCDM_PROTECTED}", timeout=TIMEOUT_MS
    )
    assert own["maneuvers"] == []
    await expect(page.locator("#no-maneuvers")).to_be_visible()
    await expect(page.locator("#element-plot canvas")).to_be_visible()
    await page.get_by_label("Object").select_option(CCDM_CHASER)
    burns = page.locator("#maneuver-table tbody tr")
    await expect(burns).to_have_count(len(chaser["maneuvers"]), timeout=TIMEOUT_MS)
    assert chaser["maneuvers"]
    epochs = [await row.get_attribute("data-epoch") for row in await burns.all()]
    assert epochs == [m["epoch"] for m in chaser["maneuvers"]]

    # Proximity: the API's neighbours; the intent of the chaser with its evidence.
    neighbours = page.locator("#proximity-table tbody tr")
    await expect(neighbours).to_have_count(len(proximity["neighbours"]))
    listed = [await row.get_attribute("data-neighbour") for row in await neighbours.all()]
    assert listed == [n["catalog_number"] for n in proximity["neighbours"]]
    row = page.locator(f"tr[data-neighbour='{CCDM_CHASER}']")
    await row.get_by_role("button", name="Assess intent").click()
    evidence = page.locator("#evidence-table tbody tr")
    await expect(evidence.first).to_be_visible(timeout=TIMEOUT_MS)
    with seeded.client() as api:
        intent = api.get(f"/ccdm/spacecraft/{spacecraft_id}/intent/{CCDM_CHASER}").json()
    shown = [
        (await r.get_attribute("data-indicator"), await r.get_attribute("data-contributes"))
        for r in await evidence.all()
    ]
    assert shown == [(e["name"], str(e["contributes"]).lower()) for e in intent["evidence"]]
    await expect(page.locator("#intent-score")).to_have_text(f"{intent['score']:.2f}")
    category = intent["category"].replace("_", " ")
    await expect(page.locator("#intent-category")).to_have_text(category.capitalize())
    await page.locator("#intent").scroll_into_view_if_needed()
    await look(page, tmp_path, "ccdm")
    await page.screenshot(
        path=screenshot_path("ASTROSHIELD_CONSOLE_SCREENSHOTS", tmp_path, "console-ccdm-full.png"),
        full_page=True,
    )
    await _fits_tablet(page, tmp_path, "ccdm")
    assert problems == []


async def test_admin(seeded: Seeded, page: Page, tmp_path: Path) -> None:
    problems = record_problems(page)
    viewer = {"email": "night.viewer@example.org", "password": "quiet orbit lantern 7"}
    cli_user(
        seeded.env, ORGANISATION, viewer["email"], viewer["password"], "viewer", "Night Viewer"
    )

    # A viewer has no administration link.
    await page.goto(f"{seeded.base}/console/")
    await page.get_by_label("E-mail").fill(viewer["email"])
    await page.get_by_label("Password").fill(viewer["password"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#fleet-table")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_role("link", name="Admin")).to_be_hidden()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_label("E-mail")).to_be_visible(timeout=TIMEOUT_MS)

    await _log_in(page, seeded, opened=True)
    await page.get_by_role("link", name="Admin").click()
    with seeded.client() as api:
        users = api.get("/users").json()["items"]
        flags = api.get("/features").json()["items"]
        audit = api.get("/audit", params={"limit": 50}).json()["items"]
        verify = api.get("/audit/verify")
        me = api.get("/auth/me").json()
    users_shown = page.locator("#user-table tbody tr")
    await expect(users_shown).to_have_count(len(users), timeout=TIMEOUT_MS)
    for user in users:
        cell = page.locator(f"tr[data-user='{user['id']}'] td[data-role]")
        await expect(cell).to_have_attribute("data-role", user["role"])
    # Change a role and a runtime setting there: the API agrees, then put both back.
    role = page.get_by_label("Role of Night Viewer")
    await role.select_option("operator")
    night = next(u for u in users if u["email"] == viewer["email"])
    await expect(page.locator(f"tr[data-user='{night['id']}'] td[data-role]")).to_have_attribute(
        "data-role", "operator", timeout=TIMEOUT_MS
    )
    with seeded.client() as api:
        assert api.get(f"/users/{night['id']}").json()["role"] == "operator"
    await role.select_option("viewer")
    await expect(page.locator(f"tr[data-user='{night['id']}'] td[data-role]")).to_have_attribute(
        "data-role", "viewer", timeout=TIMEOUT_MS
    )
    with seeded.client() as api:
        page_size = api.get("/config").json()["page_size_default"]
    setting = page.get_by_label("Value of page_size_default")
    await expect(setting).to_have_value(str(page_size))
    await setting.fill(str(page_size + 7))
    await page.get_by_role("button", name="Save page_size_default").click()
    await expect(page.locator(".toast")).to_contain_text("page_size_default saved")
    with seeded.client() as api:
        assert api.get("/config").json()["page_size_default"] == page_size + 7
    await setting.fill(str(page_size))
    await page.get_by_role("button", name="Save page_size_default").click()
    with seeded.client() as api:
        for _ in range(50):
            if api.get("/config").json()["page_size_default"] == page_size:
                break
            await asyncio.sleep(0.1)
        assert api.get("/config").json()["page_size_default"] == page_size

    flag_rows = page.locator("#flag-table tbody tr")
    await expect(flag_rows).to_have_count(len(flags))
    for flag in flags:
        row = page.locator(f"tr[data-flag='{flag['key']}']")
        await expect(row).to_have_attribute("data-enabled", str(flag["enabled"]).lower())
    # The audit trail's newest entries as the API lists them (entries written after the
    # page read the trail, such as the refused verification, are not on the page yet).
    shown_ids = await page.locator("#audit-table tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.audit))"
    )
    older = [entry for entry in audit if entry["id"] <= shown_ids[0]]
    assert older and shown_ids[: len(older)] == [entry["id"] for entry in older]
    newest = page.locator(f"tr[data-audit='{older[0]['id']}']")
    await expect(newest).to_contain_text(older[0]["action"])
    # An organisation administrator may not verify the platform-wide chain: said so (the
    # page does not ask, which would only log a refusal).
    assert not me["is_platform_admin"] and verify.status_code == 403
    await expect(page.locator("#audit-verify")).to_contain_text("needs a platform administrator")

    # Toggle an organisational flag for the organisation and back: the API agrees each time.
    key = "ml-endpoints"
    before = next(f for f in flags if f["key"] == key)
    row = page.locator(f"tr[data-flag='{key}']")
    await row.get_by_role("button", name=f"Turn {'off' if before['enabled'] else 'on'}").click()
    await expect(row).to_have_attribute("data-source", "organisation", timeout=TIMEOUT_MS)
    with seeded.client() as api:
        after = next(f for f in api.get("/features").json()["items"] if f["key"] == key)
    assert after == {**before, "enabled": not before["enabled"], "source": "organisation"}
    await look(page, tmp_path, "admin")
    await row.get_by_role("button", name=f"Reset {key} to default").click()
    await expect(row).to_have_attribute("data-source", before["source"], timeout=TIMEOUT_MS)
    with seeded.client() as api:
        reset = next(f for f in api.get("/features").json()["items"] if f["key"] == key)
    assert reset == before
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_label("E-mail")).to_be_visible(timeout=TIMEOUT_MS)

    # A platform administrator sees the chain's verify status, as the API reports it.
    chief = {"email": "platform.chief@example.org", "password": "granite comet harbour 9"}
    cli_user(
        seeded.env,
        ORGANISATION,
        chief["email"],
        chief["password"],
        "admin",
        "Platform Chief",
        platform_admin=True,
    )
    await page.get_by_label("E-mail").fill(chief["email"])
    await page.get_by_label("Password").fill(chief["password"])
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("link", name="Admin").click()
    status = page.locator("#audit-verify")
    await expect(status).to_contain_text("entries and", timeout=TIMEOUT_MS)
    async with httpx.AsyncClient(cookies=await _cookies(page)) as client:
        report = (await client.get(f"{seeded.base}/api/v1/audit/verify")).json()
    await expect(status).to_contain_text("Chain verified" if report["ok"] else "Chain broken")
    shown = int((await status.inner_text()).split(" entries")[0].split()[-1])
    # Entries written between the page's check and this one only add to the count.
    assert 0 < shown <= report["entries_checked"]
    await status.scroll_into_view_if_needed()
    await look(page, tmp_path, "admin-platform")
    assert problems == []
