from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from astroshield.api.deps import SessionDep, SettingsDep, require_scope
from astroshield.api.schemas import UTCDatetime
from astroshield.api.side_effects import notify_after_commit
from astroshield.astro.ccdm.intent import ConjunctionInput
from astroshield.catalog.schemas import CatalogNumberPath
from astroshield.catalog.service import parse_catalog_number
from astroshield.ccdm import service
from astroshield.ccdm.schemas import (
    CadenceRead,
    DailyApproachRead,
    IndicatorRead,
    IntentRead,
    ManeuverEffectRead,
    ManeuverList,
    ManeuverRead,
    NeighbourRead,
    OutOfFamilyEventRead,
    PatternOfLifeRead,
    ProximityRead,
    ValueRangeRead,
)
from astroshield.errors import FieldError, InvalidInputError
from astroshield.features.catalogue import Flag
from astroshield.features.gate import require_feature
from astroshield.security.principal import Principal
from astroshield.security.scopes import Scope

router = APIRouter(prefix="/ccdm", tags=["ccdm"])
Reader = Annotated[Principal, Depends(require_scope(Scope.CCDM_READ))]

Days = Annotated[
    int | None,
    Query(description="analysis window in days before the newest element set (settings bound)"),
]


@router.get("/spacecraft/{spacecraft_id}/proximity")
async def get_proximity(
    spacecraft_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    days: Days = None,
) -> ProximityRead:
    """Objects sharing the spacecraft's plane and altitude band (and GEO slot), each with
    its daily closest approach, trend, closing rate and maneuvers toward/away."""
    config = service.config_from(settings)
    result = await service.proximity(session, principal, spacecraft_id, days, config)
    return ProximityRead(
        spacecraft_id=result.spacecraft.id,
        catalog_number=result.catalog_number,
        window_start=result.window_start,
        window_stop=result.window_stop,
        protected_element_set_epochs=list(result.protected_epochs),
        neighbours=[
            NeighbourRead(
                catalog_number=report.catalog_number,
                plane_angle_deg=neighbour.plane_angle_deg,
                altitude_gap_km=neighbour.altitude_gap_km,
                longitude_separation_deg=neighbour.longitude_separation_deg,
                trend=report.trend,
                slope_km_per_day=report.slope_km_per_day,
                closing_rate_km_per_day=report.closing_rate_km_per_day,
                closest_approach_km=report.closest_approach_km,
                closest_approach_time=report.closest_approach_time,
                maneuvered_toward=report.maneuvered_toward,
                maneuvered_away=report.maneuvered_away,
                daily=[DailyApproachRead.model_validate(day) for day in report.daily],
                maneuvers=[ManeuverEffectRead.model_validate(m) for m in report.maneuvers],
                element_set_epochs=list(report.neighbour_epochs),
            )
            for neighbour, report in result.neighbours
        ],
    )


@router.get("/objects/{catalog_number}/maneuvers")
async def get_maneuvers(
    catalog_number: CatalogNumberPath,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    start: UTCDatetime | None = None,
    stop: UTCDatetime | None = None,
) -> ManeuverList:
    """Maneuvers detected in the object's stored element-set history."""
    number = parse_catalog_number(catalog_number, ["path", "catalog_number"])
    config = service.config_from(settings)
    result = await service.maneuvers(session, principal, number, start, stop, config)
    epochs = service.sorted_epochs(result.history)
    return ManeuverList(
        catalog_number=number,
        start=result.start,
        stop=result.stop,
        element_set_count=len(epochs),
        sources=list(result.history.sources),
        maneuvers=[
            ManeuverRead(
                epoch=d.epoch,
                window_start=d.window_start,
                window_end=d.window_end,
                delta_v_m_s=d.delta_v_m_s,
                delta_v_in_plane_m_s=d.delta_v_in_plane_m_s,
                delta_v_out_of_plane_m_s=d.delta_v_out_of_plane_m_s,
                delta_a_km=d.delta_a_km,
                delta_inclination_deg=d.delta_inclination_deg,
                kind=d.kind,
                confidence=d.confidence,
                score=d.score,
                before_epoch=epochs[d.before_index],
                after_epoch=epochs[d.after_index],
            )
            for d in result.detections
        ],
    )


@router.get("/objects/{catalog_number}/pattern-of-life")
async def get_pattern_of_life(
    catalog_number: CatalogNumberPath, principal: Reader, session: SessionDep, settings: SettingsDep
) -> PatternOfLifeRead:
    """Baseline behaviour (maneuver cadence, GEO box and drift, element ranges) learned
    from the object's history, and the out-of-family events with their robust scores."""
    number = parse_catalog_number(catalog_number, ["path", "catalog_number"])
    pattern, history = await service.pattern_of_life(
        session, principal, number, service.config_from(settings)
    )

    def value_range(value: object) -> ValueRangeRead | None:
        return None if value is None else ValueRangeRead.model_validate(value)

    return PatternOfLifeRead(
        catalog_number=pattern.catalog_number,
        is_geo=pattern.is_geo,
        first_epoch=pattern.first_epoch,
        last_epoch=pattern.last_epoch,
        element_set_count=pattern.element_set_count,
        sources=list(history.sources),
        cadence=CadenceRead.model_validate(pattern.cadence),
        longitude_box_deg=value_range(pattern.longitude_box_deg),
        drift_rate_deg_per_day=value_range(pattern.drift_rate_deg_per_day),
        semi_major_axis_km=ValueRangeRead.model_validate(pattern.semi_major_axis_km),
        inclination_deg=ValueRangeRead.model_validate(pattern.inclination_deg),
        eccentricity=ValueRangeRead.model_validate(pattern.eccentricity),
        events=[OutOfFamilyEventRead.model_validate(event) for event in pattern.events],
    )


@router.get(
    "/spacecraft/{spacecraft_id}/intent/{catalog_number}",
    dependencies=[require_feature(Flag.CCDM_INTENT)],
)
async def get_intent(
    spacecraft_id: uuid.UUID,
    catalog_number: CatalogNumberPath,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    days: Days = None,
    miss_distance_km: Annotated[
        float | None,
        Query(
            ge=0, le=1e6, allow_inf_nan=False, description="conjunction miss distance, if screened"
        ),
    ] = None,
    pc: Annotated[float | None, Query(ge=0, le=1, description="conjunction Pc, if known")] = None,
    tca: Annotated[UTCDatetime | None, Query(description="conjunction TCA")] = None,
) -> IntentRead:
    """Intent category and score of the object relative to the spacecraft, with every
    indicator's measured value, threshold, weight and source data. A ``potential_threat``
    fires the organisation's ``ccdm-potential-threat`` alert (notifications after commit).

    The conjunction indicator uses ``miss_distance_km``/``pc``/``tca`` when given, else the
    latest open conjunction event of the pair (named in the indicator's ``source``)."""
    number = parse_catalog_number(catalog_number, ["path", "catalog_number"])
    conjunction = _conjunction(miss_distance_km, pc, tca)
    result = await service.intent(
        session,
        principal,
        spacecraft_id,
        number,
        days,
        conjunction,
        service.config_from(settings),
        datetime.now(UTC),
    )
    notify_after_commit(request, [result.notification] if result.notification else [])
    assessment = result.assessment
    return IntentRead(
        spacecraft_id=result.spacecraft.id,
        protected_catalog_number=result.protected_catalog_number,
        catalog_number=number,
        window_start=result.proximity.window_start,
        window_stop=result.proximity.window_stop,
        category=assessment.category,
        score=assessment.score,
        explanation=assessment.explanation,
        evidence=[IndicatorRead.model_validate(item) for item in assessment.evidence],
        threat_alert=result.threat_alert,
    )


def _conjunction(
    miss_distance_km: float | None, pc: float | None, tca: datetime | None
) -> ConjunctionInput | None:
    if miss_distance_km is None and pc is None and tca is None:
        return None
    if miss_distance_km is None or tca is None:
        missing = "miss_distance_km" if miss_distance_km is None else "tca"
        raise InvalidInputError(
            "a conjunction needs miss_distance_km and tca (pc optional)",
            errors=[FieldError(["query", missing], "required with the other conjunction fields")],
        )
    return ConjunctionInput(miss_distance_km=miss_distance_km, tca=tca, pc=pc, source="request")
