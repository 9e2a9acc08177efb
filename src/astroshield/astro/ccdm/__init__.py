"""Camouflage, concealment, deception and maneuvering: maneuver detection from element-set
histories (:mod:`.maneuvers`), rendezvous and proximity operations (:mod:`.rpo`), an object's
pattern of life (:mod:`.pattern_of_life`) and the intent assessment that weighs them
(:mod:`.intent`).
"""
