"""Batch analysis: orchestration, options, inputs, executors, workers, the resume store,
outputs, the histograms' data."""
