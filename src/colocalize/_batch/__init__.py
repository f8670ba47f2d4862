"""Batch analysis: orchestration, inputs, workers, the resume store, the histograms' data."""
