from __future__ import annotations

import heapq
import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from astroshield.astro.dynamics import orbit
from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import format_omm_json
from astroshield.astro.formats.tle import TLE, TLEError, format_tle
from astroshield.astro.ids import IdentifierError, normalize_catalog_number
from astroshield.audit.service import Actor, record
from astroshield.catalog.formats import (
    ParsedUpload,
    Rejection,
    UploadProblem,
    parse_upload,
    refuse,
)
from astroshield.catalog.models import (
    CatalogObject,
    CatalogOverlayObject,
    ElementSetRecord,
    Provenance,
)
from astroshield.catalog.repository import CatalogFilter, CatalogRepository, numeric_order
from astroshield.db import utcnow
from astroshield.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from astroshield.observability.domain_metrics import (
    CATALOG_ELEMENT_SETS_IMPORTED,
    count_after_commit,
)
from astroshield.observability.tracing import annotate, span
from astroshield.security.principal import Principal
from astroshield.spacecraft.models import Spacecraft
from astroshield.spacecraft.service import spacecraft_with_catalog_number

IMPORT_CHUNK_SIZE = 1_000
MAX_NAME_LENGTH = 128  # catalog_objects.name / catalog_element_sets.object_name
MINUTES_PER_DAY = 1_440.0

_ELEMENT_FIELDS = tuple(item.name for item in fields(ElementSet))
_DESIGNATOR_PREFIX_RE = re.compile(r"^\d{4}(-[0-9A-Z]{0,6})?$")


# An object as a reader sees it: the public summary, or (for its owner only) the summary of
# an object known only from the reader's overlay.
ObjectSummary = CatalogObject | CatalogOverlayObject


@dataclass(frozen=True, slots=True)
class Origin:
    """Where imported sets come from and who sees them: public (``organisation_id`` None)
    or the overlay of the organisation that sent them. An organisation's upload becomes
    public only by :func:`publish_element_set`."""

    provenance: Provenance
    uploaded_by: str
    organisation_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if (self.provenance is Provenance.ORGANISATION) != (self.organisation_id is not None):
            raise ValueError("organisation uploads, and only they, are an organisation's overlay")

    @classmethod
    def overlay(cls, organisation_id: uuid.UUID, uploaded_by: str) -> Origin:
        return cls(Provenance.ORGANISATION, uploaded_by, organisation_id)

    @classmethod
    def public(cls, provenance: Provenance, uploaded_by: str) -> Origin:
        return cls(provenance, uploaded_by)


@dataclass(slots=True)
class ImportResult:
    """``skipped``: sets of an upload that could not be read (or stored), never attempted;
    ``rejected``: sets the bulk import refused to store."""

    inserted: int = 0
    already_present: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[UploadProblem] = field(default_factory=list)

    @property
    def received(self) -> int:
        return self.inserted + self.already_present + len(self.rejected) + len(self.skipped)


@dataclass(frozen=True, slots=True)
class OrbitSummary:
    regime: orbit.Regime
    perigee_altitude_km: float
    apogee_altitude_km: float
    inclination_deg: float
    period_min: float


@dataclass(frozen=True, slots=True)
class ObjectDetail:
    catalog_object: ObjectSummary
    latest: ElementSetRecord | None
    element_set_count: int
    spacecraft: Sequence[Spacecraft]


# ---------------------------------------------------------------------- conversions


def to_element_set(record: ElementSetRecord) -> ElementSet:
    """The stored set as the astro library's element set (exactly the values imported)."""
    return ElementSet(**{name: getattr(record, name) for name in _ELEMENT_FIELDS})


def orbit_summary(elements: ElementSet) -> OrbitSummary:
    """Two-body apsides and period from the mean motion (Kepler's third law), as catalogs
    such as CelesTrak's SATCAT report them; good to a few km, enough for filtering."""
    a_km = orbit.semi_major_axis_from_mean_motion(elements.mean_motion_rev_per_day)
    return OrbitSummary(
        regime=orbit.regime(a_km, elements.eccentricity, elements.inclination_deg),
        perigee_altitude_km=a_km * (1 - elements.eccentricity) - orbit.EARTH_EQUATORIAL_RADIUS_KM,
        apogee_altitude_km=a_km * (1 + elements.eccentricity) - orbit.EARTH_EQUATORIAL_RADIUS_KM,
        inclination_deg=elements.inclination_deg,
        period_min=MINUTES_PER_DAY / elements.mean_motion_rev_per_day,
    )


def object_type_from_name(name: str | None) -> str | None:
    """Object type where the catalog name says it: 18 SDS names rocket bodies ``R/B`` and
    debris ``DEB``; a payload cannot be told from its name, so anything else is unknown."""
    if not name:
        return None
    words = set(re.split(r"[\s()\[\]]+", name.upper()))
    if "R/B" in words:
        return "ROCKET BODY"
    if "DEB" in words:
        return "DEBRIS"
    return None


def tle_of(elements: ElementSet) -> TLE | None:
    """The set as TLE lines, or None when its catalog number does not fit the TLE field."""
    try:
        return format_tle(elements)
    except TLEError:
        return None


def omm_fields_of(elements: ElementSet) -> dict[str, Any]:
    """CelesTrak GP JSON keywords of the set, as the OMM writer produces them."""
    record: dict[str, Any] = json.loads(format_omm_json([elements]))[0]
    return record


def storage_problem(elements: ElementSet) -> str | None:
    """Why a valid element set still cannot be stored, or None."""
    if elements.object_name is not None and len(elements.object_name) > MAX_NAME_LENGTH:
        return f"object name is longer than {MAX_NAME_LENGTH} characters"
    return None


# -------------------------------------------------------------------------- import


def _batched(items: Iterable[ElementSet], size: int) -> Iterator[list[ElementSet]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _object_row(elements: ElementSet, now: datetime) -> dict[str, Any]:
    summary = orbit_summary(elements)
    return {
        "catalog_number": elements.catalog_number,
        "object_id": elements.object_id,
        "name": elements.object_name,
        "object_type": object_type_from_name(elements.object_name),
        "epoch": elements.epoch,
        "regime": summary.regime.value,
        "perigee_altitude_km": summary.perigee_altitude_km,
        "apogee_altitude_km": summary.apogee_altitude_km,
        "inclination_deg": summary.inclination_deg,
        "period_min": summary.period_min,
        "created_at": now,
        "updated_at": now,
    }


def _element_set_row(
    elements: ElementSet, source: str, origin: Origin, now: datetime
) -> dict[str, Any]:
    row = {name: getattr(elements, name) for name in _ELEMENT_FIELDS}
    row["source"] = source
    row["imported_at"] = now
    row["provenance"] = origin.provenance.value
    row["organisation_id"] = origin.organisation_id
    row["uploaded_by"] = origin.uploaded_by[:64]
    row["published_at"] = None
    row["published_by"] = None
    return row


@span("catalog.import")
async def import_element_sets(
    session: AsyncSession,
    sets: Iterable[ElementSet],
    source: str,
    origin: Origin,
    *,
    chunk_size: int = IMPORT_CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Store element sets not stored yet, public or into one organisation's overlay as
    ``origin`` says; idempotent on (catalog_number, epoch) within the public catalog or
    within that overlay.

    Writes in chunks of ``chunk_size`` within the caller's transaction (the caller commits);
    ``progress`` is called with the number of sets handled after each chunk. A public
    object's orbit summary follows its newest public set; an overlay set only updates its
    organisation's overlay summary.
    """
    repository = CatalogRepository(session, origin.organisation_id)
    result = ImportResult()
    source = source[:64]
    now = utcnow()
    for chunk in _batched(sets, chunk_size):
        unique: dict[tuple[str, datetime], ElementSet] = {}
        newest: dict[str, ElementSet] = {}
        for elements in chunk:
            problem = storage_problem(elements)
            if problem is not None:
                where = f"{source}: {elements.catalog_number} at {elements.epoch.isoformat()}"
                result.rejected.append(Rejection(where, problem))
                continue
            key = (elements.catalog_number, elements.epoch)
            if key in unique:
                result.already_present += 1  # repeated within the input itself
                continue
            unique[key] = elements
            known = newest.get(elements.catalog_number)
            if known is None or elements.epoch > known.epoch:
                newest[elements.catalog_number] = elements
        objects = [_object_row(item, now) for item in newest.values()]
        if origin.organisation_id is None:
            await repository.upsert_objects(objects)
        else:
            for row in objects:
                row["organisation_id"] = origin.organisation_id
            await repository.upsert_overlay_objects(objects)
        inserted = await repository.insert_element_sets(
            [_element_set_row(item, source, origin, now) for item in unique.values()],
            origin.organisation_id,
        )
        result.inserted += len(inserted)
        result.already_present += len(unique) - len(inserted)
        if progress is not None:
            progress(len(chunk))
    catalog = "public" if origin.organisation_id is None else "overlay"
    count_after_commit(session, CATALOG_ELEMENT_SETS_IMPORTED.labels(catalog), result.inserted)
    annotate(catalog=catalog, inserted=result.inserted, rejected=len(result.rejected))
    return result


def upload_origin(principal: Principal, *, public: bool) -> Origin:
    """Where a caller's upload goes: its organisation's overlay, or (``public``, for
    platform administrators) the public catalog as a platform import."""
    if public:
        return Origin.public(Provenance.PLATFORM, str(principal.user_id))
    return Origin.overlay(principal.organisation_id, str(principal.user_id))


async def import_upload(
    session: AsyncSession,
    principal: Principal,
    body: bytes,
    media_type: str,
    *,
    public: bool,
    actor: Actor,
    strict: bool = False,
) -> ImportResult:
    """Import the readable sets of a request body; each unreadable (or unstorable) one is
    skipped and reported with its line. A body with no usable set, or with ``strict`` any
    bad set, is refused (422) before any write."""
    origin = upload_origin(principal, public=public)
    parsed = parse_upload(body, media_type, strict=strict)
    sets, skipped = _storable(parsed, strict=strict)
    result = await import_element_sets(session, sets, f"upload:{media_type}", origin)
    result.skipped = skipped
    await record(
        session,
        actor.event(
            "catalog.element_sets_imported",
            object_type="catalog",
            visibility="overlay" if origin.organisation_id is not None else "public",
            provenance=origin.provenance.value,
            received=result.received,
            inserted=result.inserted,
            already_present=result.already_present,
            skipped=len(result.skipped),
        ),
    )
    return result


def _storable(
    parsed: ParsedUpload, *, strict: bool
) -> tuple[list[ElementSet], list[UploadProblem]]:
    """The sets that can be stored, and every skipped set (unreadable or unstorable) in body
    order; a 422 when none is left, or with ``strict`` when one cannot be stored."""
    sets: list[ElementSet] = []
    unstorable: list[UploadProblem] = []
    for index, (item, line) in enumerate(zip(parsed.sets, parsed.lines, strict=True), start=1):
        problem = storage_problem(item)
        if problem is None:
            sets.append(item)
            continue
        where = f"line {line}" if line is not None else f"set {index}"
        unstorable.append(UploadProblem(line, where, None, f"{item.catalog_number}: {problem}"))
    skipped = sorted(
        parsed.skipped + unstorable, key=lambda item: -1 if item.line is None else item.line
    )
    if unstorable and (strict or not sets):
        summary = "" if strict else f"none of the {len(skipped)} element sets can be stored"
        raise refuse(unstorable if strict else skipped, summary)
    return sets, skipped


async def publish_element_set(
    session: AsyncSession, principal: Principal, set_id: int, *, actor: Actor
) -> ElementSetRecord:
    """Make an organisation's overlay set public (a platform administrator's decision):
    every organisation sees it from now on and the public summary of its object follows it.
    The set keeps its provenance and uploader; ``published_at``/``published_by`` say who
    made it public."""
    repository = CatalogRepository(session, None)
    found = await repository.any_element_set(set_id)
    if found is None:
        raise NotFoundError(f"element set {set_id} not found")
    owner = found.organisation_id
    if owner is None:
        raise ConflictError(
            f"element set {set_id} is already public",
            errors=[FieldError(["path", "set_id"], "already public")],
        )
    if await repository.public_set_exists(found.catalog_number, found.epoch):
        raise ConflictError(
            f"the public catalog already holds a set of {found.catalog_number} at "
            f"{found.epoch.isoformat()}",
            errors=[FieldError(["path", "set_id"], "a public set has the same epoch")],
        )
    now = utcnow()
    found.organisation_id = None
    found.published_at = now
    found.published_by = (actor.user_id or "system")[:64]
    await repository.flush()
    await repository.upsert_objects([_object_row(to_element_set(found), now)])
    await record(
        session,
        actor.event(
            "catalog.element_set_published",
            object_type="catalog_element_set",
            object_id=set_id,
            # The owner's administrators see in their own audit trail that it went public.
            organisation_id=owner,
            catalog_number=found.catalog_number,
            epoch=found.epoch.isoformat(),
            published_by_organisation=str(actor.organisation_id),
        ),
    )
    return found


async def overlay_sets_for_review(
    session: AsyncSession,
    principal: Principal,
    *,
    catalog_number: str | None,
    organisation_id: uuid.UUID | None,
    after_id: int | None,
    limit: int,
) -> Sequence[ElementSetRecord]:
    """Every organisation's unpublished uploads, newest first: for platform administrators,
    who review them before publishing."""
    repository = CatalogRepository(session, None)
    return await repository.overlay_sets(
        catalog_number=catalog_number,
        organisation_id=organisation_id,
        after_id=after_id,
        limit=limit,
    )


# --------------------------------------------------------------------------- reads


def parse_catalog_number(value: str, loc: Sequence[str]) -> str:
    """Canonical catalog number of user input, or a 422 naming ``loc``."""
    try:
        return normalize_catalog_number(value)
    except IdentifierError as error:
        raise InvalidInputError(str(error), errors=[FieldError(loc, str(error))]) from None


def search_filter(
    text: str | None,
    *,
    regime: orbit.Regime | None = None,
    min_perigee_km: float | None = None,
    max_apogee_km: float | None = None,
    min_inclination_deg: float | None = None,
    max_inclination_deg: float | None = None,
) -> CatalogFilter:
    """One search text matched as catalog number, COSPAR prefix (``1998-067``) or name."""
    query = (text or "").strip()
    catalog_number: str | None = None
    designator_prefix: str | None = None
    if query:
        try:
            catalog_number = normalize_catalog_number(query)
        except IdentifierError:
            catalog_number = None
        if _DESIGNATOR_PREFIX_RE.match(query.upper()):
            designator_prefix = query.upper()
    return CatalogFilter(
        catalog_number=catalog_number,
        designator_prefix=designator_prefix,
        name_contains=query or None,
        regime=regime.value if regime is not None else None,
        min_perigee_km=min_perigee_km,
        max_apogee_km=max_apogee_km,
        min_inclination_deg=min_inclination_deg,
        max_inclination_deg=max_inclination_deg,
    )


async def search_objects(
    session: AsyncSession,
    principal: Principal,
    filters: CatalogFilter,
    *,
    after: str | None,
    limit: int,
) -> list[ObjectSummary]:
    """Public objects, and the reader's own overlay-only objects, in one catalog-number
    order: the first ``limit`` of two ordered queries of ``limit`` rows each."""
    repository = CatalogRepository(session, principal.organisation_id)
    public: list[ObjectSummary] = list(
        await repository.search_objects(filters, after=after, limit=limit)
    )
    own: list[ObjectSummary] = list(
        await repository.search_overlay_objects(filters, after=after, limit=limit)
    )
    if not own:
        return public
    merged = heapq.merge(public, own, key=lambda row: numeric_order(row.catalog_number))
    return list(islice(merged, limit))


async def _get_object(repository: CatalogRepository, catalog_number: str) -> ObjectSummary:
    """The public object, or the reader's overlay-only one; anything else is not found
    (another organisation's overlay-only object included)."""
    catalog_object: ObjectSummary | None = await repository.get_object(catalog_number)
    if catalog_object is None:
        catalog_object = await repository.get_overlay_object(catalog_number)
    if catalog_object is None:
        raise NotFoundError(f"catalog object {catalog_number} not found")
    return catalog_object


async def object_detail(
    session: AsyncSession, principal: Principal, catalog_number: str
) -> ObjectDetail:
    """The object, the newest element set the caller's analyses use (its overlay's when
    that takes precedence) and the number of sets it can see, and the caller's
    organisation's spacecraft registered under its catalog number."""
    repository = CatalogRepository(session, principal.organisation_id)
    catalog_object = await _get_object(repository, catalog_number)
    number = catalog_object.catalog_number
    latest = await repository.latest_element_sets([number])
    return ObjectDetail(
        catalog_object=catalog_object,
        latest=latest[0] if latest else None,
        element_set_count=await repository.count_element_sets(number),
        spacecraft=await spacecraft_with_catalog_number(session, principal.organisation_id, number),
    )


async def element_set_history(
    session: AsyncSession,
    principal: Principal,
    catalog_number: str,
    *,
    start: datetime | None,
    stop: datetime | None,
    after: tuple[datetime, int | None] | None,
    limit: int,
) -> Sequence[ElementSetRecord]:
    repository = CatalogRepository(session, principal.organisation_id)
    await _get_object(repository, catalog_number)
    return await repository.list_element_sets(
        catalog_number, start=start, stop=stop, after=after, limit=limit
    )


async def public_object_detail(session: AsyncSession, catalog_number: str) -> ObjectDetail:
    """The public catalog's object, its newest public set and the size of its public
    history; no organisation's overlay is seen (the operator's view, ``catalog show``)."""
    repository = CatalogRepository(session, None)
    catalog_object = await repository.get_object(catalog_number)
    if catalog_object is None:
        raise NotFoundError(f"catalog object {catalog_number} not found")
    latest = await repository.latest_element_sets([catalog_number])
    return ObjectDetail(
        catalog_object=catalog_object,
        latest=latest[0] if latest else None,
        element_set_count=await repository.count_element_sets(catalog_number),
        spacecraft=(),
    )


# ------------------------------------------------------------ reads for analyses
# Other domains (trajectory, CCDM, conjunction) read the catalog as one organisation sees
# it, with the overlay precedence of :mod:`astroshield.catalog.precedence`.


async def element_set_in_force(
    session: AsyncSession, organisation_id: uuid.UUID, catalog_number: str, at: datetime
) -> ElementSetRecord | None:
    """The set in force at ``at``: the newest effective set at or before it; before the
    first set, the earliest one."""
    return await CatalogRepository(session, organisation_id).element_set_at(catalog_number, at)


async def visible_element_set(
    session: AsyncSession, organisation_id: uuid.UUID, set_id: int
) -> ElementSetRecord | None:
    """One set by id as the organisation sees the catalog (public or its own overlay);
    None for an unknown id and for another organisation's overlay."""
    return await CatalogRepository(session, organisation_id).visible_element_set(set_id)


async def latest_element_sets(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    catalog_numbers: Sequence[str] | None = None,
) -> list[ElementSetRecord]:
    """Newest effective set per object, in catalog-number order; every visible object when
    ``catalog_numbers`` is None."""
    repository = CatalogRepository(session, organisation_id)
    return await repository.latest_element_sets(catalog_numbers)


async def element_set_window(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    catalog_number: str,
    start: datetime | None,
    stop: datetime | None,
) -> list[ElementSetRecord]:
    """The effective sets with ``start <= epoch <= stop``, preceded by the one in force at
    ``start``, ascending epoch; 404 when the object has no sets the organisation can see,
    or none in the window."""
    repository = CatalogRepository(session, organisation_id)
    records = await repository.history(catalog_number, start, stop)
    if start is not None:
        anchor = await repository.element_set_at(catalog_number, start)
        if anchor is not None and (not records or anchor.epoch < records[0].epoch):
            records = [anchor, *records]
    if not records:
        if await repository.count_element_sets(catalog_number) == 0:
            raise NotFoundError(f"catalog object {catalog_number} not found")
        raise NotFoundError(f"catalog object {catalog_number} has no element sets in the window")
    return records
