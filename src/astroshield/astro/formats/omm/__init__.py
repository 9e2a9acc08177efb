"""CCSDS Orbit Mean-Elements Messages (502.0-B-3, SGP4 theory) in KVN, XML, JSON and CSV.

JSON and CSV follow CelesTrak's flat GP flavour (one object/row per element set with the OMM
keywords as names). Values are written with ``repr`` so write → read gives identical floats.
Errors name the record (``row``, ``line``, ``segment`` or ``object``), its line in the input
and the keyword. The ``scan_omm_*`` readers yield a record that cannot be read as its error and
go on with the next record; the ``parse_omm_*`` readers raise the first error. A document that
cannot be read at all (JSON or XML syntax, a CSV without the key columns) raises either way.

Epochs are CCSDS time codes (``YYYY-MM-DDThh:mm:ss[.f]`` or ``YYYY-DDDThh:mm:ss[.f]``, optional
trailing ``Z``) read as UTC. KVN and XML are read with the shared CCSDS readers of
:mod:`astroshield.astro.formats.ccsds`; XML with any DOCTYPE is refused, which blocks
entity-expansion and external-entity attacks.

Modules: :mod:`.keywords` (the keyword tables), :mod:`.records` (one flat record <-> an
element set, the error type), one module per encoding (:mod:`.csv`, :mod:`.json`, :mod:`.kvn`,
:mod:`.xml`) and :mod:`.files` (files by suffix, the SGP4 catalog).
"""

from astroshield.astro.formats.omm.csv import format_omm_csv, parse_omm_csv, scan_omm_csv
from astroshield.astro.formats.omm.files import (
    OMMCatalog,
    load_omm_catalog,
    read_omm_file,
    satrecs_for,
)
from astroshield.astro.formats.omm.json import format_omm_json, parse_omm_json, scan_omm_json
from astroshield.astro.formats.omm.keywords import CELESTRAK_COLUMNS, KVN_MARKER
from astroshield.astro.formats.omm.kvn import format_omm_kvn, parse_omm_kvn, scan_omm_kvn
from astroshield.astro.formats.omm.records import OMMError
from astroshield.astro.formats.omm.xml import format_omm_xml, parse_omm_xml, scan_omm_xml

__all__ = [
    "CELESTRAK_COLUMNS",
    "KVN_MARKER",
    "OMMCatalog",
    "OMMError",
    "format_omm_csv",
    "format_omm_json",
    "format_omm_kvn",
    "format_omm_xml",
    "load_omm_catalog",
    "parse_omm_csv",
    "parse_omm_json",
    "parse_omm_kvn",
    "parse_omm_xml",
    "read_omm_file",
    "satrecs_for",
    "scan_omm_csv",
    "scan_omm_json",
    "scan_omm_kvn",
    "scan_omm_xml",
]
