"""Training code: the only part of :mod:`astroshield.ml` that imports PyTorch (``[ml]`` extra).

Import these modules only where training is asked for; serving needs onnxruntime alone.
"""
