"""Benchmark: colocalize.costes_threshold against napari-colocalization's costes_threshold.

Runs both on the same 16-bit image pairs (default 2048 x 2048) in one process and prints the
time of each, the speed-up, and whether the thresholds agree.

napari-colocalization implements only a bisection and a different variant of it (continuous,
unrounded thresholds clamped to the data range, a step tolerance of 1e-4 of the data range
instead of Coloc 2's 1 grey level, and the threshold after the last update rather than the
last one evaluated), so the two agree to within napari's final bisection step, not exactly:
we report agreement when each threshold differs by at most ``2 + 2e-4 * span`` grey levels
(``span`` the range of the channel bisection walks; napari stops once its step is below
``1e-4 * span`` and returns the point after its last step), the slopes (same orthogonal
regression) agree to 1e-9, and our numpy-only result equals the compiled one exactly.
Install the peer with ``pip install --no-deps napari-colocalization``.

Our time is measured twice: as installed (with the numba kernels of the ``fast`` extra when
numba is importable) and with ``COLOCALIZE_NUMBA=0`` (numpy only). The first call that
compiles or loads the kernels is timed separately and not counted in the best-of runs.

``--first-call`` instead times the first twelve calls of ``costes_threshold`` each in a fresh
process (the cold start: numba's import and cache load), with numba as installed and with
``COLOCALIZE_NUMBA=0``; ``PYTHONPATH=<other checkout>/src`` times another version.

Usage: python scripts/bench_costes.py [--size 2048] [--pairs 2] [--repeat 3] [--first-call]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from functools import partial

import numpy as np
from scipy import ndimage

import colocalize
from _bench import best_time


def make_pair(
    rng: np.random.Generator, size: int, frac: float, top: float = 40000.0
) -> tuple[np.ndarray, np.ndarray]:
    """A correlated 16-bit pair: shared smoothed structure plus independent noise.

    ``top`` sets the range: 40000 spreads the values over most of the 16-bit range, 2500 gives
    the range of a 12-bit camera stored in 16 bits.
    """
    shared = ndimage.gaussian_filter(rng.random((size, size), dtype=np.float32), 3)
    shared = (shared - shared.min()) / np.ptp(shared)
    noise_a = rng.random((size, size), dtype=np.float32)
    noise_b = rng.random((size, size), dtype=np.float32)
    a = top * shared**2 + 0.1 * top * noise_a + 0.01 * top
    b = 0.75 * top * frac * shared**2 + 0.15 * top * noise_b + 0.012 * top
    return a.astype(np.uint16), b.astype(np.uint16)


_FIRST_CALL_CHILD = """
import sys, time
import numpy as np
import colocalize
size = int(sys.argv[1])
rng = np.random.default_rng(7)
a = rng.integers(0, 40000, (size, size), dtype=np.uint16)
b = (a // 2 + rng.integers(0, 20000, (size, size), dtype=np.uint16)).astype(np.uint16)
times = []
for _ in range(12):
    t0 = time.perf_counter()
    colocalize.costes_threshold(a, b)
    times.append(time.perf_counter() - t0)
print(" ".join(f"{t:.3f}" for t in times), "numba" in sys.modules)
"""


def first_call(size: int, repeat: int) -> None:
    """The first twelve calls in fresh processes, numba as installed and numpy only."""
    import subprocess
    import sys

    print(f"costes_threshold on uint16 {size} x {size}, each run a fresh process")
    print(f"{'kernels':>20}  seconds of calls 1-12 (fresh process)  numba imported")
    for label, numba_env in (("as installed", None), ("COLOCALIZE_NUMBA=0", "0")):
        env = {k: v for k, v in os.environ.items() if k != "COLOCALIZE_NUMBA"}
        if numba_env is not None:
            env["COLOCALIZE_NUMBA"] = numba_env
        for _ in range(repeat):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL_CHILD, str(size)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            ).stdout.split()
            print(f"{label:>20}  {' '.join(out[:12])}  {out[12]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--pairs", type=int, default=2, help="pairs per intensity range")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--first-call", action="store_true", help="cold-start timings only")
    args = parser.parse_args()
    if args.first_call:
        first_call(args.size, args.repeat)
        return
    from napari_colocalization import _metrics as peer

    rng = np.random.default_rng(2013)
    print(f"uint16 pairs of {args.size} x {args.size}; best of {args.repeat} runs each")
    print("napari-colocalization has only a bisection; both our methods are timed against it")
    if importlib.util.find_spec("numba") is None or os.environ.get("COLOCALIZE_NUMBA") == "0":
        print("compiled kernels: OFF (numba not installed or COLOCALIZE_NUMBA=0)")
    else:
        import numba

        from colocalize import _compiled

        a, b = make_pair(np.random.default_rng(1), args.size, frac=0.5)
        t0 = time.perf_counter()
        _compiled.kernels(a.size)  # calls never wait for the kernels: load them now
        colocalize.costes_threshold(a, b)
        colocalize.costes_threshold(a, b, method="classic")
        print(
            f"compiled kernels: numba {numba.__version__}; first calls (compile or load from "
            f"numba's disk cache) {time.perf_counter() - t0:.2f} s, not counted below"
        )
    header = (
        f"{'pair':>4} {'napari s':>9} {'bisect s':>9} {'speed-up':>9} {'classic s':>10} "
        f"{'speed-up':>9} {'numpy-only s':>13} {'speed-up':>9} {'ours (T0, T1)':>16} "
        f"{'napari (T0, T1)':>20} {'agree':>6}"
    )
    print(header)
    ratios: dict[tuple[str, str], list[float]] = {}
    cases = [
        (family, top, i)
        for family, top in (("full 16-bit range", 40000.0), ("12-bit range", 2500.0))
        for i in range(args.pairs)
    ]
    for family, top, i in cases:
        a, b = make_pair(rng, args.size, frac=0.5 + 0.25 * i, top=top)
        t_peer, theirs = best_time(partial(peer.costes_threshold, a, b), args.repeat)
        t_ours, ours = best_time(partial(colocalize.costes_threshold, a, b), args.repeat)
        t_classic, classic = best_time(
            partial(colocalize.costes_threshold, a, b, method="classic"), args.repeat
        )
        previous = os.environ.get("COLOCALIZE_NUMBA")
        os.environ["COLOCALIZE_NUMBA"] = "0"
        t_numpy, numpy_only = best_time(partial(colocalize.costes_threshold, a, b), args.repeat)
        if previous is None:
            del os.environ["COLOCALIZE_NUMBA"]
        else:
            os.environ["COLOCALIZE_NUMBA"] = previous
        slope, _ = peer.costes_regression(a, b)
        walked = a if abs(slope) < 1 else b
        tolerance = 2 + 2e-4 * (float(walked.max()) - float(walked.min()))
        agree = (
            numpy_only == ours
            and abs(ours.threshold0 - theirs[0]) <= tolerance
            and abs(ours.threshold1 - theirs[1]) <= tolerance
            and abs(ours.slope - slope) <= 1e-9 * abs(slope)
        )
        ratio, ratio_classic, ratio_numpy = t_peer / t_ours, t_peer / t_classic, t_peer / t_numpy
        ratios.setdefault((family, "bisection"), []).append(ratio)
        ratios.setdefault((family, "classic"), []).append(ratio_classic)
        ratios.setdefault((family, "bisection, numpy only"), []).append(ratio_numpy)
        print(
            f"{i:>4} {t_peer:>9.3f} {t_ours:>9.3f} {ratio:>8.1f}x {t_classic:>10.3f} "
            f"{ratio_classic:>8.1f}x {t_numpy:>13.3f} {ratio_numpy:>8.1f}x "
            f"{f'({ours.threshold0:g}, {ours.threshold1:g})':>16} "
            f"{f'({theirs[0]:.1f}, {theirs[1]:.1f})':>20} {'yes' if agree else 'NO':>6}"
        )
        print(
            f"     {family}, ranges [{a.min()}, {a.max()}] x [{b.min()}, {b.max()}]; classic: "
            f"({classic.threshold0:g}, {classic.threshold1:g}) after {classic.iterations} "
            f"steps; bisection {ours.iterations} steps"
        )
    for (family, method), values in ratios.items():
        print(
            f"{family}: median speed-up (napari bisection / ours {method}) "
            f"{np.median(values):.1f}x (min {min(values):.1f}x)"
        )


if __name__ == "__main__":
    main()
