"""Data formats: TLE (:mod:`.tle`), CCSDS Orbit Mean-elements (:mod:`.omm`), Orbit Ephemeris
(:mod:`.oem`) and Conjunction Data (:mod:`.cdm`) messages, with their shared KVN/XML pieces
(:mod:`.ccsds`); and the single element-set file reader every command uses
(:mod:`.element_files`).

Readers raise located errors (file, line, field); writers round-trip what the readers accept.
"""
