"""Reading request bodies (API), no database; files: tests/astro/test_element_files.py."""

from __future__ import annotations

import pytest

from astroshield.catalog.formats import parse_upload
from astroshield.errors import InvalidInputError
from tests.catalog.conftest import CRYOSAT_TLE, tle_head


def test_upload_skips_an_unreadable_set_or_with_strict_refuses_it() -> None:
    text = tle_head(CRYOSAT_TLE, 2) + "1 36508U garbage\n"
    parsed = parse_upload(text.encode(), "text/plain")
    assert len(parsed.sets) == 2 and parsed.lines == [1, 3]
    assert [(p.line, p.where) for p in parsed.skipped] == [(5, "line 5")]
    with pytest.raises(InvalidInputError) as raised:
        parse_upload(text.encode(), "text/plain", strict=True)
    assert raised.value.errors[0]["loc"] == ["body", "line 5"]

    with pytest.raises(InvalidInputError) as raised:
        parse_upload(b"", "application/json")
    assert raised.value.errors[0]["loc"] == ["body", "JSON line 1"]

    with pytest.raises(InvalidInputError, match="no element set"):
        parse_upload(b"[]", "application/json")
    with pytest.raises(InvalidInputError, match="UTF-8"):
        parse_upload(b"\xff\xfe", "text/plain")
