"""Shared fixtures: reference data beside the repository and one real ImageJ JVM per test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_VALIDATION = REPO.parent / "shared" / "validation"
COLOC2_DIR = SHARED_VALIDATION / "coloc2"


@pytest.fixture(scope="session")
def coloc2_dir() -> Path:
    """Coloc 2's GPL-3.0 test images in ../shared/validation/coloc2 (skip when absent)."""
    if not COLOC2_DIR.is_dir():
        pytest.skip(f"Coloc 2 reference images not found at {COLOC2_DIR}")
    return COLOC2_DIR


@pytest.fixture(scope="session")
def ij():
    """The ``jpype`` module with a JVM running ImageJ 1.x (Debian's ij.jar) in this process.

    In CI (``CI`` set) a missing ImageJ is a failure, not a skip: scripts/test.sh installs it.
    """
    from colocalize.imagej._jvm import find_ij_jar, start_jvm

    if find_ij_jar() is None:
        message = "ImageJ 1.x (ij.jar) not found: apt-get install libij-java"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    start_jvm()
    import jpype

    return jpype
