"""CCSDS Conjunction Data Message (CDM, CCSDS 508.0-B-1) in KVN and XML: read, write, validate.

The message is held in frozen dataclasses (:class:`Cdm`, :class:`CdmHeader`,
:class:`CdmRelativeData`, :class:`CdmObject` with :class:`CdmObjectMetadata`,
:class:`CdmOdParameters`, :class:`CdmAdditionalParameters`, :class:`CdmStateVector`,
:class:`CdmCovariance`); ``write -> read`` gives an equal object in both encodings.

Conventions and limits:

* Units are those of the standard (508.0-B-1 tables 3-2 to 3-4) and are kept in the dataclasses:
  relative data in m and m/s, state vectors in km and km/s, the RTN covariance in m², m²/s and
  m²/s². A bracketed KVN unit or an XML ``units`` attribute that contradicts the standard's unit
  (e.g. ``MISS_DISTANCE = 0.7 [km]``) is rejected rather than converted.
* All CDM times are UTC (508.0-B-1 §3.2); epochs are naive :class:`datetime.datetime` UTC labels
  with microsecond resolution, parsed and written like the OEM module (no leap-second labels).
* The covariance is the RTN lower triangle (§3.5.3): the 21 position/velocity elements are
  mandatory, the drag / SRP / thrust rows (CDRG_*, CSRP_*, CTHR_*) optional but, when present,
  complete and in order, giving a 7x7, 8x8 or 9x9 matrix. The RTN axes of each object are built
  from that object's own state (R along r, N along r x v), velocities resolved along those axes
  (no frame-rotation term), as :func:`astroshield.astro.dynamics.frames.covariance_from_rtn`
  assumes.
* Keywords of the CDM 2.0 draft that fit this model (CLASSIFICATION, CONJUNCTION_ID, HBR, ...)
  are accepted as optional fields; other unknown keywords are errors (typos must not pass).
* A covariance that is not positive definite is *reported*, not refused: the reader warns with
  :class:`CdmWarning` and records the problem in :attr:`Cdm.issues` (``strict=True`` raises).

Every validation problem raises :class:`CdmError`, whose message names the keyword and the line
(``"line 31, CR_R: missing mandatory keyword"``).

XML is parsed with the standard-library expat parser with DTDs refused outright, which blocks
entity-expansion ("billion laughs") and external-entity attacks (the reader of
:mod:`astroshield.astro.formats.ccsds`, shared with ``oem`` and ``omm``).
"""

from astroshield.astro.formats.cdm.errors import CdmError, CdmWarning
from astroshield.astro.formats.cdm.files import loads, read_cdm, write_cdm
from astroshield.astro.formats.cdm.keywords import COVARIANCE_KEYWORDS, REF_FRAMES
from astroshield.astro.formats.cdm.kvn import dumps_kvn, loads_kvn
from astroshield.astro.formats.cdm.model import (
    Cdm,
    CdmAdditionalParameters,
    CdmCovariance,
    CdmHeader,
    CdmObject,
    CdmObjectMetadata,
    CdmOdParameters,
    CdmRelativeData,
    CdmStateVector,
)
from astroshield.astro.formats.cdm.xml import dumps_xml, loads_xml

__all__ = [
    "COVARIANCE_KEYWORDS",
    "REF_FRAMES",
    "Cdm",
    "CdmAdditionalParameters",
    "CdmCovariance",
    "CdmError",
    "CdmHeader",
    "CdmObject",
    "CdmObjectMetadata",
    "CdmOdParameters",
    "CdmRelativeData",
    "CdmStateVector",
    "CdmWarning",
    "dumps_kvn",
    "dumps_xml",
    "loads",
    "loads_kvn",
    "loads_xml",
    "read_cdm",
    "write_cdm",
]
