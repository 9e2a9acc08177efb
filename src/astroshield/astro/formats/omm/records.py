"""One flat OMM record (keyword -> value), whatever the encoding: checked and turned into an
:class:`~astroshield.astro.dynamics.elements.ElementSet`, and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from astroshield.astro.dynamics.elements import ElementSet, ElementSetError, normalize_object_id
from astroshield.astro.formats import ccsds
from astroshield.astro.formats.omm.keywords import (
    ATTRIBUTE_KEYWORDS,
    FLOAT_FIELDS,
    INT_FIELDS,
    REQUIRED_METADATA,
)
from astroshield.astro.ids import IdentifierError, normalize_catalog_number

FieldValue = str | int | float | None


class OMMError(ccsds.CcsdsError):
    """An OMM record that cannot be read; ``location`` and ``keyword`` say where.

    ``line`` is the line number where the location is a line of KVN or XML input, else None.
    """

    def __init__(
        self, location: str, keyword: str | None, reason: str, *, line: int | None = None
    ) -> None:
        self.location = location
        super().__init__(reason, keyword=keyword, line=line)

    def _location(self) -> str:
        return self.location


def _text(value: FieldValue) -> str:
    return "" if value is None else str(value).strip()


def format_epoch(value: datetime) -> str:
    """A UTC epoch as OMM writes it."""
    return ccsds.format_epoch(value.astimezone(UTC).replace(tzinfo=None), kind="OMM")


@dataclass(frozen=True)
class _Record:
    """A record being read: its values, where it is (``location``, its first ``line``) and,
    for KVN and XML, the line of each keyword."""

    fields: Mapping[str, FieldValue]
    location: str
    line: int | None
    lines: Mapping[str, int] | None

    def text(self, keyword: str) -> str:
        return _text(self.fields.get(keyword))

    def fail(self, keyword: str | None, reason: str) -> OMMError:
        """The error for ``keyword``, on its own line when known, else the record's."""
        where = (self.lines or {}).get(keyword, self.line) if keyword else self.line
        return OMMError(self.location, keyword, reason, line=where)


def _check_metadata(record: _Record) -> None:
    for keyword, expected in REQUIRED_METADATA.items():
        value = record.text(keyword)
        if value and value.upper() != expected:
            raise record.fail(keyword, f"{value!r} is not supported, expected {expected}")


def _floats(record: _Record) -> dict[str, float]:
    values: dict[str, float] = {}
    for keyword, attribute in FLOAT_FIELDS.items():
        raw = record.text(keyword)
        if not raw:
            raise record.fail(keyword, "is missing")
        try:
            values[attribute] = float(raw)
        except ValueError:
            raise record.fail(keyword, f"{raw!r} is not a number") from None
    return values


def _integers(record: _Record) -> dict[str, int]:
    integers: dict[str, int] = {}
    for keyword, (attribute, default) in INT_FIELDS.items():
        raw = record.text(keyword)
        if not raw:
            integers[attribute] = default
            continue
        try:
            integers[attribute] = int(raw)
        except ValueError:
            raise record.fail(keyword, f"{raw[:40]!r} is not an integer") from None
    return integers


def _catalog_number(record: _Record) -> str:
    raw_catalog = record.fields.get("NORAD_CAT_ID")
    if raw_catalog is None or _text(raw_catalog) == "":
        raise record.fail("NORAD_CAT_ID", "is missing")
    try:
        return normalize_catalog_number(
            raw_catalog if isinstance(raw_catalog, int) else _text(raw_catalog)
        )
    except (IdentifierError, ValueError) as error:
        raise record.fail("NORAD_CAT_ID", str(error)) from None


def _object_id(record: _Record) -> str | None:
    raw_object_id = record.text("OBJECT_ID")
    try:
        return normalize_object_id(raw_object_id) if raw_object_id else None
    except IdentifierError as error:
        raise record.fail("OBJECT_ID", str(error)) from None


def _epoch(record: _Record) -> datetime:
    raw_epoch = record.text("EPOCH")
    if not raw_epoch:
        raise record.fail("EPOCH", "is missing")
    try:
        return ccsds.parse_epoch(raw_epoch).replace(tzinfo=UTC)
    except ccsds.CcsdsError:
        raise record.fail(
            "EPOCH", f"{raw_epoch!r} is not an ISO 8601 UTC time like 2024-10-29T12:18:43.49"
        ) from None


def elements_from_fields(
    fields: Mapping[str, FieldValue],
    location: str,
    *,
    line: int | None = None,
    lines: Mapping[str, int] | None = None,
) -> ElementSet:
    """Validate one flat keyword → value record and build the element set.

    ``line`` is where the record starts in the input, ``lines`` where each keyword is (KVN,
    XML); errors carry the keyword's line when known, else the record's.
    """
    record = _Record(fields, location, line, lines)
    _check_metadata(record)
    values = _floats(record)
    integers = _integers(record)
    catalog_number = _catalog_number(record)
    object_id = _object_id(record)
    epoch = _epoch(record)
    try:
        return ElementSet(
            catalog_number=catalog_number,
            epoch=epoch,
            object_name=record.text("OBJECT_NAME") or None,
            object_id=object_id,
            classification=record.text("CLASSIFICATION_TYPE") or "U",
            mean_motion_rev_per_day=values["mean_motion_rev_per_day"],
            eccentricity=values["eccentricity"],
            inclination_deg=values["inclination_deg"],
            ra_of_asc_node_deg=values["ra_of_asc_node_deg"],
            arg_of_pericenter_deg=values["arg_of_pericenter_deg"],
            mean_anomaly_deg=values["mean_anomaly_deg"],
            bstar_per_earth_radius=values["bstar_per_earth_radius"],
            mean_motion_dot_rev_per_day2=values["mean_motion_dot_rev_per_day2"],
            mean_motion_ddot_rev_per_day3=values["mean_motion_ddot_rev_per_day3"],
            ephemeris_type=integers["ephemeris_type"],
            element_set_number=integers["element_set_number"],
            rev_at_epoch=integers["rev_at_epoch"],
        )
    except ElementSetError as error:
        raise record.fail(ATTRIBUTE_KEYWORDS.get(error.field), error.reason) from None


Scanned = tuple[int | None, ElementSet | OMMError]
"""What the ``scan_omm_*`` readers yield: a record's line, and its element set or error."""


def first_error(items: Iterable[Scanned]) -> list[ElementSet]:
    """The element sets of a scan; the first error found is raised."""
    result = []
    for _, item in items:
        if isinstance(item, OMMError):
            raise item
        result.append(item)
    return result


def fields_from_elements(elements: ElementSet) -> dict[str, str | int | float]:
    """Flat OMM record with native types (JSON writes numbers as numbers)."""
    return {
        "OBJECT_NAME": elements.object_name or "",
        "OBJECT_ID": elements.object_id or "",
        "EPOCH": format_epoch(elements.epoch),
        "MEAN_MOTION": elements.mean_motion_rev_per_day,
        "ECCENTRICITY": elements.eccentricity,
        "INCLINATION": elements.inclination_deg,
        "RA_OF_ASC_NODE": elements.ra_of_asc_node_deg,
        "ARG_OF_PERICENTER": elements.arg_of_pericenter_deg,
        "MEAN_ANOMALY": elements.mean_anomaly_deg,
        "EPHEMERIS_TYPE": elements.ephemeris_type,
        "CLASSIFICATION_TYPE": elements.classification,
        "NORAD_CAT_ID": int(elements.catalog_number),
        "ELEMENT_SET_NO": elements.element_set_number,
        "REV_AT_EPOCH": elements.rev_at_epoch,
        "BSTAR": elements.bstar_per_earth_radius,
        "MEAN_MOTION_DOT": elements.mean_motion_dot_rev_per_day2,
        "MEAN_MOTION_DDOT": elements.mean_motion_ddot_rev_per_day3,
    }


def as_text(value: str | int | float) -> str:
    """A value as text; floats with ``repr`` so write -> read gives the same float."""
    return repr(value) if isinstance(value, float) else str(value)
