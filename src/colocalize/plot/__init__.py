"""Figures (matplotlib, imported lazily by each function).

Every function takes ``ax=None`` (or a figure for multi-panel plots), returns the figure or axes it
drew on, and never calls ``show()``; :func:`coefficient_report` writes a PDF or PNG file instead.
"""

from colocalize.plot._batch import coefficient_strips, histogram_panel, summary_table
from colocalize.plot._ccc import correlation_heatmap, correlation_profile
from colocalize.plot._coefficient_report import coefficient_report
from colocalize.plot._diagnostics import ccf_plot, ica_plot
from colocalize.plot._histogram import bivariate_histogram
from colocalize.plot._significance import significance_histogram
from colocalize.plot._translocation import translocation

__all__ = [
    "bivariate_histogram",
    "ccf_plot",
    "coefficient_report",
    "coefficient_strips",
    "correlation_heatmap",
    "correlation_profile",
    "histogram_panel",
    "ica_plot",
    "significance_histogram",
    "summary_table",
    "translocation",
]
