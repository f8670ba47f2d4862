"""The suite's own rules (issue 16): CI never fails by chance, never skips a reference test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

PROFILE = """
import sys
sys.path.insert(0, {tests!r})
import conftest  # registers and loads the profiles
from hypothesis import given, settings, strategies as st

@settings(max_examples=5)
@given(st.integers())
def decorated(x):
    pass

inherited = decorated._hypothesis_internal_use_settings
print(settings.default.derandomize, settings.default.database, inherited.derandomize)
"""


def _profile(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    code = PROFILE.format(tests=str(TESTS))
    done = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_hypothesis_is_derandomized_in_ci():
    # also inside a test's own @settings(...); derandomized, Hypothesis replays no stored example
    assert _profile(CI="true") == ["True", "None", "True"]


def test_hypothesis_explores_locally():
    derandomize, _database, inherited = _profile()
    assert (derandomize, inherited) == ("False", "False")
    assert _profile(HYPOTHESIS_PROFILE="ci") == ["True", "None", "True"]


def test_missing_reference_fails_in_ci_and_skips_elsewhere(monkeypatch):
    from conftest import skip_or_fail

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        skip_or_fail("Coloc 2 reference images not found")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not found"):
        skip_or_fail("Coloc 2 reference images not found")


def test_require_fails_in_ci_for_a_missing_module(monkeypatch, require):
    require("numpy", "always installed")  # present: nothing happens
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no_such_module_xyz is not installed"):
        require("no_such_module_xyz", "needed for the reference images")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require("no_such_module_xyz", "needed for the reference images")


def test_traced_tests_run_before_the_jvm_starts(request):
    # tracemalloc with the in-process JVM running crashed the suite at random (CPython 3.11's
    # traceback_new on JPype's reference-queue thread): the traced tests run first
    items = request.session.items
    traced = [i for i, item in enumerate(items) if item.get_closest_marker("traced")]
    jvm = [i for i, item in enumerate(items) if "ij" in getattr(item, "fixturenames", ())]
    if traced and jvm:
        assert max(traced) < min(jvm)


def test_traced_peak_refuses_a_running_jvm(ij):
    from conftest import traced_peak

    with pytest.raises(pytest.fail.Exception, match="mark the test 'traced'"):
        traced_peak(lambda: None)
