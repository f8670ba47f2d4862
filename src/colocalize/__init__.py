"""colocalize: colocalization analysis for fluorescence microscopy.

A numpy/scipy core for colocalization coefficients, ImageJ-identical thresholds and
cross-correlation colocalization, usable alone, from the command line, and from Fiji/ImageJ.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the public names, for type checkers; at run time they load on first use
    from colocalize import data as data
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
    from colocalize._tos import (
        ThresholdOverlapScore,
        threshold_overlap_score,
        top_percent_threshold,
    )
    from colocalize._translocation import link_labels, translocation
    from colocalize._validation import ColocalizeWarning
    from colocalize._vansteensel import VanSteenselCCF, van_steensel_ccf

__version__ = "0.1.0.dev0"

# Public name -> the module that defines it (or, for ``data``, the submodule itself). Nothing is
# imported with the package: `colocalize --version`, `--help` and every sub-command load only what
# they use (numpy, scipy, pandas, tifffile come with the first name that needs them; PEP 562).
_LAZY: dict[str, str] = {
    "data": "colocalize.data",
    "ThresholdEvaluation": "colocalize._background",
    "ThresholdModel": "colocalize._background",
    "ThresholdRange": "colocalize._background",
    "apply_threshold": "colocalize._background",
    "histogram_deciles": "colocalize._background",
    "BatchResult": "colocalize._batch",
    "batch": "colocalize._batch",
    "CorrelationProfile": "colocalize._ccc",
    "CrossCorrelation": "colocalize._ccc",
    "FrameTable": "colocalize._ccc",
    "GaussianComponent": "colocalize._ccc",
    "cross_correlation": "colocalize._ccc",
    "cross_correlation_profile": "colocalize._ccc",
    "Coefficients": "colocalize._coefficients",
    "TripleCoefficients": "colocalize._coefficients",
    "coefficients": "colocalize._coefficients",
    "triple_coefficients": "colocalize._coefficients",
    "CostesResult": "colocalize._costes",
    "SignificanceResult": "colocalize._costes",
    "costes_significance": "colocalize._costes",
    "costes_threshold": "colocalize._costes",
    "BivariateHistogram": "colocalize._histogram",
    "bivariate_histogram": "colocalize._histogram",
    "LiICA": "colocalize._ica",
    "LiICAHistograms": "colocalize._ica",
    "li_ica": "colocalize._ica",
    "Image": "colocalize._io",
    "read_image": "colocalize._io",
    "write_image": "colocalize._io",
    "LabelMatch": "colocalize._objects",
    "expand_labels": "colocalize._objects",
    "match_labels": "colocalize._objects",
    "measure_objects": "colocalize._objects",
    "ring_mask": "colocalize._objects",
    "ChannelObjects": "colocalize._puncta",
    "ObjectColocalization": "colocalize._puncta",
    "PlacementTest": "colocalize._puncta",
    "label_puncta": "colocalize._puncta",
    "object_colocalization": "colocalize._puncta",
    "write_report": "colocalize._report",
    "segment_cells": "colocalize._segment",
    "segment_nuclei": "colocalize._segment",
    "coefficient_table": "colocalize._table",
    "threshold": "colocalize._threshold",
    "threshold_from_histogram": "colocalize._threshold",
    "threshold_local": "colocalize._threshold",
    "threshold_methods": "colocalize._threshold",
    "threshold_per_slice": "colocalize._threshold",
    "ThresholdOverlapScore": "colocalize._tos",
    "threshold_overlap_score": "colocalize._tos",
    "top_percent_threshold": "colocalize._tos",
    "link_labels": "colocalize._translocation",
    "translocation": "colocalize._translocation",
    "ColocalizeWarning": "colocalize._validation",
    "VanSteenselCCF": "colocalize._vansteensel",
    "van_steensel_ccf": "colocalize._vansteensel",
}

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
    "ThresholdOverlapScore",
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
    "threshold_overlap_score",
    "threshold_per_slice",
    "top_percent_threshold",
    "translocation",
    "triple_coefficients",
    "van_steensel_ccf",
    "write_image",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'colocalize' has no attribute {name!r}")
    value = importlib.import_module(module)
    if name != module.rpartition(".")[2]:  # a name defined in the module, not the submodule
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
