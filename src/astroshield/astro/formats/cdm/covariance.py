"""The RTN covariance of each object: which rows a message carries and whether it is usable.

The 21 position/velocity elements are mandatory; the drag, SRP and thrust rows (CDRG_*,
CSRP_*, CTHR_*) are optional but, when present, complete and in order (508.0-B-1 §3.5.3). A
covariance that is not positive definite is reported, not refused: a :class:`CdmWarning` and
an entry in :attr:`Cdm.issues`, or a :class:`CdmError` with ``strict=True``.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from astroshield.astro.formats.cdm.errors import CdmError, CdmWarning
from astroshield.astro.formats.cdm.keywords import (
    COV_SIZES,
    COV_SPECS,
    COVARIANCE_KEYWORDS,
    SEGMENT_ORDER,
)
from astroshield.astro.formats.cdm.values import Raw, missing_line

if TYPE_CHECKING:
    from astroshield.astro.formats.cdm.model import Cdm, CdmCovariance


def element_count(cov_raws: dict[str, Raw], all_raws: dict[str, Raw], end: int) -> int:
    """How many lower-triangle elements (21, 28, 36 or 45) the covariance block carries.

    Raises :class:`CdmError` for a missing mandatory element (located among ``all_raws``, the
    whole segment's keywords) or an incomplete optional row; ``end`` is the segment's last line.
    """
    for spec in COV_SPECS[:21]:
        if spec.keyword not in cov_raws or cov_raws[spec.keyword].text == "":
            raw = cov_raws.get(spec.keyword)
            line = (
                raw.line
                if raw is not None
                else missing_line(spec.keyword, SEGMENT_ORDER, all_raws, end)
            )
            raise CdmError("missing mandatory keyword", keyword=spec.keyword, line=line)
    # Optional rows (DRG, SRP, THR) must be complete and without gaps to form a 7x7..9x9.
    count = 21
    for size in COV_SIZES[1:]:
        row = COVARIANCE_KEYWORDS[count:size]
        if any(k in cov_raws for k in row) or any(
            k in cov_raws for k in COVARIANCE_KEYWORDS[size:]
        ):
            for key in row:
                if key not in cov_raws:
                    raise CdmError(
                        "incomplete optional covariance row (rows DRG, SRP, THR must be "
                        "complete and in order)",
                        keyword=key,
                        line=missing_line(key, COVARIANCE_KEYWORDS, cov_raws, end),
                    )
            count = size
    return count


def definiteness_problem(cov: CdmCovariance) -> str | None:
    """Why ``cov`` is not positive definite, None when it is."""
    m = cov.matrix()
    d = np.diag(m)
    if np.any(d <= 0.0):
        i = int(np.argmax(d <= 0.0))
        return f"diagonal element {i + 1} is {float(d[i]):.6e}, not positive"
    # Eigenvalues of the correlation matrix: unit-free, so m² and m²/s² rows weigh equally.
    s = 1.0 / np.sqrt(d)
    w = np.linalg.eigvalsh(m * s[:, None] * s[None, :])
    if float(w[0]) <= 0.0:
        return (
            f"covariance is not positive definite (smallest correlation-matrix eigenvalue "
            f"{float(w[0]):.6e})"
        )
    return None


def report_covariances(
    cdm: Cdm, cov_lines: dict[str, int | None], *, strict: bool, stacklevel: int
) -> Cdm:
    """``cdm`` with its covariance problems in ``issues``, each also warned about (raised with
    ``strict``); ``cov_lines`` gives each object's CR_R line, ``stacklevel`` the reader's
    caller."""
    issues: list[str] = []
    for obj in (cdm.object1, cdm.object2):
        problem = definiteness_problem(obj.covariance)
        if problem is None:
            continue
        line = cov_lines.get(obj.metadata.object)
        err = CdmError(f"{obj.metadata.object} {problem}", keyword="CR_R", line=line)
        if strict:
            raise err
        issues.append(str(err))
        warnings.warn(CdmWarning(str(err), keyword="CR_R", line=line), stacklevel=stacklevel + 1)
    return replace(cdm, issues=tuple(issues)) if issues else cdm
