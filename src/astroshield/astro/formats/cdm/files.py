"""Either encoding: detection from the text, and the file helpers."""

from __future__ import annotations

from pathlib import Path

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.cdm.kvn import dumps_kvn, loads_kvn
from astroshield.astro.formats.cdm.model import Cdm
from astroshield.astro.formats.cdm.xml import dumps_xml, loads_xml


def loads(text: str | bytes, *, strict: bool = False) -> Cdm:
    """Parse either encoding, detected from the first non-blank character.

    A covariance that is not positive definite is reported through :class:`CdmWarning` and
    :attr:`Cdm.issues`; with ``strict=True`` it raises :class:`CdmError` instead.
    """
    text = ccsds.decode_message(text)
    if ccsds.is_xml(text):
        return loads_xml(text, strict=strict)
    return loads_kvn(text, strict=strict)


def read_cdm(path: str | Path, *, strict: bool = False) -> Cdm:
    """Read a KVN or XML CDM file."""
    return loads(Path(path).read_bytes(), strict=strict)


def write_cdm(cdm: Cdm, path: str | Path, *, fmt: str = "kvn") -> None:
    """Write ``cdm`` to ``path`` as ``fmt`` = ``"kvn"`` or ``"xml"``."""
    if fmt == "kvn":
        text = dumps_kvn(cdm)
    elif fmt == "xml":
        text = dumps_xml(cdm)
    else:
        raise ValueError(f"fmt must be 'kvn' or 'xml', got {fmt!r}")
    Path(path).write_text(text, encoding="utf-8")
