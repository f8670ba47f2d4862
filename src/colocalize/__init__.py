"""colocalize: colocalization analysis for fluorescence microscopy.

A numpy/scipy core for colocalization coefficients, ImageJ-identical thresholds and
cross-correlation colocalization, usable alone, from the command line, and from Fiji/ImageJ.
Images are positional, every option keyword-only; axis order is (t, z, y, x). Plots are in
:mod:`colocalize.plot`, the ImageJ bridge in :mod:`colocalize.imagej`, sample images in
:mod:`colocalize.data`.

Thresholds
==========
- threshold, threshold_methods, threshold_per_slice, threshold_local,
  threshold_from_histogram -- ImageJ's automatic thresholds, in the image's units.
- costes_threshold, CostesResult -- Costes' regression threshold (Coloc 2, JACoP and
  EzColocalization variants).
- top_percent_threshold -- EzColocalization's top-x% thresholds.
- ThresholdModel, ThresholdRange, ThresholdEvaluation, histogram_deciles, remove_background,
  apply_threshold -- the learned background threshold (regression on histogram deciles) and
  its application: the background zeroed, the rest stretched (apply_threshold is
  remove_background's former name).

Coefficients
============
- coefficients, Coefficients -- every coefficient of one channel pair (Pearson, Manders,
  k1/k2, Spearman, Kendall, Li's ICQ, ...).
- triple_coefficients, TripleCoefficients -- three channels at once.
- coefficient_table -- every pair of a multichannel image, per mask or labelled object.
- costes_significance, SignificanceResult -- Costes' randomization test.
- threshold_overlap_score, ThresholdOverlapScore -- the threshold overlap score (TOS).
- bivariate_histogram, BivariateHistogram -- the 2D intensity histogram.
- li_ica, LiICA, LiICAHistograms -- Li's intensity correlation analysis.
- van_steensel_ccf, VanSteenselCCF -- van Steensel's cross-correlation function.

Cross-correlation colocalization
================================
- cross_correlation, CrossCorrelation, cross_correlation_profile, CorrelationProfile,
  GaussianComponent -- CCC: FFT cross-correlation in a mask, radial profile, Gaussian fit.

Objects
=======
- object_colocalization, ObjectColocalization, ChannelObjects, PlacementTest, label_puncta --
  object-based colocalization of puncta.
- segment_nuclei, segment_cells, expand_labels, ring_mask, measure_objects -- masks and
  cytoplasm rings.
- translocation, link_labels, match_labels, LabelMatch, FrameTable -- nuclear/cytoplasmic time
  courses.

Batch and files
===============
- batch, BatchResult, write_report -- whole image repositories, summary tables and reports.
- read_image, write_image, Image -- TIFF/OME-TIFF reading and writing with calibration.

Warnings
========
- ColocalizeWarning -- degenerate but legal input (constant channel, empty mask): NaN results.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the public names, for type checkers; at run time they load on first use
    from colocalize import data as data
    from colocalize._batch._outputs import BatchResult
    from colocalize._batch._run import batch
    from colocalize._ccc._correlation import (
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
    from colocalize._costes import CostesResult, costes_threshold
    from colocalize._histogram import BivariateHistogram, bivariate_histogram
    from colocalize._ica import LiICA, LiICAHistograms, li_ica
    from colocalize._image import Image
    from colocalize._io import read_image, write_image
    from colocalize._objects._labels import (
        LabelMatch,
        expand_labels,
        match_labels,
        measure_objects,
        ring_mask,
    )
    from colocalize._objects._puncta import (
        ChannelObjects,
        ObjectColocalization,
        PlacementTest,
        label_puncta,
        object_colocalization,
    )
    from colocalize._objects._segment import segment_cells, segment_nuclei
    from colocalize._objects._translocation import link_labels, translocation
    from colocalize._significance import SignificanceResult, costes_significance
    from colocalize._table import coefficient_table
    from colocalize._threshold._auto import (
        threshold,
        threshold_from_histogram,
        threshold_local,
        threshold_methods,
        threshold_per_slice,
    )
    from colocalize._threshold._background import (
        ThresholdEvaluation,
        ThresholdModel,
        ThresholdRange,
        apply_threshold,
        histogram_deciles,
        remove_background,
    )
    from colocalize._tos import (
        ThresholdOverlapScore,
        threshold_overlap_score,
        top_percent_threshold,
    )
    from colocalize._validation import ColocalizeWarning
    from colocalize._vansteensel import VanSteenselCCF, van_steensel_ccf
    from colocalize.plot._batch_report import write_report

from colocalize._version import __version__

# Public name -> the module that defines it (or, for ``data``, the submodule itself). Nothing is
# imported with the package: `colocalize --version`, `--help` and every sub-command load only what
# they use (numpy, scipy, pandas, tifffile come with the first name that needs them; PEP 562).
_LAZY: dict[str, str] = {
    "data": "colocalize.data",
    "ThresholdEvaluation": "colocalize._threshold._background",
    "ThresholdModel": "colocalize._threshold._background",
    "ThresholdRange": "colocalize._threshold._background",
    "apply_threshold": "colocalize._threshold._background",
    "histogram_deciles": "colocalize._threshold._background",
    "remove_background": "colocalize._threshold._background",
    "BatchResult": "colocalize._batch._outputs",
    "batch": "colocalize._batch._run",
    "CorrelationProfile": "colocalize._ccc._correlation",
    "CrossCorrelation": "colocalize._ccc._correlation",
    "FrameTable": "colocalize._ccc._correlation",
    "GaussianComponent": "colocalize._ccc._correlation",
    "cross_correlation": "colocalize._ccc._correlation",
    "cross_correlation_profile": "colocalize._ccc._correlation",
    "Coefficients": "colocalize._coefficients",
    "TripleCoefficients": "colocalize._coefficients",
    "coefficients": "colocalize._coefficients",
    "triple_coefficients": "colocalize._coefficients",
    "CostesResult": "colocalize._costes",
    "costes_threshold": "colocalize._costes",
    "BivariateHistogram": "colocalize._histogram",
    "bivariate_histogram": "colocalize._histogram",
    "LiICA": "colocalize._ica",
    "LiICAHistograms": "colocalize._ica",
    "li_ica": "colocalize._ica",
    "Image": "colocalize._image",
    "read_image": "colocalize._io",
    "write_image": "colocalize._io",
    "LabelMatch": "colocalize._objects._labels",
    "expand_labels": "colocalize._objects._labels",
    "match_labels": "colocalize._objects._labels",
    "measure_objects": "colocalize._objects._labels",
    "ring_mask": "colocalize._objects._labels",
    "ChannelObjects": "colocalize._objects._puncta",
    "ObjectColocalization": "colocalize._objects._puncta",
    "PlacementTest": "colocalize._objects._puncta",
    "label_puncta": "colocalize._objects._puncta",
    "object_colocalization": "colocalize._objects._puncta",
    "write_report": "colocalize.plot._batch_report",
    "segment_cells": "colocalize._objects._segment",
    "segment_nuclei": "colocalize._objects._segment",
    "SignificanceResult": "colocalize._significance",
    "costes_significance": "colocalize._significance",
    "coefficient_table": "colocalize._table",
    "threshold": "colocalize._threshold._auto",
    "threshold_from_histogram": "colocalize._threshold._auto",
    "threshold_local": "colocalize._threshold._auto",
    "threshold_methods": "colocalize._threshold._auto",
    "threshold_per_slice": "colocalize._threshold._auto",
    "ThresholdOverlapScore": "colocalize._tos",
    "threshold_overlap_score": "colocalize._tos",
    "top_percent_threshold": "colocalize._tos",
    "link_labels": "colocalize._objects._translocation",
    "translocation": "colocalize._objects._translocation",
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
    "remove_background",
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
