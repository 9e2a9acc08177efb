"""Element sets from request bodies, through the astro library's TLE/OMM readers.

Uploads are read strictly: one bad set refuses the whole body, naming its line and field.
Files (the command line) are read by :mod:`astroshield.astro.formats.element_files`.
"""

from __future__ import annotations

from dataclasses import dataclass

from astroshield.astro.dynamics.elements import ElementSet
from astroshield.astro.formats.omm import (
    KVN_MARKER,
    OMMError,
    parse_omm_csv,
    parse_omm_json,
    parse_omm_kvn,
    parse_omm_xml,
)
from astroshield.astro.formats.tle import TLEError, iter_tles
from astroshield.errors import FieldError, InvalidInputError, UnsupportedMediaTypeError

# Media types the upload endpoint reads, besides JSON (which every endpoint accepts).
UPLOAD_MEDIA_TYPES = frozenset({"text/plain", "application/xml", "text/xml", "text/csv"})


@dataclass(frozen=True, slots=True)
class Rejection:
    """An element set that was not imported: where it is and why."""

    where: str
    reason: str


# -------------------------------------------------------------------------- uploads


def _tle_problem(error: TLEError) -> InvalidInputError:
    where = f"line {error.file_line}" if error.file_line is not None else "body"
    loc = ["body", where, *([error.field] if error.field else [])]
    return InvalidInputError(
        f"TLE {where}: {error.reason}" if error.file_line else str(error),
        errors=[FieldError(loc, str(error.within_set()))],
    )


def _omm_problem(error: OMMError) -> InvalidInputError:
    loc = ["body", error.location, *([error.keyword] if error.keyword else [])]
    return InvalidInputError(f"OMM {error}", errors=[FieldError(loc, error.reason)])


def parse_upload(body: bytes, media_type: str) -> list[ElementSet]:
    """All element sets of a request body, or a 4xx naming the first bad line or field.

    ``text/plain``: TLEs, or KVN OMM when the text holds ``CCSDS_OMM_VERS``;
    ``application/json``: CelesTrak GP JSON; ``application/xml``: CCSDS NDM/XML OMM;
    ``text/csv``: CelesTrak OMM CSV.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            "the body is not UTF-8 text",
            errors=[FieldError(["body"], f"byte {error.start} is not UTF-8")],
        ) from None
    try:
        if media_type == "application/json":
            sets = parse_omm_json(text)
        elif media_type in ("application/xml", "text/xml"):
            sets = parse_omm_xml(text)
        elif media_type == "text/csv":
            sets = parse_omm_csv(text)
        elif media_type == "text/plain":
            sets = (
                parse_omm_kvn(text)
                if KVN_MARKER in text
                else [tle.elements for tle in iter_tles(text)]
            )
        else:
            raise UnsupportedMediaTypeError(
                f"element sets are read from text/plain (TLE or KVN OMM), application/json, "
                f"application/xml or text/csv, not {media_type or 'unlabelled'}"
            )
    except TLEError as error:
        raise _tle_problem(error) from None
    except OMMError as error:
        raise _omm_problem(error) from None
    if not sets:
        raise InvalidInputError(
            "the body holds no element set",
            errors=[FieldError(["body"], "no element set found")],
        )
    return sets
