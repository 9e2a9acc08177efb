"""Orbital dynamics: the mean-element set (:mod:`.elements`), SGP4 propagation
(:mod:`.propagation`), reference frames (:mod:`.frames`), time scales (:mod:`.timescales`),
orbit geometry (:mod:`.orbit`), covariance validation and repair (:mod:`.covariance`) and
Lagrange/Hermite interpolation of ephemerides (:mod:`.interpolation`).

Imports nothing else of :mod:`astroshield`; every other astro package builds on this one.
"""
