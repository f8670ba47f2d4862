"""Thresholds: automatic and local (ImageJ's methods), the seed paper's background model."""
