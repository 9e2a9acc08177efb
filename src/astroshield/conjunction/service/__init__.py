"""The conjunction service, one module per concern.

- :mod:`.intake`: parse a CDM, compute every Pc, open or update its event, raise the alert.
- :mod:`.events`: events and their CDMs as a caller reads them (get-or-404, listings,
  history, the CDM as text).
- :mod:`.alerting`: the Pc alert rule, feeding it, and closing events whose TCA has passed.
- :mod:`.plots`: the encounter-plane and Pc-history PNGs of an event.
- :mod:`.avoidance`: the avoidance trade on an event's latest CDM.
- :mod:`.export`: an event as a CDM, received or built from the catalog.
- :mod:`.screening_jobs`: request, run and fail one-vs-all screenings.

The numerical work (Pc by every method, plots, screening, avoidance) is CPU bound and runs
in worker threads so the event loop keeps serving other requests meanwhile.
"""
