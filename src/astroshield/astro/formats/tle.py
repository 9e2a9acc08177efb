"""Two- and three-line element sets: strict parsing, writing and SGP4 initialisation.

Column numbers in messages are 1-based, as in the NORAD/Space-Track format description, so
they can be found with an editor's column counter. SGP4 initialisation of a parsed TLE uses
``Satrec.twoline2rv`` on the original lines; we only validate and decode the fields.

Lines must be 69 characters with a valid checksum (that catches truncation and corruption,
which the reference parser does not check). Within the fields, the legal variants found in
archive files and read by the reference parsers (``sgp4.io.twoline2rv`` and the C++
``Satrec.twoline2rv``) are accepted and normalised: blanks in the eccentricity read as
zeros, exponent fields with a blank or ``+`` exponent sign and trailing blanks in the
mantissa, BSTAR as a signed seven-digit number (``-1234504``: a two-digit exponent), a blank
second derivative of mean motion (zero), blanks inside the international designator
(``98 67A`` is 1998-067A; a designator that cannot be read is stored as none, as it plays no
part in SGP4) and day 366 of a common year (1 January of the next). The readers of these
fields are in :mod:`astroshield.astro.formats.tle_fields`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sgp4.api import WGS72, Satrec

from astroshield.astro.dynamics.elements import ElementSet, ElementSetError
from astroshield.astro.formats.tle_fields import read_bstar, read_ddot, read_designator
from astroshield.astro.ids import (
    IdentifierError,
    normalize_catalog_number,
    to_alpha5,
)

__all__ = [
    "TLE",
    "TLEError",
    "format_tle",
    "iter_tles",
    "parse_tle",
    "scan_tles",
    "tle_checksum",
]

TLE_LINE_LENGTH = 69
_TICK_MICROSECONDS = 864  # the TLE epoch has 8 decimals of a day: 1e-8 d = 864 µs exactly
_TICKS_PER_DAY = 100_000_000
_DECIMAL_POINT_RE = re.compile(r"^[ +-]?\.\d+$")
# Columns (1-based) that separate the fields and must be blank, as sgp4.io.twoline2rv checks:
# a character there means the fields are shifted and would be misread.
_SEPARATOR_COLUMNS = {1: (9, 33, 44, 53, 62, 64), 2: (8, 17, 26, 34, 43, 52)}


# Where each ElementSet attribute lives, to locate range errors found by ElementSet itself:
# (TLE line, columns, field name as the format description calls it).
_FIELD_COLUMNS: dict[str, tuple[int, tuple[int, int], str]] = {
    "epoch": (1, (19, 32), "epoch"),
    "mean_motion_dot_rev_per_day2": (1, (34, 43), "mean motion first derivative"),
    "mean_motion_ddot_rev_per_day3": (1, (45, 52), "mean motion second derivative"),
    "bstar_per_earth_radius": (1, (54, 61), "BSTAR"),
    "inclination_deg": (2, (9, 16), "inclination"),
    "ra_of_asc_node_deg": (2, (18, 25), "right ascension of node"),
    "eccentricity": (2, (27, 33), "eccentricity"),
    "arg_of_pericenter_deg": (2, (35, 42), "argument of perigee"),
    "mean_anomaly_deg": (2, (44, 51), "mean anomaly"),
    "mean_motion_rev_per_day": (2, (53, 63), "mean motion"),
}


class TLEError(ValueError):
    """A malformed TLE. ``line`` is 1 or 2 (0 for the name line), ``columns`` 1-based,
    ``field`` the name of the field at fault (``"inclination"``) when one is."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        columns: tuple[int, int] | None = None,
        file_line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.line = line
        self.columns = columns
        self.file_line = file_line
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file_line is not None:
            where.append(f"file line {self.file_line}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.columns is not None:
            first, last = self.columns
            where.append(f"column {first}" if first == last else f"columns {first}-{last}")
        return ", ".join(where) + ": " + self.reason if where else self.reason

    def at_file_line(self, file_line: int) -> TLEError:
        """Copy of this error that also names the line of the whole file it came from."""
        return TLEError(
            self.reason,
            line=self.line,
            columns=self.columns,
            file_line=file_line,
            field=self.field,
        )

    def within_set(self) -> TLEError:
        """Copy without the file line (the message as it reads for one set on its own)."""
        return TLEError(self.reason, line=self.line, columns=self.columns, field=self.field)


@dataclass(frozen=True, slots=True)
class TLE:
    """A parsed element set together with the exact lines it came from."""

    elements: ElementSet
    line1: str
    line2: str

    @property
    def name(self) -> str | None:
        return self.elements.object_name

    def satrec(self) -> Satrec:
        """SGP4 record from ``Satrec.twoline2rv`` (WGS72, opsmode 'i'), as the lines say."""
        return Satrec.twoline2rv(self.line1, self.line2, WGS72)

    def lines(self) -> list[str]:
        """The set as written lines: name line first when there is a name."""
        head = [self.elements.object_name] if self.elements.object_name else []
        return [*head, self.line1, self.line2]


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of columns 1-68: digits count their value, minus signs count 1."""
    total = 0
    for char in line[: TLE_LINE_LENGTH - 1]:
        if char.isdigit():
            total += int(char)
        elif char == "-":
            total += 1
    return total % 10


def _field(text: str, first: int, last: int) -> str:
    return text[first - 1 : last]


def _fail(
    reason: str, line: int, first: int, last: int | None = None, *, field: str | None = None
) -> TLEError:
    columns = (first, first if last is None else last)
    return TLEError(reason, line=line, columns=columns, field=field)


def _parse_float(text: str, line: int, first: int, last: int, what: str) -> float:
    raw = _field(text, first, last)
    try:
        return float(raw)
    except ValueError:
        raise _fail(f"{what} {raw!r} is not a number", line, first, last, field=what) from None


def _parse_int(
    text: str, line: int, first: int, last: int, what: str, *, blank: int | None = None
) -> int:
    raw = _field(text, first, last)
    if blank is not None and not raw.strip():
        return blank
    if not raw.strip().isdigit():
        raise _fail(f"{what} {raw!r} is not an unsigned integer", line, first, last, field=what)
    return int(raw)


def _parse_decimal_point_field(text: str, line: int, first: int, last: int, what: str) -> float:
    """Fields like `` .00000023`` / ``-.00000084`` (a sign and a leading decimal point)."""
    raw = _field(text, first, last)
    stripped = raw.strip()
    if not _DECIMAL_POINT_RE.match(stripped) and not _is_plain_number(stripped):
        raise _fail(
            f"{what} {raw!r} is not a number like -.00001234", line, first, last, field=what
        )
    return float(stripped)


def _is_plain_number(text: str) -> bool:
    # Some generators (and the Vallado verification file) write "0.00000000" here.
    try:
        float(text)
    except ValueError:
        return False
    return bool(text)


def _parse_exponent_field(
    text: str, line: int, first: int, last: int, what: str, reader: Callable[[str], float]
) -> float:
    """A field in the assumed-decimal-point form (`` 28098-4``), read by ``reader``."""
    raw = _field(text, first, last)
    try:
        return reader(raw)
    except ValueError as error:
        raise _fail(f"{what} {raw!r} {error}", line, first, last, field=what) from None


def _parse_catalog_field(text: str, line: int) -> str:
    raw = _field(text, 3, 7)
    try:
        return normalize_catalog_number(raw.strip())
    except IdentifierError as error:
        raise _fail(
            f"catalog number {raw!r}: {error}", line, 3, 7, field="catalog number"
        ) from None


def _parse_epoch(text: str) -> datetime:
    year_raw = _field(text, 19, 20)
    day_raw = _field(text, 21, 32)
    if not year_raw.strip().isdigit():
        raise _fail(f"epoch year {year_raw!r} is not two digits", 1, 19, 20, field="epoch year")
    two_digit_year = int(year_raw)
    # TLE convention (as in SGP4.cpp): 57-99 are 1957-1999, 00-56 are 2000-2056.
    year = 1900 + two_digit_year if two_digit_year >= 57 else 2000 + two_digit_year
    whole, dot, fraction = day_raw.strip().partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or (dot and not fraction):
        raise _fail(
            f"epoch day {day_raw!r} is not a day of year like 123.45678901",
            1,
            21,
            32,
            field="epoch day",
        )
    day_of_year = int(whole)
    # Day 366 of a common year is 1 January of the next, as the reference parser reads it
    # (python-sgp4 keeps that case because real TLEs carry it); anything later is an error.
    if not 1 <= day_of_year <= 366:
        raise _fail(f"epoch day {day_of_year} is outside 1..366", 1, 21, 32, field="epoch day")
    scale = 10 ** len(fraction)
    numerator = int(fraction or "0") * 86_400_000_000
    microseconds = (2 * numerator + scale) // (2 * scale)
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(
        days=day_of_year - 1, microseconds=microseconds
    )


def _check_line(text: str, line: int, verify_checksum: bool) -> str:
    stripped = text.rstrip("\r\n").rstrip()
    if len(stripped) != TLE_LINE_LENGTH:
        raise TLEError(
            f"length is {len(stripped)} characters, expected {TLE_LINE_LENGTH}", line=line
        )
    if not stripped.isascii():
        first_bad = next(index for index, char in enumerate(stripped) if not char.isascii())
        raise _fail(f"non-ASCII character {stripped[first_bad]!r}", line, first_bad + 1)
    if stripped[0] != str(line):
        raise _fail(
            f"line number digit is {stripped[0]!r}, expected '{line}'", line, 1, field="line number"
        )
    if stripped[1] != " ":
        raise _fail(f"expected a blank after the line number, found {stripped[1]!r}", line, 2)
    for column in _SEPARATOR_COLUMNS[line]:
        if stripped[column - 1] != " ":
            raise _fail(
                f"column {column} separates two fields and must be blank, found "
                f"{stripped[column - 1]!r} (are the fields shifted?)",
                line,
                column,
            )
    checksum_char = stripped[TLE_LINE_LENGTH - 1]
    if not verify_checksum:
        return stripped
    if not checksum_char.isdigit():
        raise _fail(
            f"checksum {checksum_char!r} is not a digit", line, TLE_LINE_LENGTH, field="checksum"
        )
    expected = tle_checksum(stripped)
    if int(checksum_char) != expected:
        raise _fail(
            f"checksum {checksum_char} expected {expected}",
            line,
            TLE_LINE_LENGTH,
            field="checksum",
        )
    return stripped


def parse_tle(
    line1: str, line2: str, name: str | None = None, *, verify_checksum: bool = True
) -> TLE:
    """Parse and validate one element set; ``name`` is the optional title line.

    ``verify_checksum=False`` is for legacy files with stale checksums (such as Vallado's
    SGP4-VER.TLE cases 33333-33335); every other check still applies.
    A Space-Track style ``"0 "`` prefix on the name line is dropped. Raises :class:`TLEError`
    naming the TLE line and columns of the first problem found.
    """
    first = _check_line(line1, 1, verify_checksum)
    second = _check_line(line2, 2, verify_checksum)

    catalog_number = _parse_catalog_field(first, 1)
    second_catalog_number = _parse_catalog_field(second, 2)
    if catalog_number != second_catalog_number:
        raise _fail(
            f"catalog number {first[2:7]!r} on line 1 does not match {second[2:7]!r} on line 2",
            2,
            3,
            7,
            field="catalog number",
        )

    classification = first[7]
    if classification not in "UCS ":
        raise _fail(
            f"classification {classification!r} is not U, C or S", 1, 8, field="classification"
        )

    try:
        elements = ElementSet(
            catalog_number=catalog_number,
            epoch=_parse_epoch(first),
            mean_motion_dot_rev_per_day2=_parse_decimal_point_field(
                first, 1, 34, 43, "mean motion first derivative"
            ),
            mean_motion_ddot_rev_per_day3=_parse_exponent_field(
                first, 1, 45, 52, "mean motion second derivative", read_ddot
            ),
            bstar_per_earth_radius=_parse_exponent_field(first, 1, 54, 61, "BSTAR", read_bstar),
            ephemeris_type=_parse_int(first, 1, 63, 63, "ephemeris type", blank=0),
            element_set_number=_parse_int(first, 1, 65, 68, "element set number", blank=0),
            inclination_deg=_parse_float(second, 2, 9, 16, "inclination"),
            ra_of_asc_node_deg=_parse_float(second, 2, 18, 25, "right ascension of node"),
            eccentricity=_parse_eccentricity(second),
            arg_of_pericenter_deg=_parse_float(second, 2, 35, 42, "argument of perigee"),
            mean_anomaly_deg=_parse_float(second, 2, 44, 51, "mean anomaly"),
            mean_motion_rev_per_day=_parse_float(second, 2, 53, 63, "mean motion"),
            rev_at_epoch=_parse_int(second, 2, 64, 68, "revolution number", blank=0),
            object_name=_clean_name(name),
            object_id=read_designator(_field(first, 10, 17)),
            classification=classification if classification != " " else "U",
        )
    except ElementSetError as error:
        line, columns, field = _FIELD_COLUMNS.get(error.field, (None, None, error.field))
        raise TLEError(f"{field} {error.reason}", line=line, columns=columns, field=field) from None
    return TLE(elements=elements, line1=first, line2=second)


def _parse_eccentricity(second: str) -> float:
    raw = _field(second, 27, 33)
    # Blanks are zeros, as both reference parsers read them (" 006703" is 0.0006703).
    digits = raw.replace(" ", "0")
    if not digits.isdigit():
        raise _fail(
            f"eccentricity {raw!r} is not 7 digits with an assumed leading decimal point",
            2,
            27,
            33,
            field="eccentricity",
        )
    return float("0." + digits)


def _clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    text = name.strip()
    if text.startswith("0 "):
        text = text[2:].strip()
    return text or None


def _format_decimal_point(value: float, what: str) -> str:
    text = f"{abs(value):.8f}"
    if not text.startswith("0."):
        raise TLEError(f"{what} {value!r} does not fit the TLE field (|value| < 1)")
    sign = "-" if value < 0 and text != "0.00000000" else " "
    return sign + text[1:]


def _format_exponent(value: float, what: str) -> str:
    if value == 0.0:
        return " 00000-0"
    # .4e rounds the mantissa to 5 significant digits: d.dddde±XX is 0.ddddd × 10^(XX+1).
    mantissa, _, exponent_text = f"{abs(value):.4e}".partition("e")
    exponent = int(exponent_text) + 1
    digits = mantissa.replace(".", "")
    if exponent < -9:
        # Below 1e-10 the field cannot hold the value; SGP4 treats it as zero anyway.
        return " 00000-0"
    if exponent > 9:
        raise TLEError(f"{what} {value!r} does not fit the TLE exponent field")
    sign = "-" if value < 0 else " "
    # NORAD and CelesTrak write a zero exponent as "-0".
    return f"{sign}{digits}{'-' if exponent <= 0 else '+'}{abs(exponent)}"


def _format_epoch(epoch: datetime) -> str:
    epoch_utc = epoch.astimezone(UTC)
    year = epoch_utc.year
    since_year = epoch_utc - datetime(year, 1, 1, tzinfo=UTC)
    microseconds = (since_year.days * 86_400 + since_year.seconds) * 1_000_000 + (
        since_year.microseconds
    )
    ticks = (2 * microseconds + _TICK_MICROSECONDS) // (2 * _TICK_MICROSECONDS)
    rounded = datetime(year, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks * _TICK_MICROSECONDS)
    if rounded.year != year:
        year, ticks = rounded.year, 0
    if not 1957 <= year <= 2056:
        raise TLEError(f"epoch year {year} does not fit the two-digit TLE year (1957-2056)")
    day, fraction = divmod(ticks, _TICKS_PER_DAY)
    return f"{year % 100:02d}{day + 1:03d}.{fraction:08d}"


def _format_designator(object_id: str | None) -> str:
    if object_id is None:
        return " " * 8
    year, _, rest = object_id.partition("-")
    return f"{year[2:]}{rest}".ljust(8)


def _with_checksum(body: str) -> str:
    return body + str(tle_checksum(body))


def format_tle(elements: ElementSet) -> TLE:
    """Write an element set as TLE lines (values rounded to the TLE field precision).

    Catalog numbers above 99999 use Alpha-5; above 339999 raise :class:`TLEError`. As in
    published TLEs, the element set number keeps its last 4 digits and the revolution number
    its last 5, and a zero BSTAR/second derivative is written " 00000-0".
    """
    try:
        catalog_field = to_alpha5(elements.catalog_number)
    except IdentifierError as error:
        raise TLEError(str(error)) from None
    if not 0 <= elements.ephemeris_type <= 9:
        raise TLEError(f"ephemeris type {elements.ephemeris_type} does not fit one digit")
    line1 = _with_checksum(
        f"1 {catalog_field}{elements.classification} {_format_designator(elements.object_id)} "
        f"{_format_epoch(elements.epoch)} "
        f"{_format_decimal_point(elements.mean_motion_dot_rev_per_day2, 'mean motion dot')} "
        f"{_format_exponent(elements.mean_motion_ddot_rev_per_day3, 'mean motion ddot')} "
        f"{_format_exponent(elements.bstar_per_earth_radius, 'BSTAR')} "
        f"{elements.ephemeris_type} {elements.element_set_number % 10_000:4d}"
    )
    eccentricity_digits = round(elements.eccentricity * 10_000_000)
    if eccentricity_digits > 9_999_999:
        raise TLEError(f"eccentricity {elements.eccentricity!r} rounds to 1 in the TLE field")
    line2 = _with_checksum(
        f"2 {catalog_field} {elements.inclination_deg % 360.0:8.4f} "
        f"{elements.ra_of_asc_node_deg % 360.0:8.4f} {eccentricity_digits:07d} "
        f"{elements.arg_of_pericenter_deg % 360.0:8.4f} "
        f"{elements.mean_anomaly_deg % 360.0:8.4f} "
        f"{elements.mean_motion_rev_per_day:11.8f}{elements.rev_at_epoch % 100_000:5d}"
    )
    for number, line in ((1, line1), (2, line2)):
        if len(line) != TLE_LINE_LENGTH:
            raise TLEError(f"a value overflowed its field: {line!r}", line=number)
    return parse_tle(line1, line2, elements.object_name)


def iter_tles(source: str | Iterable[str], *, verify_checksum: bool = True) -> Iterator[TLE]:
    """Parse a text (or an iterable of lines, e.g. an open file) with any number of TLEs.

    Two- and three-line sets may be mixed; blank lines are skipped; a line that does not start
    with ``"1 "`` or ``"2 "`` is the name of the set that follows. Raises the first
    :class:`TLEError`, which carries the file line.
    """
    for _, item in scan_tles(source, verify_checksum=verify_checksum):
        if isinstance(item, TLEError):
            raise item
        yield item


def _scan_pair(
    line1_number: int, line1: str, file_line: int, line2: str, name: str | None, check: bool
) -> tuple[int, TLE | TLEError]:
    """A line 1 / line 2 pair of :func:`scan_tles`: the set, or its error at its file line."""
    try:
        return line1_number, parse_tle(line1, line2, name, verify_checksum=check)
    except TLEError as error:
        bad_line = line1_number if error.line == 1 else file_line
        return bad_line, error.at_file_line(bad_line)


def scan_tles(
    source: str | Iterable[str], *, verify_checksum: bool = True
) -> Iterator[tuple[int, TLE | TLEError]]:
    """Like :func:`iter_tles`, but yields (file line of line 1, set) and a set that cannot be
    read as (file line, its error); reading goes on with the next line that can start a set,
    so one bad set costs only itself: one error per broken set, none for the sets around it."""
    lines = source.splitlines() if isinstance(source, str) else source
    name: str | None = None
    name_line = 0
    pending_line1: tuple[int, str] | None = None
    for file_line, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        if pending_line1 is not None:
            line1_number, line1 = pending_line1
            pending_line1 = None
            if text.startswith("2"):
                yield _scan_pair(line1_number, line1, file_line, text, name, verify_checksum)
                name = None
                continue
            yield (
                file_line,
                TLEError(
                    "expected line 2 to follow line 1",
                    line=2,
                    columns=(1, 1),
                    file_line=file_line,
                ),
            )
            name = None  # the broken set's name; this line may start the next set
        if text.startswith("1 "):
            pending_line1 = (file_line, text)
        elif text.startswith("2 "):
            yield (
                file_line,
                TLEError(
                    "line 2 without a preceding line 1",
                    line=2,
                    columns=(1, 1),
                    file_line=file_line,
                ),
            )
            name = None
        else:
            if name is not None:
                yield (
                    name_line,
                    TLEError(
                        f"name line {name!r} is not followed by a TLE", line=0, file_line=name_line
                    ),
                )
            name, name_line = text, file_line
    if pending_line1 is not None:
        yield (
            pending_line1[0],
            TLEError("line 1 at end of input without line 2", line=1, file_line=pending_line1[0]),
        )
    elif name is not None:
        yield (
            name_line,
            TLEError(
                f"name line {name!r} at end of input without a TLE", line=0, file_line=name_line
            ),
        )
