"""The combined hard-body radius: one rule (request, spacecraft, CDM, default), its sources,
and the ``COMMENT HBR`` forms of CARA-distributed CDMs."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from tests.astro.paths import CDM_DATA

from astroshield.astro.conjunction.hard_body import (
    HbrInputs,
    SpacecraftRadius,
    hard_body_radius,
)
from astroshield.astro.formats import cdm as cdm_mod
from astroshield.astro.formats.cdm import Cdm, CdmAdditionalParameters
from astroshield.astro.formats.cdm.hbr_comment import commented_hbr

# A real CARA CDM (tests/data/cdm/README.md) whose only size is "COMMENT HBR = 15 [m]".
CARA_CDM = CDM_DATA / "000025994_conj_000026132_20220224_100307_20220221_225515.cdm"

PRIMARY = SpacecraftRadius("25994", 6.0)
SECONDARY = SpacecraftRadius("26132", 1.5)


@pytest.fixture(scope="module")
def commented() -> Cdm:
    return cdm_mod.read_cdm(CARA_CDM)


def _with_keywords(message: Cdm, first: float | None, second: float | None) -> Cdm:
    """The message with CDM 2.0 HBR keywords (None: no additional parameters)."""

    def sized(obj: cdm_mod.CdmObject, hbr: float | None) -> cdm_mod.CdmObject:
        add = None if hbr is None else CdmAdditionalParameters(hbr_m=hbr)
        return replace(obj, additional_parameters=add)

    return replace(
        message, object1=sized(message.object1, first), object2=sized(message.object2, second)
    )


def _without_comment(message: Cdm) -> Cdm:
    meta = replace(message.object1.metadata, comments=())
    return replace(message, object1=replace(message.object1, metadata=meta))


# ------------------------------------------------------------------------- precedence


def test_request_wins_over_everything(commented: Cdm) -> None:
    message = _with_keywords(commented, 4.0, 3.0)
    got = hard_body_radius(
        message, HbrInputs(requested_m=2.5, primary=PRIMARY, secondary=SECONDARY, default_m=20.0)
    )
    assert (got.value_m, got.source, got.warnings) == (2.5, "request", ())


def test_spacecraft_wins_over_the_cdm_and_the_default(commented: Cdm) -> None:
    message = _with_keywords(commented, 4.0, 3.0)
    both = hard_body_radius(
        message, HbrInputs(primary=PRIMARY, secondary=SECONDARY, default_m=20.0)
    )
    # CARA's rule: the sum of the two spheres' radii.
    assert (both.value_m, both.source) == (7.5, "spacecraft:25994+26132")
    alone = hard_body_radius(message, HbrInputs(primary=PRIMARY, default_m=20.0))
    assert (alone.value_m, alone.source) == (6.0, "spacecraft:25994")
    assert both.warnings == alone.warnings == ()


def test_a_secondary_radius_alone_is_not_a_combined_radius(commented: Cdm) -> None:
    got = hard_body_radius(commented, HbrInputs(secondary=SECONDARY, default_m=20.0))
    assert (got.value_m, got.source) == (15.0, "cdm:COMMENT HBR")


def test_cdm_keywords_win_over_the_comment_and_the_default(commented: Cdm) -> None:
    got = hard_body_radius(_with_keywords(commented, 4.0, 3.0), HbrInputs(default_m=20.0))
    assert (got.value_m, got.source) == (7.0, "cdm:HBR+HBR")


def test_cdm_comment_wins_over_the_default(commented: Cdm) -> None:
    got = hard_body_radius(commented, HbrInputs(default_m=20.0))
    assert (got.value_m, got.source, got.warnings) == (15.0, "cdm:COMMENT HBR", ())


def test_keywords_of_one_object_only_fall_through_to_the_comment(commented: Cdm) -> None:
    got = hard_body_radius(_with_keywords(commented, 4.0, None), HbrInputs(default_m=20.0))
    assert got.source == "cdm:COMMENT HBR"


def test_default_is_last_and_warns(commented: Cdm) -> None:
    got = hard_body_radius(_without_comment(commented), HbrInputs(default_m=20.0))
    assert (got.value_m, got.source) == (20.0, "default")
    assert len(got.warnings) == 1
    assert "default 20 m" in got.warnings[0]


def test_nothing_at_all_is_a_clear_error(commented: Cdm) -> None:
    with pytest.raises(ValueError, match="no hard-body radius"):
        hard_body_radius(_without_comment(commented), HbrInputs())


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan, 1000.5])
def test_an_unusable_request_is_refused(commented: Cdm, bad: float) -> None:
    with pytest.raises(ValueError, match="request: hard-body radius must be positive"):
        hard_body_radius(commented, HbrInputs(requested_m=bad, default_m=20.0))


def test_area_keywords_give_equal_area_radii(commented: Cdm) -> None:
    # AREA_PC wins over AREA_PC_MAX; a NaN AREA_PC (CARA writes NaN for unknown sizes) is
    # absent, so AREA_PC_MAX (the conservative bound) is used.
    first = replace(
        commented.object1,
        additional_parameters=CdmAdditionalParameters(
            area_pc_m2=math.pi * 4.0, area_pc_max_m2=math.pi * 100.0
        ),
    )
    second = replace(
        commented.object2,
        additional_parameters=CdmAdditionalParameters(
            area_pc_m2=math.nan, area_pc_max_m2=math.pi * 9.0
        ),
    )
    got = hard_body_radius(replace(commented, object1=first, object2=second), HbrInputs())
    assert got.source == "cdm:AREA_PC+AREA_PC_MAX"
    assert got.value_m == pytest.approx(2.0 + 3.0, rel=1e-14)


# ----------------------------------------------------------------- COMMENT HBR forms


def _commented(message: Cdm, *comments: str) -> Cdm:
    meta = replace(message.object1.metadata, comments=comments)
    return replace(message, object1=replace(message.object1, metadata=meta))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HBR = 15 [m]", 15.0),  # DataFiles/PcTestCaseCDMs (real CARA CDMs)
        ("HBR                        = 20.0", 20.0),  # CARA unit-test CDMs: no unit
        ("HBR = 20.0 [m]", 20.0),  # CARA's MATLAB CDM writer: '%.1f' with '[m]'
        ("HBR=7.5[m]", 7.5),
        ("hbr = 3 [M]", 3.0),
    ],
)
def test_comment_forms(commented: Cdm, text: str, expected: float) -> None:
    reading = commented_hbr(_commented(commented, "SCREENING_OPTION = Covariance", text))
    assert reading.value_m == expected
    assert reading.problem is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("HBR = 0.02 [km]", "unit [km] is not [m]"),
        ("HBR = NaN", "not a positive radius"),
        ("HBR = -3 [m]", "not a positive radius"),
        ("HBR = twenty [m]", "'twenty' is not a number"),
    ],
)
def test_unusable_comments_are_reported_and_fall_to_the_default(
    commented: Cdm, text: str, why: str
) -> None:
    message = _commented(commented, text)
    assert commented_hbr(message).value_m is None
    got = hard_body_radius(message, HbrInputs(default_m=20.0))
    assert got.source == "default"
    assert why in got.warnings[0]


def test_comments_that_are_not_hbr_are_ignored(commented: Cdm) -> None:
    message = _commented(commented, "HBR_NOTE = 15 [m]", "EXCLUSION_VOLUME_RADIUS = 5 [m]")
    assert commented_hbr(message).value_m is None
    assert commented_hbr(message).problem is None


def test_a_comment_in_the_secondary_section_is_not_the_combined_radius(commented: Cdm) -> None:
    message = _without_comment(commented)
    meta = replace(message.object2.metadata, comments=("HBR = 15 [m]",))
    message = replace(message, object2=replace(message.object2, metadata=meta))
    assert commented_hbr(message).value_m is None


def test_the_real_cdm_comment_is_read_from_kvn(commented: Cdm) -> None:
    # In the file the comment stands between the relative data and OBJECT = OBJECT1; the KVN
    # reader keeps it with OBJECT1's metadata.
    assert "HBR = 15 [m]" in commented.object1.metadata.comments
    assert commented_hbr(commented).value_m == 15.0


def test_the_comment_survives_xml(commented: Cdm, tmp_path: object) -> None:
    # In XML the comment is written where the message keeps it and read back from there.
    xml = cdm_mod.dumps_xml(commented)
    assert commented_hbr(cdm_mod.loads_xml(xml)).value_m == 15.0
