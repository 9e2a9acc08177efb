"""Pure astrodynamics library: no web or database imports, usable from a notebook.

Subject packages, lowest first (a package imports only those above it in this list):

* :mod:`~astroshield.astro.ids` — catalog numbers and COSPAR designators, the identity every
  other package uses;
* :mod:`~astroshield.astro.dynamics` — element sets, SGP4 propagation, frames, time scales,
  orbit geometry, covariance checks, ephemeris interpolation;
* :mod:`~astroshield.astro.formats` — the files operators exchange: TLE, CCSDS OMM, OEM and
  CDM, and the one element-file reader every command uses;
* :mod:`~astroshield.astro.conjunction` — screening, collision probability, risk tiers,
  avoidance trades and the Pc report of a CDM;
* :mod:`~astroshield.astro.ccdm` — maneuver detection, proximity (RPO), pattern of life and
  intent;
* :mod:`~astroshield.astro.ground` — passes, eclipses, ground tracks, orbital lifetime;
* :mod:`~astroshield.astro.plots` — figures rendered to PNG bytes (Agg canvas, no pyplot).
"""
