"""Either encoding: detection from the text, and the file helpers."""

from __future__ import annotations

from pathlib import Path

from astroshield.astro.formats import ccsds
from astroshield.astro.formats.oem.kvn import dumps_kvn, loads_kvn
from astroshield.astro.formats.oem.model import Oem
from astroshield.astro.formats.oem.xml import dumps_xml, loads_xml


def loads(text: str | bytes) -> Oem:
    """Parse either encoding, detected from the first non-blank character."""
    text = ccsds.decode_message(text)
    return loads_xml(text) if ccsds.is_xml(text) else loads_kvn(text)


def read_oem(path: str | Path) -> Oem:
    """Read a KVN or XML OEM file."""
    return loads(Path(path).read_bytes())


def write_oem(oem: Oem, path: str | Path, *, fmt: str = "kvn") -> None:
    """Write ``oem`` to ``path`` as ``fmt`` = ``"kvn"`` or ``"xml"``."""
    if fmt == "kvn":
        text = dumps_kvn(oem)
    elif fmt == "xml":
        text = dumps_xml(oem)
    else:
        raise ValueError(f"fmt must be 'kvn' or 'xml', got {fmt!r}")
    Path(path).write_text(text, encoding="utf-8")
