"""colocalize: colocalization analysis for fluorescence microscopy.

A numpy/scipy core for colocalization coefficients, ImageJ-identical thresholds and
cross-correlation colocalization, usable alone, from the command line, and from Fiji/ImageJ.
"""

from colocalize import data as data  # public submodule: colocalize.data.neuron_4ch()
from colocalize._background import (
    ThresholdEvaluation,
    ThresholdModel,
    ThresholdRange,
    apply_threshold,
    histogram_deciles,
)
from colocalize._batch import BatchResult, batch
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
from colocalize._costes import (
    CostesResult,
    SignificanceResult,
    costes_significance,
    costes_threshold,
)
from colocalize._histogram import BivariateHistogram, bivariate_histogram
from colocalize._ica import LiICA, LiICAHistograms, li_ica
from colocalize._io import Image, read_image, write_image
from colocalize._objects import (
    LabelMatch,
    expand_labels,
    match_labels,
    measure_objects,
    ring_mask,
)
from colocalize._puncta import (
    ChannelObjects,
    ObjectColocalization,
    PlacementTest,
    label_puncta,
    object_colocalization,
)
from colocalize._report import write_report
from colocalize._segment import segment_cells, segment_nuclei
from colocalize._table import coefficient_table
from colocalize._threshold import (
    threshold,
    threshold_from_histogram,
    threshold_local,
    threshold_methods,
    threshold_per_slice,
)
from colocalize._translocation import link_labels, translocation
from colocalize._validation import ColocalizeWarning
from colocalize._vansteensel import VanSteenselCCF, van_steensel_ccf

__version__ = "0.1.0.dev0"

__all__ = [
    "BatchResult",
    "BivariateHistogram",
    "ChannelObjects",
    "Coefficients",
    "ColocalizeWarning",
    "CorrelationProfile",
    "CostesResult",
    "CrossCorrelation",
    "FrameTable",
    "GaussianComponent",
    "Image",
    "LabelMatch",
    "LiICA",
    "LiICAHistograms",
    "ObjectColocalization",
    "PlacementTest",
    "SignificanceResult",
    "ThresholdEvaluation",
    "ThresholdModel",
    "ThresholdRange",
    "TripleCoefficients",
    "VanSteenselCCF",
    "__version__",
    "apply_threshold",
    "batch",
    "bivariate_histogram",
    "coefficient_table",
    "coefficients",
    "costes_significance",
    "costes_threshold",
    "cross_correlation",
    "cross_correlation_profile",
    "expand_labels",
    "histogram_deciles",
    "label_puncta",
    "li_ica",
    "link_labels",
    "match_labels",
    "measure_objects",
    "object_colocalization",
    "read_image",
    "ring_mask",
    "segment_cells",
    "segment_nuclei",
    "threshold",
    "threshold_from_histogram",
    "threshold_local",
    "threshold_methods",
    "threshold_per_slice",
    "translocation",
    "triple_coefficients",
    "van_steensel_ccf",
    "write_image",
    "write_report",
]
