"""Collision probability (Pc): 2-D Foster/Chan, vectorised 2-D, Alfano max, 3-D, Monte Carlo."""

from astroshield.astro.conjunction.pc._twobody import MU_EARTH_KM3_S2, kepler_propagate
from astroshield.astro.conjunction.pc.monte_carlo import (
    MonteCarloResult,
    binomial_interval,
    pc_monte_carlo,
    pc_monte_carlo_encounter_plane,
)
from astroshield.astro.conjunction.pc.planar import (
    DegenerateGeometryError,
    EncounterPlane,
    PcMaxResult,
    PcResult,
    chan_recommended_terms,
    encounter_plane,
    encounter_plane_batch,
    pc_2d,
    pc_2d_batch,
    pc_2d_result,
    pc_encounter_plane,
    pc_encounter_plane_batch,
    pc_encounter_plane_result,
    pc_max,
    pc_max_encounter_plane,
)
from astroshield.astro.conjunction.pc.three_d import Pc3DResult, pc_3d
from astroshield.astro.dynamics.covariance import CovarianceError

__all__ = [
    "MU_EARTH_KM3_S2",
    "CovarianceError",
    "DegenerateGeometryError",
    "EncounterPlane",
    "MonteCarloResult",
    "Pc3DResult",
    "PcMaxResult",
    "PcResult",
    "binomial_interval",
    "chan_recommended_terms",
    "encounter_plane",
    "encounter_plane_batch",
    "kepler_propagate",
    "pc_2d",
    "pc_2d_batch",
    "pc_2d_result",
    "pc_3d",
    "pc_encounter_plane",
    "pc_encounter_plane_batch",
    "pc_encounter_plane_result",
    "pc_max",
    "pc_max_encounter_plane",
    "pc_monte_carlo",
    "pc_monte_carlo_encounter_plane",
]
