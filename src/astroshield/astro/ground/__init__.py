"""Where a spacecraft is seen from the ground: station passes (:mod:`.passes`), eclipses
(:mod:`.eclipse`), ground tracks with their map (:mod:`.groundtrack`) and orbital lifetime
under drag (:mod:`.lifetime`).
"""
