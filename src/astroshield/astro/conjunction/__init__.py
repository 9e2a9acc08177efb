"""Conjunction assessment: all-vs-all and one-vs-many screening (:mod:`.screening`),
collision probability (:mod:`.pc`), CARA risk tiers and Pc trend (:mod:`.risk`), the
avoidance trade (:mod:`.avoidance`) and the every-method Pc report of a CDM (:mod:`.report`).
"""
