"""Reading the TLE fields whose legal forms vary between archive files.

Each reader takes the raw text of its field and returns the value the reference parsers
(``sgp4.io.twoline2rv`` and the C++ ``Satrec.twoline2rv``) read from it, or raises
:class:`ValueError` with the reason; :mod:`astroshield.astro.formats.tle` adds the columns.
A form is accepted only where both reference parsers read the same value: where one of them
refuses it, or they disagree, there is no value to trust.
"""

from __future__ import annotations

import re

from astroshield.astro.dynamics.elements import normalize_object_id
from astroshield.astro.ids import IdentifierError

__all__ = ["read_bstar", "read_ddot", "read_designator"]

_NOT_EXPONENT_FORM = "is not in the TLE exponent form like ' 12345-4'"
_READ_DIFFERENTLY = _NOT_EXPONENT_FORM + " (the reference parsers read it differently)"
# Columns 54-61 (BSTAR) and 45-52 (second derivative of mean motion) as sgp4.io reads both:
# the character of the first column and ".ddddd" (the next five; trailing blanks end the
# number) times ten to the int() of the last two. So besides " 12345-4", a signed seven-digit
# "-1234504" is -0.12345e4 and "-123454 " the same for BSTAR. A digit in the first column is
# the integer part ("12345601" is 12.3456).
_MANTISSA_RE = re.compile(r"^([ +\-\d])(\d{1,5}) *$")
# The exponent as int() reads it: a signed digit, two digits or a digit and a blank.
_EXPONENT_RE = re.compile(r"^(?:[ +-]\d|\d\d|\d )$")
# With a blank first column the C++ parser reads six mantissa digits unless the exponent's
# first column is a sign or blank, so there only the signed-digit exponent reads the same.
_BLANK_LEAD_EXPONENT_RE = re.compile(r"^[ +-]\d$")
# For the second derivative the C++ parser also turns a blank in the last column into a zero
# ("4 " is 40) and a digit in the first column is not the integer part, so neither is read
# alike there.
_DDOT_EXPONENT_RE = re.compile(r"^(?:[ +-]\d|\d\d)$")
_LARGEST_WRITABLE = 0.99999e9
_DESIGNATOR_RE = re.compile(r"^([ \d]{2})([ \d]{3})([A-Z ]{1,3})$")


def _read_assumed_point(raw: str, *, ddot: bool) -> float:
    """BSTAR (``ddot`` False) or the second derivative, in the forms both parsers read alike."""
    mantissa = _MANTISSA_RE.match(raw[:6]) if len(raw) == 8 else None
    exponent_text = raw[6:]
    if mantissa is None or not _EXPONENT_RE.match(exponent_text):
        raise ValueError(_NOT_EXPONENT_FORM)
    lead, digits = mantissa.groups()
    if lead == " " and not _BLANK_LEAD_EXPONENT_RE.match(exponent_text):
        raise ValueError(_READ_DIFFERENTLY)
    if ddot and (lead.isdigit() or not _DDOT_EXPONENT_RE.match(exponent_text)):
        raise ValueError(_READ_DIFFERENTLY)
    whole = lead if lead.isdigit() else "0"
    sign = "-" if lead == "-" else ""
    # Decimal text, so float() rounds once as the reference parsers' float()/strtod do.
    value = float(f"{sign}{whole}.{digits}e{int(exponent_text)}")
    if abs(value) > _LARGEST_WRITABLE:
        # Read alike by both, but no canonical line could hold it (and, for BSTAR, SGP4
        # decays the orbit at once with such a drag term).
        raise ValueError(f"is {value:g}, beyond the largest value a TLE holds (0.99999e9)")
    return value


def read_bstar(raw: str) -> float:
    """BSTAR (columns 54-61) in every form both reference parsers read alike.

    An all-blank field is refused: the C++ parser reads NaN there, sgp4.io refuses it.
    """
    return _read_assumed_point(raw, ddot=False)


def read_ddot(raw: str) -> float:
    """The second derivative of mean motion (columns 45-52) in every form both reference
    parsers read alike: ``" 12345-4"``, ``"-1234504"``, ``"+0001200"``, trailing blanks in the
    mantissa, a blank exponent sign.

    An all-blank field reads as 0, as the C++ parser reads it (sgp4.io refuses it): SGP4
    does not use this value, and archive files leave it blank.
    """
    if not raw.strip():
        return 0.0
    return _read_assumed_point(raw, ddot=True)


def read_designator(raw: str) -> str | None:
    """The COSPAR id of columns 10-17; blanks inside read as in ``58  2B`` = 1958-002B.

    A designator that still cannot be read is dropped (None) rather than refusing the set:
    the reference parsers accept any text there and SGP4 does not use it.
    """
    text = raw.rstrip()
    if not text.strip():
        return None
    try:
        return normalize_object_id(text.strip())
    except IdentifierError:
        pass
    match = _DESIGNATOR_RE.match(text)
    if match is None:
        return None
    year, number, piece = match.groups()
    try:
        return normalize_object_id(
            year.replace(" ", "0") + number.replace(" ", "0") + piece.strip()
        )
    except IdentifierError:
        return None
