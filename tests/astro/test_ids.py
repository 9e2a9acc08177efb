"""Catalog numbers and COSPAR ids, checked against the sgp4 package's own Alpha-5 codec."""

from __future__ import annotations

import pytest
from sgp4.alpha5 import from_alpha5
from sgp4.alpha5 import to_alpha5 as sgp4_to_alpha5

from astroshield.astro.ids import (
    IdentifierError,
    normalize_catalog_number,
    normalize_cospar_id,
    to_alpha5,
)


@pytest.mark.parametrize(
    "field", ["A0001", "A9999", "H5432", "J0000", "N1234", "P0000", "Z9999", "T0002"]
)
def test_alpha5_matches_sgp4(field: str) -> None:
    assert normalize_catalog_number(field) == str(from_alpha5(field))
    assert to_alpha5(normalize_catalog_number(field)) == sgp4_to_alpha5(from_alpha5(field))


def test_published_alpha5_examples() -> None:
    # Space Force Alpha-5 examples (space-track.org documentation): A0000=100000, Z9999=339999.
    assert normalize_catalog_number("A0000") == "100000"
    assert normalize_catalog_number("Z9999") == "339999"
    assert to_alpha5("25544") == "25544" and to_alpha5(5) == "00005"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("00005", "5"), (" 25544 ", "25544"), ("123456789", "123456789"), ("a0001", "100001")],
)
def test_canonical_form(given: str, canonical: str) -> None:
    assert normalize_catalog_number(given) == canonical


@pytest.mark.parametrize("bad", ["", "0", "I0001", "O0001", "A001", "1234567890", "12a45", True])
def test_bad_catalog_numbers(bad: str) -> None:
    with pytest.raises(IdentifierError):
        normalize_catalog_number(bad)


def test_alpha5_field_overflow() -> None:
    with pytest.raises(IdentifierError, match="does not fit"):
        to_alpha5("340000")


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("1998-067A", "1998-067A"),
        ("98067A", "1998-067A"),
        ("58002B", "1958-002B"),
        ("24001ABC", "2024-001ABC"),
    ],
)
def test_cospar(given: str, canonical: str) -> None:
    assert normalize_cospar_id(given) == canonical


@pytest.mark.parametrize(
    "bad", ["1998-67A", "1956-001A", "1998-000A", "1998-067", "1998-067O", "98-067A"]
)
def test_bad_cospar(bad: str) -> None:
    with pytest.raises(IdentifierError):
        normalize_cospar_id(bad)


def test_launch_only_designator_needs_opt_in() -> None:
    # CelesTrak analyst objects carry only their launch (e.g. 81123 -> 1970-025).
    with pytest.raises(IdentifierError):
        normalize_cospar_id("1970-025")
    assert normalize_cospar_id("1970-025", allow_launch_only=True) == "1970-025"
    assert normalize_cospar_id("70025", allow_launch_only=True) == "1970-025"
    with pytest.raises(IdentifierError):
        normalize_cospar_id("1970-000", allow_launch_only=True)
