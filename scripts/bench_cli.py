"""Benchmark: start-up time of the ``colocalize`` command line (issue 14: under 0.3 s) and a
one-shot ``colocalize coefficients`` (under 0.6 s wall and 150 MB peak memory).

Runs each command as a fresh process (``python -m colocalize ...``, the same start-up as the
``colocalize`` script) ``--repeat`` times after one warm-up run, and prints the best and median
wall time next to a bare ``python -c pass`` (the interpreter's own start-up) and ``import numpy``
(what a command pays as soon as it touches numpy). Also prints which heavy modules each command
imported.

The one-shot runs measure ``colocalize coefficients two.tif`` on 2-channel 1024x1024 uint16
files written to a temporary folder: random 16-bit data (~65536 levels per channel, the worst
case for the rank coefficients; the issue's file) and the neuron-4Ch sample tiled, each with
every measure and with ``--measures`` leaving out the rank coefficients (Spearman, Kendall),
and prints wall time (best, median), the median CPU time (user + system: on a shared machine
the wall time also counts waiting for a core) and peak resident memory (the child's
``ru_maxrss``, what ``/usr/bin/time -f %M`` reports) against the targets, and the share of the
rank coefficients.

Usage: python scripts/bench_cli.py [--repeat 11] [--one-shot-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("numpy", "scipy", "pandas", "tifffile", "numba")
TARGET = 0.3  # seconds, issue 14
ONE_SHOT_SECONDS = 0.6  # issue 14: a one-shot `colocalize coefficients` on 1024x1024
ONE_SHOT_MB = 150
NON_RANK = ["pearson", "overlap", "manders", "thresholded_manders", "thresholded_overlap", "icq"]

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
        "from colocalize._cli._main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({args!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.split()


def run_measured(args: list[str]) -> tuple[float, float, float]:
    """Wall time (s), CPU time (s: user + system, which a busy machine inflates less than the
    wall time) and peak resident memory (MB) of one ``python *args`` process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"python {' '.join(args)} failed with status {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1000  # kB -> MB (as /usr/bin/time's %M / 1000)


def write_files(folder: Path) -> dict[str, Path]:
    """The one-shot inputs: 2-channel 1024x1024 uint16 TIFFs."""
    import numpy as np

    from colocalize import data, write_image

    size = 1024
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 65536, (size, size), dtype=np.uint16)
    sample = data.neuron_4ch()
    tiled = [
        np.tile(sample.channel(c), (-(-size // sample.shape[-2]), -(-size // sample.shape[-1])))
        for c in (0, 1)
    ]
    other = noise // 2 + rng.integers(0, 30000, noise.shape, np.uint16)
    images = {
        "random 16-bit": np.stack([noise, other]),
        "neuron-4Ch tiled": np.stack([t[:size, :size] for t in tiled]),
    }
    files = {}
    for i, (name, image) in enumerate(images.items()):
        files[name] = folder / f"two{i}.tif"
        write_image(files[name], image, axes="CYX")
    return files


def one_shot(repeat: int) -> None:
    """Wall time and peak memory of ``colocalize coefficients`` (issue 14, item 3)."""
    print(
        f"\none-shot `colocalize coefficients two.tif`, 2 x 1024 x 1024 uint16, {repeat} runs "
        f"after a warm-up; targets {ONE_SHOT_SECONDS} s, {ONE_SHOT_MB} MB"
    )
    print(f"{'file, measures':34s} {'best':>7s} {'median':>7s} {'CPU':>7s} {'peak MB':>8s}  met")
    with tempfile.TemporaryDirectory() as folder:
        for name, path in write_files(Path(folder)).items():
            medians = {}
            for label, extra in (("all", []), ("no ranks", ["--measures", *NON_RANK])):
                argv = ["-m", "colocalize", "coefficients", str(path), *extra]
                runs = [run_measured(argv) for _ in range(repeat + 1)][1:]
                times = [t for t, _, _ in runs]
                cpu = statistics.median(c for _, c, _ in runs)
                peak = max(mb for _, _, mb in runs)
                medians[label] = statistics.median(times)
                met = min(times) < ONE_SHOT_SECONDS and peak < ONE_SHOT_MB
                print(
                    f"{name + ', ' + label:34s} {min(times):7.3f} {medians[label]:7.3f} "
                    f"{cpu:7.3f} {peak:8.0f}  {'yes' if met else 'NO'}"
                )
            share = 1 - medians["no ranks"] / medians["all"]
            print(f"{'':34s} rank coefficients: {share:.0%} of the median wall time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--one-shot-only", action="store_true", help="skip the start-up table")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores: above ~1 the figures are noisy)")
    if not args.one_shot_only:
        start_up(args.repeat)
    one_shot(max(3, args.repeat // 2))


def start_up(repeat: int) -> None:
    """Wall time of ``--version`` and ``--help`` (issue 14, item 3: under 0.3 s)."""
    print(f"wall time of a fresh process, {repeat} runs after a warm-up; target {TARGET} s")
    print(f"{'command':34s} {'best':>7s} {'median':>7s}  heavy modules imported")
    for label, argv in CASES.items():
        times = wall_times(argv, repeat)
        heavy = ""
        if argv[:2] == ["-m", "colocalize"]:
            heavy = " ".join(heavy_modules(argv[2:])) or "none"
        print(f"{label:34s} {min(times):7.3f} {statistics.median(times):7.3f}  {heavy}".rstrip())


if __name__ == "__main__":
    main()
