"""Satellite catalog numbers (NORAD, Alpha-5, 9-digit) and COSPAR international designators.

Canonical forms used everywhere in AstroShield:

* catalog number: the decimal number as a string without leading zeros (``"25544"``,
  ``"100001"`` for Alpha-5 ``A0001``), so 9-digit numbers fit and equal objects compare equal;
* COSPAR id: ``YYYY-NNNPPP`` (``"1998-067A"``).
"""

from __future__ import annotations

import re

# Alpha-5 (Space Force, 2020): the leading digit of a 6-digit number becomes a letter,
# skipping I and O so they are not read as 1 and 0. A=10 ... Z=33.
ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_ALPHA5 = 339_999
MAX_CATALOG_NUMBER = 999_999_999

_ALPHA5_RE = re.compile(r"^([A-HJ-NP-Z])(\d{4})$")
_DIGITS_RE = re.compile(r"^\d{1,9}$")
_COSPAR_LONG_RE = re.compile(r"^(\d{4})-(\d{3})([A-HJ-NP-Z]{1,3})?$")
_COSPAR_SHORT_RE = re.compile(r"^(\d{2})(\d{3})([A-HJ-NP-Z]{1,3})?$")
FIRST_LAUNCH_YEAR = 1957


class IdentifierError(ValueError):
    """A catalog number or COSPAR id that is not well formed; the message says why."""


def normalize_catalog_number(value: str | int) -> str:
    """Return the canonical catalog number for a NORAD number, Alpha-5 or 9-digit id."""
    if isinstance(value, bool):
        raise IdentifierError("catalog number must be a string or an integer")
    if isinstance(value, int):
        number = value
    else:
        text = value.strip().upper()
        alpha = _ALPHA5_RE.match(text)
        if alpha:
            number = (ALPHA5_LETTERS.index(alpha.group(1)) + 10) * 10_000 + int(alpha.group(2))
        elif _DIGITS_RE.match(text):
            number = int(text)
        else:
            raise IdentifierError(
                f"catalog number {value!r} is neither 1-9 digits nor Alpha-5 "
                "(a letter other than I or O followed by 4 digits)"
            )
    if not 1 <= number <= MAX_CATALOG_NUMBER:
        raise IdentifierError(f"catalog number {value!r} is outside 1..{MAX_CATALOG_NUMBER}")
    return str(number)


def to_alpha5(catalog_number: str | int) -> str:
    """Five-character TLE field for a catalog number (zero-padded, Alpha-5 above 99999)."""
    number = int(normalize_catalog_number(catalog_number))
    if number <= 99_999:
        return f"{number:05d}"
    if number > MAX_ALPHA5:
        raise IdentifierError(f"catalog number {number} does not fit the 5-character TLE field")
    return ALPHA5_LETTERS[number // 10_000 - 10] + f"{number % 10_000:04d}"


def normalize_cospar_id(value: str, *, allow_launch_only: bool = False) -> str:
    """Canonical ``YYYY-NNNP`` form of an international designator (long or TLE short form).

    ``allow_launch_only`` also accepts a designator without piece letters (``1970-025``):
    CelesTrak gives analyst objects only the launch they came from, and dropping it from
    imported catalogs would lose information. A registered spacecraft needs the piece.
    """
    text = value.strip().upper()
    long_form = _COSPAR_LONG_RE.match(text)
    short = None if long_form else _COSPAR_SHORT_RE.match(text)
    if long_form:
        year, launch, piece = int(long_form.group(1)), long_form.group(2), long_form.group(3)
    elif short:
        two_digit = int(short.group(1))
        # TLE convention: 57-99 are 1957-1999, 00-56 are 2000-2056.
        year = 1900 + two_digit if two_digit >= 57 else 2000 + two_digit
        launch, piece = short.group(2), short.group(3)
    if not (long_form or short) or (piece is None and not allow_launch_only):
        raise IdentifierError(
            f"COSPAR id {value!r} must look like 1998-067A (or 98067A): launch year, "
            "launch number of the year, piece letters without I or O"
        )
    if year < FIRST_LAUNCH_YEAR:
        raise IdentifierError(f"COSPAR id {value!r}: year {year} is before the first launch")
    if launch == "000":
        raise IdentifierError(f"COSPAR id {value!r}: launch number starts at 001")
    return f"{year:04d}-{launch}{piece or ''}"
