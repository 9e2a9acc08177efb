"""The combined hard-body radius (HBR) of a conjunction, and where it came from.

Pc is very sensitive to the HBR (about quadratic while the HBR is small against the
covariance), and CDM 1.0 has no keyword for it, so the radius and its source are chosen by
one rule, :func:`hard_body_radius`, used by the API and the CLI alike. The first step that
gives a value wins:

1. **request** (``"request"``): the combined HBR the caller asks for (``hbr_m`` of
   ``POST /conjunctions/cdms``, ``--hbr-m`` of ``astroshield pc``).
2. **spacecraft** (``"spacecraft:<primary>"`` or ``"spacecraft:<primary>+<secondary>"``, by
   catalog number): the ``hard_body_radius_m`` of the organisation's spacecraft in the
   conjunction. As CARA does, each object is a sphere and the combined HBR is the *sum* of
   the two radii. The secondary's radius is added when the secondary is itself a spacecraft
   of the same organisation with a radius; the catalog stores no size (no RCS), so for any
   other secondary our spacecraft's radius is used alone, and an operator who wants an
   allowance for unknown secondaries includes it in that radius. Without a radius on our
   spacecraft this step gives nothing (a secondary's radius alone is not a combined HBR).
3. **CDM** (``"cdm:…"``): both objects' sizes from the CDM 2.0 additional parameters (HBR,
   else the equal-area radius of AREA_PC, else of AREA_PC_MAX), summed: ``"cdm:HBR+HBR"``,
   ``"cdm:AREA_PC+HBR"``, …; else the combined radius of CARA's ``COMMENT HBR = … [m]``
   (``"cdm:COMMENT HBR"``, see :mod:`astroshield.astro.formats.cdm.hbr_comment`).
4. **default** (``"default"``): the configured default (``conjunction_default_hbr_m``, 20 m),
   with a warning that says so.

Every radius used must be positive, finite and at most :data:`MAX_COMBINED_HBR_M`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from astroshield.astro.formats.cdm import Cdm
from astroshield.astro.formats.cdm.hbr_comment import commented_hbr

__all__ = [
    "MAX_COMBINED_HBR_M",
    "HardBodyRadius",
    "HbrInputs",
    "SpacecraftRadius",
    "combined_hbr_m",
    "hard_body_radius",
]

# A combined radius beyond a kilometre is a unit mistake, not a spacecraft (the ISS, the
# largest, spans about 110 m).
MAX_COMBINED_HBR_M = 1000.0


@dataclass(frozen=True, slots=True)
class SpacecraftRadius:
    """A registered spacecraft's own hard-body radius (m), named by its catalog number."""

    catalog_number: str
    radius_m: float


@dataclass(frozen=True, slots=True)
class HbrInputs:
    """Everything the HBR may come from besides the CDM, one field per step."""

    requested_m: float | None = None
    primary: SpacecraftRadius | None = None
    secondary: SpacecraftRadius | None = None
    default_m: float | None = None


@dataclass(frozen=True, slots=True)
class HardBodyRadius:
    """The combined HBR (m), its source (see the module) and warnings about the choice."""

    value_m: float
    source: str
    warnings: tuple[str, ...] = ()


def _checked(value: float, what: str) -> float:
    if not math.isfinite(value) or not 0.0 < value <= MAX_COMBINED_HBR_M:
        raise ValueError(
            f"{what}: hard-body radius must be positive, finite and at most "
            f"{MAX_COMBINED_HBR_M:g} m, got {value!r} m"
        )
    return float(value)


def combined_hbr_m(cdm: Cdm) -> tuple[float, str] | None:
    """Combined HBR (m) from the CDM 2.0 keywords and its source, if both objects give a size."""
    s1 = cdm.object1.hard_body_radius_m()
    s2 = cdm.object2.hard_body_radius_m()
    if s1 is None or s2 is None:
        return None
    return s1[0] + s2[0], f"cdm:{s1[1]}+{s2[1]}"


def _from_spacecraft(inputs: HbrInputs) -> HardBodyRadius | None:
    primary, secondary = inputs.primary, inputs.secondary
    if primary is None:
        return None
    if secondary is None:
        value = _checked(primary.radius_m, f"spacecraft {primary.catalog_number}")
        return HardBodyRadius(value, f"spacecraft:{primary.catalog_number}")
    value = _checked(
        primary.radius_m + secondary.radius_m,
        f"spacecraft {primary.catalog_number}+{secondary.catalog_number}",
    )
    return HardBodyRadius(value, f"spacecraft:{primary.catalog_number}+{secondary.catalog_number}")


def _from_cdm(cdm: Cdm) -> tuple[HardBodyRadius | None, tuple[str, ...]]:
    keywords = combined_hbr_m(cdm)
    if keywords is not None:
        return HardBodyRadius(_checked(keywords[0], keywords[1]), keywords[1]), ()
    comment = commented_hbr(cdm)
    notes = (comment.problem,) if comment.problem else ()
    if comment.value_m is None:
        return None, notes
    source = "cdm:COMMENT HBR"
    return HardBodyRadius(_checked(comment.value_m, source), source, notes), ()


def hard_body_radius(cdm: Cdm, inputs: HbrInputs) -> HardBodyRadius:
    """The combined HBR of ``cdm``: request, spacecraft, CDM, default (see the module).

    Raises :class:`ValueError` for a radius that is not positive, finite and at most
    :data:`MAX_COMBINED_HBR_M`, and when no step gives one (no default configured).
    """
    if inputs.requested_m is not None:
        return HardBodyRadius(_checked(inputs.requested_m, "request"), "request")
    from_spacecraft = _from_spacecraft(inputs)
    if from_spacecraft is not None:
        return from_spacecraft
    from_cdm, notes = _from_cdm(cdm)
    if from_cdm is not None:
        return from_cdm
    if inputs.default_m is None:
        raise ValueError(
            "no hard-body radius: none was requested, no spacecraft radius is registered, "
            "the CDM gives none (HBR, AREA_PC or COMMENT HBR) and no default is configured"
        )
    value = _checked(inputs.default_m, "default")
    warning = (
        f"hard-body radius: the default {value:g} m was used (none requested, no spacecraft "
        "radius registered, none in the CDM); Pc depends strongly on it"
    )
    return HardBodyRadius(value, "default", (*notes, warning))
