"""OMM files, whatever the format (chosen from the suffix), and the SGP4 catalog built from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sgp4.api import Satrec

from astroshield.astro.dynamics.elements import ElementSet, to_satrec
from astroshield.astro.formats.omm.csv import parse_omm_csv
from astroshield.astro.formats.omm.json import parse_omm_json
from astroshield.astro.formats.omm.kvn import parse_omm_kvn
from astroshield.astro.formats.omm.xml import parse_omm_xml


@dataclass(frozen=True, slots=True)
class OMMCatalog:
    """Element sets and their initialised SGP4 records, index for index."""

    elements: list[ElementSet]
    satrecs: list[Satrec]


def read_omm_file(path: str | Path) -> list[ElementSet]:
    """Read an OMM file, choosing the format from the suffix (.csv, .json, .xml, else KVN)."""
    file_path = Path(path)
    suffix = file_path.suffix.lower()
    if suffix == ".csv":
        with file_path.open(newline="", encoding="utf-8") as handle:
            return parse_omm_csv(handle)
    text = file_path.read_text(encoding="utf-8")
    if suffix == ".json":
        return parse_omm_json(text)
    if suffix == ".xml":
        return parse_omm_xml(text)
    return parse_omm_kvn(text)


def load_omm_catalog(path: str | Path, opsmode: str = "i") -> OMMCatalog:
    """Read an OMM file and initialise one SGP4 record per element set (WGS72)."""
    elements = read_omm_file(path)
    return OMMCatalog(elements=elements, satrecs=satrecs_for(elements, opsmode))


def satrecs_for(elements: Sequence[ElementSet], opsmode: str = "i") -> list[Satrec]:
    """SGP4 records for element sets, in order."""
    return [to_satrec(element_set, opsmode) for element_set in elements]
