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

__all__ = ["read_bstar", "read_designator", "read_exponent_field"]

# Sign, five mantissa digits after an assumed decimal point (trailing blanks read as zeros,
# as float() reads them in sgp4.io), exponent sign (a blank is +) and one exponent digit.
_EXPONENT_FIELD_RE = re.compile(r"^([ +-])(\d{1,5}) *([ +-])(\d)$")
_NOT_EXPONENT_FORM = "is not in the TLE exponent form like ' 12345-4'"
# BSTAR as both reference parsers read columns 54-61: the character of column 54 and
# ".ddddd" (columns 55-59; trailing blanks end the number) times ten to the integer of
# columns 60-61. So besides " 12345-4", a signed seven-digit "-1234504" is -0.12345e4, and
# "-123454 " the same. A digit in column 54 is the integer part ("12345601" is 12.3456).
_BSTAR_MANTISSA_RE = re.compile(r"^([ +\-\d])(\d{1,5}) *$")
# int() of columns 60-61 as sgp4.io reads them: a signed digit, two digits or a digit and a
# blank. With a blank in column 54 the C++ parser reads six mantissa digits unless column 60
# is a sign or blank, so there only the signed-digit form reads the same in both.
_BSTAR_EXPONENT_RE = re.compile(r"^(?:[ +-]\d|\d\d|\d )$")
_BSTAR_BLANK_SIGN_EXPONENT_RE = re.compile(r"^[ +-]\d$")
_BSTAR_WRITABLE = 0.99999e9
_DESIGNATOR_RE = re.compile(r"^([ \d]{2})([ \d]{3})([A-Z ]{1,3})$")


def read_exponent_field(raw: str, *, blank_is_zero: bool = False) -> float:
    """Assumed-decimal-point fields such as `` 28098-4`` meaning 0.28098e-4.

    ``blank_is_zero``: an all-blank field reads as 0 (the C++ reference parser does so for
    the second derivative of mean motion).
    """
    if blank_is_zero and not raw.strip():
        return 0.0
    match = _EXPONENT_FIELD_RE.match(raw)
    if not match:
        raise ValueError(_NOT_EXPONENT_FORM)
    sign, mantissa, exponent_sign, exponent = match.groups()
    # Build the decimal text so float() rounds once, as twoline2rv's strtod does.
    mantissa_digits = mantissa.ljust(5, "0")
    exponent_text = f"{'-' if exponent_sign == '-' else '+'}{exponent}"
    return float(f"{'-' if sign == '-' else ''}0.{mantissa_digits}e{exponent_text}")


def read_bstar(raw: str) -> float:
    """BSTAR (columns 54-61) in every form both reference parsers read alike.

    An all-blank field is refused: the C++ parser reads NaN there, sgp4.io refuses it.
    """
    mantissa = _BSTAR_MANTISSA_RE.match(raw[:6]) if len(raw) == 8 else None
    exponent_text = raw[6:]
    if mantissa is None or not _BSTAR_EXPONENT_RE.match(exponent_text):
        raise ValueError(_NOT_EXPONENT_FORM)
    lead, digits = mantissa.groups()
    if lead == " " and not _BSTAR_BLANK_SIGN_EXPONENT_RE.match(exponent_text):
        raise ValueError(_NOT_EXPONENT_FORM + " (the reference parsers read it differently)")
    whole = lead if lead.isdigit() else "0"
    sign = "-" if lead == "-" else ""
    value = float(f"{sign}{whole}.{digits}e{int(exponent_text)}")
    if abs(value) > _BSTAR_WRITABLE:
        # Read alike by both, but no canonical line could hold it, and SGP4 decays the orbit
        # at once with such a drag term.
        raise ValueError(f"is {value:g}, beyond the largest value a TLE holds (0.99999e9)")
    return value


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
