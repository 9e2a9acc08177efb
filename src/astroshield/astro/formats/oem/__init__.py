"""CCSDS Orbit Ephemeris Message (OEM, CCSDS 502.0-B-3) in KVN and XML: read, write, validate.

The message is held in frozen dataclasses (:class:`Oem`, :class:`OemHeader`, :class:`OemSegment`,
:class:`OemMetadata`, :class:`OemStateVector`, :class:`OemCovariance`); ``write -> read`` gives an
equal object for both encodings.

Conventions and limits:

* Epochs are naive :class:`datetime.datetime` calendar labels in the segment's ``TIME_SYSTEM``
  (which need not be UTC), with microsecond resolution: finer digits in a file are rounded to the
  microsecond when read. Leap-second labels (``23:59:60``) cannot be represented and are rejected.
* Day-of-year epochs (``YYYY-DDDThh:mm:ss``) and a trailing ``Z`` are accepted on input; output
  always uses ``YYYY-MM-DDThh:mm:ss.ffffff``.
* Floats are written in Python's shortest round-trip form, so values survive a round trip
  exactly. Keyword values are stripped of surrounding blanks (KVN cannot carry them).
* Covariances are stored as the 21 lower-triangular elements in CCSDS row order
  (x; y x, y y; z ...; z_dot ... z_dot z_dot), km² / km²·s⁻¹ / km²·s⁻².
* Comments are kept per block: header, metadata, data (all data-section comments are written
  before the first ephemeris line) and per covariance matrix.

Every validation problem raises :class:`OemError`, whose message names the keyword (or element)
and the line number in the input.

XML is parsed with the standard-library expat parser with DTDs refused outright, which blocks
entity-expansion ("billion laughs") and external-entity attacks; ``defusedxml`` is not needed
(see :mod:`astroshield.astro.formats.ccsds`, shared with the other CCSDS message modules).

Modules: :mod:`.keywords` (keyword and element names), :mod:`.model` (the dataclasses),
:mod:`.values` (epochs and numbers), :mod:`.checks` (the semantic rules), :mod:`.blocks`
(header/metadata blocks shared by the codecs), :mod:`.kvn` and :mod:`.xml` (the two encodings)
and :mod:`.files` (either encoding, files).
"""

from astroshield.astro.formats.oem.errors import OemError
from astroshield.astro.formats.oem.files import loads, read_oem, write_oem
from astroshield.astro.formats.oem.keywords import COVARIANCE_ELEMENTS
from astroshield.astro.formats.oem.kvn import dumps_kvn, loads_kvn
from astroshield.astro.formats.oem.model import (
    Oem,
    OemCovariance,
    OemHeader,
    OemMetadata,
    OemSegment,
    OemStateVector,
)
from astroshield.astro.formats.oem.values import format_epoch, parse_epoch
from astroshield.astro.formats.oem.xml import dumps_xml, loads_xml

__all__ = [
    "COVARIANCE_ELEMENTS",
    "Oem",
    "OemCovariance",
    "OemError",
    "OemHeader",
    "OemMetadata",
    "OemSegment",
    "OemStateVector",
    "dumps_kvn",
    "dumps_xml",
    "format_epoch",
    "loads",
    "loads_kvn",
    "loads_xml",
    "parse_epoch",
    "read_oem",
    "write_oem",
]
