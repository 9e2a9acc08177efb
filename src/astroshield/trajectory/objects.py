"""Which element set an analysis uses: TLE lines or OMM fields of the request, or a catalog
object's set (by catalog number or one of the caller's spacecraft), as the caller's
organisation sees the catalog (its own overlay takes part, no one else's)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import OMMError, parse_omm_json
from astroshield.astro.formats.tle import TLEError, parse_tle
from astroshield.catalog.models import ElementSetRecord
from astroshield.catalog.service import (
    element_set_in_force,
    object_detail,
    parse_catalog_number,
    to_element_set,
    visible_element_set,
)
from astroshield.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from astroshield.security.principal import Principal
from astroshield.spacecraft.service import get_spacecraft
from astroshield.trajectory.schemas import ObjectSource, OmmScalar, TleInput


def elements_from_input(tle: TleInput | None, omm: dict[str, OmmScalar] | None) -> ElementSet:
    """The element set of a request body, or a 422 naming the TLE line/columns or OMM key."""
    if tle is not None:
        try:
            return parse_tle(tle.line1, tle.line2, tle.name).elements
        except TLEError as error:
            field = f"line{error.line}" if error.line in (1, 2) else "name"
            raise InvalidInputError(
                f"invalid TLE: {error}", errors=[FieldError(["body", "tle", field], str(error))]
            ) from None
    if omm is not None:
        try:
            (elements,) = parse_omm_json(json.dumps(omm))
        except OMMError as error:
            loc = ["body", "omm", *([error.keyword] if error.keyword else [])]
            raise InvalidInputError(
                f"invalid OMM: {error}", errors=[FieldError(loc, error.reason)]
            ) from None
        return elements
    raise InvalidInputError(
        "no element set given", errors=[FieldError(["body"], "give tle or omm")]
    )


@dataclass(frozen=True)
class Resolved:
    """The element set an analysis uses and, when it came from the catalog, its id."""

    elements: ElementSet
    element_set_id: int | None = None


async def _chosen_set(
    session: AsyncSession, principal: Principal, number: str, set_id: int, loc: list[str]
) -> ElementSetRecord:
    record = await visible_element_set(session, principal.organisation_id, set_id)
    if record is None or record.catalog_number != number:
        raise NotFoundError(
            f"element set {set_id} is not one of catalog object {number}'s sets "
            f"(GET /api/v1/catalog/objects/{number}/element-sets lists them)",
            errors=[FieldError(loc, f"no such set of {number}")],
        )
    return record


async def catalog_elements(
    session: AsyncSession,
    principal: Principal,
    catalog_number: str,
    element_set_id: int | None,
    *,
    loc: list[str],
    set_loc: list[str] | None = None,
) -> Resolved:
    """The object's chosen set, or the newest set the caller's organisation's analyses use
    (as ``GET /catalog/objects/{n}`` shows it); 404 naming ``loc`` when there is none."""
    number = parse_catalog_number(catalog_number, loc)
    if element_set_id is not None:
        where = set_loc or [loc[0], "element_set_id"]
        record = await _chosen_set(session, principal, number, element_set_id, where)
        return Resolved(to_element_set(record), record.id)
    try:
        latest = (await object_detail(session, principal, number)).latest
    except NotFoundError as error:
        raise NotFoundError(error.detail, errors=[FieldError(loc, "not in the catalog")]) from None
    if latest is None:
        raise NotFoundError(
            f"the catalog holds no element set for {number}; "
            "import one (POST /api/v1/catalog/element-sets) first",
            errors=[FieldError(loc, "has no element set")],
        )
    return Resolved(to_element_set(latest), latest.id)


async def spacecraft_elements(
    session: AsyncSession,
    principal: Principal,
    spacecraft_id: uuid.UUID,
    element_set_id: int | None,
    *,
    loc: list[str],
    set_loc: list[str] | None = None,
) -> Resolved:
    """:func:`catalog_elements` of one of the caller's spacecraft's catalog number (another
    organisation's spacecraft is not found; one without a number is a 422 naming ``loc``)."""
    spacecraft = await get_spacecraft(session, principal.organisation_id, spacecraft_id)
    if not spacecraft.catalog_number:
        raise InvalidInputError(
            f"spacecraft {spacecraft_id} has no catalog number, so no element set; set it "
            f'with PATCH /api/v1/spacecraft/{spacecraft_id} {{"catalog_number": "..."}}',
            errors=[FieldError(loc, "the spacecraft has no catalog number")],
        )
    return await catalog_elements(
        session, principal, spacecraft.catalog_number, element_set_id, loc=loc, set_loc=set_loc
    )


async def resolve_source(
    session: AsyncSession, principal: Principal, source: ObjectSource
) -> Resolved:
    """The element set of a request body's source (TLE lines, OMM fields, a catalog number
    or a spacecraft; not a state vector); ``element_set_id`` only goes with a catalog
    number or a spacecraft."""
    from_catalog = source.catalog_number is not None or source.spacecraft_id is not None
    if source.element_set_id is not None and not from_catalog:
        raise InvalidInputError(
            "element_set_id chooses a set of a catalog_number or spacecraft_id",
            errors=[FieldError(["body", "element_set_id"], "give catalog_number or spacecraft_id")],
        )
    if source.catalog_number is not None:
        return await catalog_elements(
            session,
            principal,
            source.catalog_number,
            source.element_set_id,
            loc=["body", "catalog_number"],
        )
    if source.spacecraft_id is not None:
        return await spacecraft_elements(
            session,
            principal,
            source.spacecraft_id,
            source.element_set_id,
            loc=["body", "spacecraft_id"],
        )
    return Resolved(elements_from_input(source.tle, source.omm))


async def spacecraft_element_set(
    session: AsyncSession, principal: Principal, spacecraft_id: uuid.UUID, at: datetime
) -> ElementSet:
    """The element set in force at ``at`` for one of the caller's spacecraft, as its
    organisation sees the catalog (its own overlay takes part, no one else's)."""
    organisation_id = principal.organisation_id
    spacecraft = await get_spacecraft(session, organisation_id, spacecraft_id)
    if not spacecraft.catalog_number:
        raise ConflictError(
            f"spacecraft {spacecraft_id} has no catalog number, so no element set to propagate",
            errors=[FieldError(["catalog_number"], "set the spacecraft's catalog number")],
        )
    record = await element_set_in_force(session, organisation_id, spacecraft.catalog_number, at)
    if record is None:
        raise ConflictError(
            f"the catalog holds no element set for {spacecraft.catalog_number}; "
            "import one (POST /api/v1/catalog/element-sets) first"
        )
    return to_element_set(record)
