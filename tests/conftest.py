"""Shared fixtures: reference data beside the repository and one real ImageJ JVM per test run."""

from __future__ import annotations

import importlib
import os
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, settings

# CI must never fail by chance: there every property test replays the same derandomized examples.
# Locally the default profile keeps exploring new ones (HYPOTHESIS_PROFILE=ci to reproduce CI).
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO = Path(__file__).resolve().parents[1]
# --import-mode=importlib keeps tests/ off sys.path: put it there for the shared test helpers
# (tests/_faults.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))
SHARED_VALIDATION = REPO.parent / "shared" / "validation"
COLOC2_DIR = SHARED_VALIDATION / "coloc2"


def skip_or_fail(message: str) -> NoReturn:
    """Skip the running test (or, at module level, the module) with ``message``, or fail it in CI
    (``CI`` set): there the reference data and tools are installed, so their absence is a broken
    set-up, never a reason to skip."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message, allow_module_level=True)


def require_module(name: str, why: str = "") -> ModuleType:
    """Import and return module ``name``, like ``pytest.importorskip``, but through
    :func:`skip_or_fail`: scripts/test.sh installs the test extra (numba, scikit-image,
    matplotlib...), so in CI a missing module fails instead of skipping."""
    try:
        return importlib.import_module(name)
    except ImportError:
        skip_or_fail(f"{name} is not installed{f': {why}' if why else ''}")


def compiled_kernels() -> SimpleNamespace:
    """colocalize's compiled kernels (``colocalize._compiled.kernels``), loaded now: through
    :func:`require_module`, a skip without numba, a failure in CI."""
    from colocalize import _compiled

    require_module("numba", "the 'fast' extra")
    kernels = _compiled.kernels(_compiled.MIN_PIXELS)
    assert kernels is not None
    return kernels


@pytest.fixture(scope="session")
def coloc2_dir() -> Path:
    """Coloc 2's GPL-3.0 test images in ../shared/validation/coloc2.

    Absent, the tests that need them skip, except in CI (``CI`` set), where they fail.
    """
    if not COLOC2_DIR.is_dir():
        skip_or_fail(f"Coloc 2 reference images not found at {COLOC2_DIR}")
    return COLOC2_DIR


@pytest.fixture(scope="session")
def require():
    """``require(module, why)``: skip the test when ``module`` cannot be imported, or fail it in
    CI (``CI`` set): :func:`require_module` as a fixture. For the reference tests that must run
    in CI."""
    return require_module


@pytest.fixture(scope="session")
def ij():
    """The ``jpype`` module with a JVM running ImageJ 1.x (Debian's ij.jar) in this process.

    The JVM is headless unless a display exists (``DISPLAY``, e.g. under ``xvfb-run``); it always
    has colocalize's shim jar on its class path (one JVM per process, class path fixed at start).

    In CI (``CI`` set) a missing ImageJ is a failure, not a skip: scripts/test.sh installs it.
    """
    from colocalize.imagej._jvm import find_ij_jar, start_jvm

    if find_ij_jar() is None:
        skip_or_fail("ImageJ 1.x (ij.jar) not found: apt-get install libij-java")
    start_jvm()  # headless exactly when there is no display (xvfb-run gives one)
    import jpype

    yield jpype
    if not jpype.JClass("java.awt.GraphicsEnvironment").isHeadless():
        for window in jpype.JClass("java.awt.Window").getWindows():
            window.dispose()
        _GUI_JVM.append(True)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "imagej_command: ImageJ command test; scripts/test.sh runs it headless and under xvfb-run",
    )
    config.addinivalue_line(
        "markers",
        "traced: measures memory with tracemalloc (traced_peak); runs before any test that can "
        "start the in-process JVM",
    )


@pytest.fixture(autouse=True)
def _paths_chosen_by_the_tests(monkeypatch):
    """Tests choose the compiled or the numpy path themselves (``COLOCALIZE_NUMBA=0`` or the
    kernels, per test): a ``COLOCALIZE_NUMBA`` of the shell that runs the suite does not leak in
    (with it set to 0, the tests of the compiled path failed)."""
    monkeypatch.delenv("COLOCALIZE_NUMBA", raising=False)


def pytest_collection_modifyitems(items):
    """The ``traced`` tests first (stable order otherwise): see :func:`traced_peak`."""
    items.sort(key=lambda item: item.get_closest_marker("traced") is None)


def traced_peak(function: Callable[[], object]) -> int:
    """The peak of Python's traced allocations (tracemalloc, numpy's included) during
    ``function()``, in bytes above what was traced before it.

    Never with the in-process JVM of the ImageJ tests running: CPython 3.11's tracemalloc then
    crashes the process (``traceback_new`` on JPype's "Python Reference Queue" thread, which has
    no Python frame; seen as a random "Fatal Python error: Segmentation fault"). Mark the test
    ``traced`` (the hook above runs those first); this refuses to trace after a JVM started.
    """
    jpype = sys.modules.get("jpype")
    if jpype is not None and jpype.isJVMStarted():
        pytest.fail("tracemalloc with the in-process JVM running crashes: mark the test 'traced'")
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        function()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


_GUI_JVM: list[bool] = []  # set when the ij fixture ran a JVM with a display
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """A JVM with a display keeps non-daemon AWT threads (ImageJ's) alive after the tests: leave
    the process with pytest's exit status once everything is reported."""
    if _GUI_JVM:
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1] if _EXIT_STATUS else 0)


@pytest.fixture(scope="session")
def imagej(ij):
    """colocalize's commands registered in the ``ij`` fixture's ImageJ: a ``Gateway``."""
    from colocalize.imagej import start

    return start()


@pytest.fixture
def session(imagej, request):
    """The ``imagej`` gateway in batch mode (images kept without windows), with no images, no
    rows in the Results table or in the test module's ``TABLES`` and (with a display) an empty
    Log left over from other tests."""
    import jpype

    from colocalize.imagej import get_table

    window_manager = jpype.JClass("ij.WindowManager")
    tables = getattr(request.module, "TABLES", ())

    def clean() -> None:
        for image_id in window_manager.getIDList() or []:
            imp = window_manager.getImage(int(image_id))
            if imp is not None:
                imp.changes = False
                imp.close()
        jpype.JClass("ij.measure.ResultsTable").getResultsTable().reset()
        for title in tables:
            found = get_table(title)
            if found is not None:
                found.reset()
        if not imagej.headless:
            imagej.IJ.log("\\Clear")

    clean()
    jpype.JClass("ij.macro.Interpreter").batchMode = True
    yield imagej
    clean()
