"""colocalize: colocalization analysis for fluorescence microscopy.

A numpy/scipy core for colocalization coefficients, ImageJ-identical thresholds and
cross-correlation colocalization, usable alone, from the command line, and from Fiji/ImageJ.
"""

from colocalize import data as data  # public submodule: colocalize.data.neuron_4ch()
from colocalize._ccc import (
    CorrelationProfile,
    CrossCorrelation,
    FrameTable,
    GaussianComponent,
    cross_correlation,
    cross_correlation_profile,
)
from colocalize._coefficients import (
    Coefficients,
    TripleCoefficients,
    coefficients,
    triple_coefficients,
)
from colocalize._histogram import BivariateHistogram, bivariate_histogram
from colocalize._io import Image, read_image, write_image
from colocalize._table import coefficient_table
from colocalize._validation import ColocalizeWarning

__version__ = "0.1.0.dev0"

__all__ = [
    "BivariateHistogram",
    "Coefficients",
    "ColocalizeWarning",
    "CorrelationProfile",
    "CrossCorrelation",
    "FrameTable",
    "GaussianComponent",
    "Image",
    "TripleCoefficients",
    "__version__",
    "bivariate_histogram",
    "coefficient_table",
    "coefficients",
    "cross_correlation",
    "cross_correlation_profile",
    "read_image",
    "triple_coefficients",
    "write_image",
]
