"""Benchmark: start-up time of the ``colocalize`` command line (issue 14: under 0.3 s).

Runs each command as a fresh process (``python -m colocalize ...``, the same start-up as the
``colocalize`` script) ``--repeat`` times after one warm-up run, and prints the best and median
wall time next to a bare ``python -c pass`` (the interpreter's own start-up) and ``import numpy``
(what a command pays as soon as it touches numpy). Also prints which heavy modules each command
imported.

Usage: python scripts/bench_cli.py [--repeat 11]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("numpy", "scipy", "pandas", "tifffile")
TARGET = 0.3  # seconds, issue 14

CASES = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import numpy'": ["-c", "import numpy"],
    "colocalize --version": ["-m", "colocalize", "--version"],
    "colocalize --help": ["-m", "colocalize", "--help"],
    "colocalize coefficients --help": ["-m", "colocalize", "coefficients", "--help"],
}


def wall_times(args: list[str], repeat: int) -> list[float]:
    """Wall time of ``repeat`` runs of ``python *args`` (after one warm-up run)."""
    times = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=True)
        if i:
            times.append(time.perf_counter() - start)
    return times


def heavy_modules(args: list[str]) -> list[str]:
    """Which of :data:`HEAVY` the CLI imports for ``args`` (run in a fresh interpreter)."""
    code = (
        "import contextlib, io, sys\n"
        "from colocalize._cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({args!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    print(f"wall time of a fresh process, {args.repeat} runs after a warm-up; target {TARGET} s")
    print(f"{'command':34s} {'best':>7s} {'median':>7s}  heavy modules imported")
    for label, argv in CASES.items():
        times = wall_times(argv, args.repeat)
        heavy = ""
        if argv[:2] == ["-m", "colocalize"]:
            heavy = " ".join(heavy_modules(argv[2:])) or "none"
        print(f"{label:34s} {min(times):7.3f} {statistics.median(times):7.3f}  {heavy}".rstrip())


if __name__ == "__main__":
    main()
