"""Two-dimensional (short-encounter) probability of collision.

Methods and sources
-------------------
* ``"foster"``: J. L. Foster & H. S. Estes, *A Parametric Analysis of Orbital Debris Collision
  Probability and Maneuver Rate for Space Vehicles*, NASA JSC-25898 (1992), as implemented by
  NASA CARA in ``Pc2D_Foster.m`` (github.com/nasa/CARA_Analysis_Tools). The 2-D Gaussian is
  integrated over the hard-body disk in the encounter plane. The inner (chord) integral is done
  exactly with erfc, as in Elrod's method and Hall's ``PcCircle.m``; the outer one is adaptive
  (QUADPACK via scipy) with relative tolerance ``rel_tol`` (default 1e-10). Also the CARA
  ``"square"`` and ``"square_equal_area"`` hard-body shapes.
* ``"chan"``: F. K. Chan, *Spacecraft Collision Probability*, Aerospace Press (2008), ch. 5
  (the series first given at ISCOPS 1997), equal-area disk approximation; the default number
  of terms follows Chan's recommendation as coded in Orekit ``Chan1997.java``.
* Vectorised 2-D Pc (:func:`pc_encounter_plane_batch`): the same erfc chord integral with a
  fixed-order Gauss-Legendre rule in the angle ``theta`` (``x = x0 + R sin(theta)``), which
  removes the square-root endpoint singularity of the chord length. This is the idea of Hall's
  Gauss-Chebyshev ``PcCircle`` (D. T. Hall, "Implementation recommendations and usage
  boundaries for the two-dimensional probability of collision calculation", AAS 19-632).
* :func:`pc_max`: S. Alfano, "Relating position uncertainty to maximum conjunction
  probability", J. Astronaut. Sci. 53(2), 2005 - maximum over a scale ``k^2`` of the combined
  covariance.

Conventions (CARA): relative state ``r = r1 - r2``, ``v = v1 - v2``; encounter frame
``y = v/|v|``, ``z = (r x v)/|r x v|``, ``x = y x z``; combined covariance ``C1 + C2`` projected
onto ``(x, z)``. With ``miss_convention="cara"`` the full 3-D ``|r|`` is put on the x axis (as
CARA does); ``"projected"`` uses the in-plane component. At TCA the two agree.

Modules: :mod:`.geometry` (the encounter plane), :mod:`.integrals` (Foster and Chan),
:mod:`.scalar` (one conjunction), :mod:`.batch` (many, vectorised) and :mod:`.alfano`
(maximum Pc).
"""

from astroshield.astro.conjunction.pc.planar.alfano import (
    PcMaxResult,
    pc_max,
    pc_max_encounter_plane,
)
from astroshield.astro.conjunction.pc.planar.batch import pc_2d_batch, pc_encounter_plane_batch
from astroshield.astro.conjunction.pc.planar.geometry import (
    CARA_FCLIP,
    DegenerateGeometryError,
    EncounterPlane,
    MissConvention,
    encounter_plane,
    encounter_plane_batch,
)
from astroshield.astro.conjunction.pc.planar.integrals import (
    DEFAULT_REL_TOL,
    chan_recommended_terms,
)
from astroshield.astro.conjunction.pc.planar.scalar import (
    HbrType,
    Method,
    PcResult,
    pc_2d,
    pc_2d_result,
    pc_encounter_plane,
    pc_encounter_plane_result,
)

__all__ = [
    "CARA_FCLIP",
    "DEFAULT_REL_TOL",
    "DegenerateGeometryError",
    "EncounterPlane",
    "HbrType",
    "Method",
    "MissConvention",
    "PcMaxResult",
    "PcResult",
    "chan_recommended_terms",
    "encounter_plane",
    "encounter_plane_batch",
    "pc_2d",
    "pc_2d_batch",
    "pc_2d_result",
    "pc_encounter_plane",
    "pc_encounter_plane_batch",
    "pc_encounter_plane_result",
    "pc_max",
    "pc_max_encounter_plane",
]
