"""The hard-body radius through the API and the CLI (issue 21).

One real CARA CDM whose only size is ``COMMENT HBR = 15 [m]`` gives the same radius, source
and Pc through ``POST /conjunctions/cdms`` and ``astroshield pc``, and the Pc CARA wrote in
it. The request's radius wins over the spacecraft's, the spacecraft's over the CDM's, the
default comes last with a warning; another organisation's spacecraft radius is never used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from astroshield.cli import app as cli
from astroshield.config import Settings
from astroshield.organisations.models import Organisation
from tests.astro.paths import CDM_DATA
from tests.conftest import Factory

CARA_CDM = CDM_DATA / "000025994_conj_000026132_20220224_100307_20220221_225515.cdm"
TERRA, CZ4_DEB = "25994", "26132"
# The message's own COLLISION_PROBABILITY: CARA's Foster Pc at its combined HBR of 15 m,
# given to 4 digits (1.2125e-3 .. 1.2135e-3).
CARA_FOSTER_PC = 1.213e-3
PROBLEM = "application/problem+json"


def _without_hbr_comment() -> bytes:
    lines = CARA_CDM.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(b"COMMENT HBR")]
    assert len(kept) == len(lines) - 1
    return b"".join(kept)


async def _organisation_with(
    factory: Factory, *spacecraft: tuple[str, float | None]
) -> tuple[Organisation, dict[str, str]]:
    """An organisation owning a spacecraft per (catalog number, radius), and an analyst."""
    organisation = await factory.organisation()
    for number, radius in spacecraft:
        await factory.spacecraft(organisation, catalog_number=number, hard_body_radius_m=radius)
    return organisation, await factory.login(organisation, role="analyst")


async def _report(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes, query: str = ""
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conjunctions/cdms{query}",
        content=body,
        headers=headers | {"Content-Type": "text/plain"},
    )
    assert response.status_code == 201, response.text
    report: dict[str, Any] = response.json()["report"]
    assert response.json()["cdm"]["hbr_m"] == report["hbr_m"]
    return report


def _cli_report(path: Path, samples: int, *extra: str) -> tuple[dict[str, Any], str]:
    result = CliRunner().invoke(cli, ["pc", str(path), "--json", "--samples", str(samples), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def _same_numbers(api: dict[str, Any], local: dict[str, Any]) -> None:
    for key in ("hbr_m", "hbr_source", "pc_2d_foster", "pc_2d_chan", "pc_max", "pc_3d"):
        assert api[key] == local[key], key
    assert api["pc_mc"] == local["pc_mc"]  # same samples, same seed


async def test_api_and_cli_agree_on_a_real_cdm_with_a_commented_hbr(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    _, headers = await _organisation_with(factory, (TERRA, None))
    api = await _report(client, headers, CARA_CDM.read_bytes())
    local, warnings = _cli_report(CARA_CDM, settings.conjunction_pc_mc_samples)
    assert (api["hbr_m"], api["hbr_source"]) == (15.0, "cdm:COMMENT HBR")
    _same_numbers(api, local)
    assert api["pc_2d_foster"] == pytest.approx(CARA_FOSTER_PC, abs=0.5e-6)
    assert api["cdm_collision_probability"] == CARA_FOSTER_PC
    assert not any("hard-body radius" in issue for issue in api["issues"])
    assert "hard-body radius" not in warnings


async def test_api_and_cli_agree_on_the_default_and_both_warn(
    client: httpx.AsyncClient, factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    body = _without_hbr_comment()
    path = tmp_path / "no_hbr.cdm"
    path.write_bytes(body)
    _, headers = await _organisation_with(factory, (TERRA, None))
    api = await _report(client, headers, body)
    local, warnings = _cli_report(path, settings.conjunction_pc_mc_samples)
    default = settings.conjunction_default_hbr_m
    assert (api["hbr_m"], api["hbr_source"]) == (default, "default")
    _same_numbers(api, local)
    assert any("default 20 m was used" in issue for issue in api["issues"])
    assert "default 20 m was used" in warnings
    # The 20 m default instead of CARA's 15 m overstates this Pc (25 m miss) 2.5 times.
    assert api["pc_2d_foster"] > 2 * CARA_FOSTER_PC


async def test_request_radius_wins_through_api_and_cli(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    _, headers = await _organisation_with(factory, (TERRA, 6.0))
    api = await _report(client, headers, CARA_CDM.read_bytes(), "?hbr_m=9.5")
    local, _ = _cli_report(CARA_CDM, settings.conjunction_pc_mc_samples, "--hbr-m", "9.5")
    assert (api["hbr_m"], api["hbr_source"]) == (9.5, "request")
    _same_numbers(api, local)


async def test_spacecraft_radius_wins_over_the_cdm(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, alone = await _organisation_with(factory, (TERRA, 6.0))
    report = await _report(client, alone, CARA_CDM.read_bytes())
    assert (report["hbr_m"], report["hbr_source"]) == (6.0, "spacecraft:25994")
    # The secondary registered by the same organisation, with a radius: the radii are summed.
    _, both = await _organisation_with(factory, (TERRA, 6.0), (CZ4_DEB, 1.5))
    report = await _report(client, both, CARA_CDM.read_bytes())
    assert (report["hbr_m"], report["hbr_source"]) == (7.5, "spacecraft:25994+26132")


async def test_another_organisations_radius_is_never_used(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # Another organisation registers both objects with radii; ours has TERRA without one.
    await _organisation_with(factory, (TERRA, 40.0), (CZ4_DEB, 30.0))
    _, headers = await _organisation_with(factory, (TERRA, None))
    report = await _report(client, headers, CARA_CDM.read_bytes())
    assert (report["hbr_m"], report["hbr_source"]) == (15.0, "cdm:COMMENT HBR")
    # Ours has a radius, theirs registers the secondary with one: only ours counts.
    _, mine = await _organisation_with(factory, (TERRA, 6.0))
    report = await _report(client, mine, CARA_CDM.read_bytes())
    assert (report["hbr_m"], report["hbr_source"]) == (6.0, "spacecraft:25994")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1000.5", "twenty"])
async def test_a_bad_requested_radius_is_a_422_naming_it(
    client: httpx.AsyncClient, factory: Factory, value: str
) -> None:
    _, headers = await _organisation_with(factory, (TERRA, None))
    response = await client.post(
        f"/api/v1/conjunctions/cdms?hbr_m={value}",
        content=CARA_CDM.read_bytes(),
        headers=headers | {"Content-Type": "text/plain"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert ["query", "hbr_m"] in [error["loc"] for error in response.json()["errors"]]


@pytest.mark.parametrize("value", ["0", "-1", "1000.5"])
def test_a_bad_requested_radius_is_a_one_line_cli_error(value: str) -> None:
    result = CliRunner().invoke(cli, ["pc", str(CARA_CDM), f"--hbr-m={value}"])
    assert result.exit_code == 2
    assert result.stderr.startswith("astroshield: error: --hbr-m:")
    assert "Traceback" not in result.output
