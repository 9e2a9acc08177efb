"""Figures as PNG bytes: each builds a :class:`matplotlib.figure.Figure` on an Agg canvas, so
plots are thread-safe and need neither pyplot's global state nor temporary files.
"""
