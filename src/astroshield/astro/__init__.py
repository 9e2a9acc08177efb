"""Pure astrodynamics library: no web or database imports, usable from a notebook."""
