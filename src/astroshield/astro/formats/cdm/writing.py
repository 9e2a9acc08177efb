"""What both writers share: an object segment as its blocks, in the standard's order."""

from __future__ import annotations

from typing import Any

from astroshield.astro.formats.cdm.keywords import (
    ADD_SPECS,
    COV_SPECS,
    COVARIANCE_KEYWORDS,
    META_SPECS,
    OD_SPECS,
    STATE_SPECS,
    Spec,
)
from astroshield.astro.formats.cdm.model import CdmCovariance, CdmObject


class CovView:
    """Attribute view (``cr_r`` ...) of a covariance, so it is written like the other blocks."""

    def __init__(self, cov: CdmCovariance) -> None:
        self._values = dict(zip(COVARIANCE_KEYWORDS, cov.lower_triangle, strict=False))
        self.comments = cov.comments

    def __getattr__(self, name: str) -> float | None:
        return self._values.get(name.upper())


def object_parts(obj: CdmObject) -> list[tuple[str, tuple[Spec, ...], Any]]:
    """``(XML tag, keyword specs, values)`` of each block of ``obj`` that is present."""
    cov_specs = COV_SPECS[: len(obj.covariance.lower_triangle)]
    parts: list[tuple[str, tuple[Spec, ...], Any]] = [("metadata", META_SPECS, obj.metadata)]
    if obj.od_parameters is not None:
        parts.append(("odParameters", OD_SPECS, obj.od_parameters))
    if obj.additional_parameters is not None:
        parts.append(("additionalParameters", ADD_SPECS, obj.additional_parameters))
    parts.append(("stateVector", STATE_SPECS, obj.state))
    parts.append(("covarianceMatrix", cov_specs, CovView(obj.covariance)))
    return parts
