"""Helpers for the fault tests (``tests/test_faults_*.py``): bad input, runaways, data loss.

Each case runs in a subprocess with a timeout and an address-space cap (``resource.setrlimit``), so
a case that hangs or tries to allocate far too much fails the test instead of the machine; every
input file is hashed before and after, so a command that writes over its input fails too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["assert_clean_error", "inputs_unchanged", "run_cli", "run_python", "snapshot"]

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_MB = 3072


def _limits(memory_mb: int):
    def apply() -> None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    # BLAS thread pools reserve address space per thread; keep the cap about our own allocations.
    env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    env.pop("DISPLAY", None)
    env.update(extra or {})
    return env


def run_cli(
    *args: str | os.PathLike[str],
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m colocalize *args`` with a timeout and a memory cap; never raises on status.

    A timeout raises :class:`subprocess.TimeoutExpired`, which fails the calling test.
    """
    return subprocess.run(
        [sys.executable, "-m", "colocalize", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=_env(env),
        input=stdin,
        preexec_fn=_limits(memory_mb),
        check=False,
    )


def run_python(
    code: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet in a fresh interpreter with a timeout and a memory cap."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=_env(env),
        preexec_fn=_limits(memory_mb),
        check=False,
    )


def assert_clean_error(
    proc: subprocess.CompletedProcess[str], *mentions: str, status: int = 2
) -> str:
    """Assert a one-line error (no traceback) with exit ``status`` that mentions each string.

    Returns the error text (standard error, stripped).
    """
    err = proc.stderr.strip()
    assert proc.returncode == status, (
        f"exit {proc.returncode}, expected {status}\nstdout: {proc.stdout}\nstderr: {err}"
    )
    assert "Traceback" not in err, err
    for text in mentions:
        assert text.lower() in err.lower(), f"{text!r} not in the error: {err}"
    return err


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(*paths: str | os.PathLike[str]) -> dict[str, str]:
    """SHA-256 of each file, and of every file below each folder, keyed by path."""
    digests: dict[str, str] = {}
    for p in map(Path, paths):
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            digests[str(f)] = _digest(f) if f.exists() else "<missing>"
    return digests


@contextlib.contextmanager
def inputs_unchanged(*paths: str | os.PathLike[str]) -> Iterator[None]:
    """Fail when any file below ``paths`` is changed, added or removed inside the block."""
    before = snapshot(*paths)
    yield
    after = snapshot(*paths)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"inputs changed: {changed}"
