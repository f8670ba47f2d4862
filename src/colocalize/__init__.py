"""colocalize: colocalization analysis for fluorescence microscopy.

A numpy/scipy core for colocalization coefficients, ImageJ-identical thresholds and
cross-correlation colocalization, usable alone, from the command line, and from Fiji/ImageJ.
"""

from colocalize._validation import ColocalizeWarning

__version__ = "0.1.0.dev0"

__all__ = [
    "ColocalizeWarning",
    "__version__",
]
