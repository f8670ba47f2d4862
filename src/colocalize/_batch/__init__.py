"""Batch analysis: orchestration, inputs, workers, the resume store, histograms, the report."""
