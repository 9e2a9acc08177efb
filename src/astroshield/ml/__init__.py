"""Machine learning for CCDM (issue 18): simulated training data, models served with ONNX.

A pure library like :mod:`astroshield.astro` (no web or database imports; it reads the
astrodynamics of ``astro``). Layout, so the later models of the issue slot in beside the first:

- :mod:`.features`: per-object normalised features of an element-set history (shared by
  training and serving);
- :mod:`.noise_estimate`: TLE noise and cadence per orbit regime, estimated from real histories;
- :mod:`.simulate`: the seeded scenario simulator (element-set histories labelled by
  construction, Parquet plus a data card); new scenario kinds register in ``SCENARIOS``;
- :mod:`.adversary_encoder`: the AdversaryEncoder served with onnxruntime only (no torch);
- :mod:`.evaluation`: ROC AUC on the real histories beside the non-ML baselines;
- :mod:`.training`: everything that needs PyTorch (the ``[ml]`` extra), imported lazily;
- ``models/``: the small trained models shipped in the package, each with JSON metadata.

ThreatDetectorNN, StrategyGenerator and ActorCritic (later slices) get their own serving
module beside :mod:`.adversary_encoder` and a trainer in :mod:`.training`.
"""
