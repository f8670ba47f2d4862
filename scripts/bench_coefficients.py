"""Benchmark: colocalize's coefficient table against scikit-image + SciPy, in one process.

Workload 1 (the issue's speed target): a 3-channel uint16 image of at least 2048 x 2048 made by
tiling the real neuron-4Ch sample (NCOA4, Ferritin, Phalloidin). colocalize computes the full
table for all 3 pairs (Pearson, overlap, k1/k2, M1/M2, thresholded Manders, Spearman, Kendall,
ICQ). The peer set is what a Python user would call per pair for the same outputs:
scikit-image's pearson_corr_coeff, manders_coloc_coeff (x2), manders_overlap_coeff and
intersection_coeff, plus scipy.stats.spearmanr and scipy.stats.kendalltau.

Workload 2: Pearson + overlap + k1/k2 + M1/M2 (no rank coefficients) on a 2048 x 2048 uint8 RGB
image, reported in megapixels per second (target >= 50 Mpx/s).

Memory (``--memory``): peak resident memory of ``coefficient_table`` with thresholds, with the rank
coefficients (all coefficients) and without them, on 3-channel uint16 images of 2048 x 2048 and
4096 x 4096, each in a fresh process: the tiled neuron-4Ch sample and random 16-bit data (~65536
levels per channel); and 2048 x 2048 random images of other integer dtypes (uint8, int8, int16,
and uint32, int32, int64 and uint64 with values up to 2**40: about one level per pixel). The
figure is the peak resident size during the call (Linux VmHWM, reset just before it) minus the
resident size before it, over the image's size. A first call on a 1024 x 1024 crop loads (or
compiles) the kernels before the baseline.

A first row: one ``coefficients`` call on a random 16-bit 2048 x 2048 pair, all coefficients,
in a fresh process with nothing loaded before (the compiled kernels load only once numpy paths
have cost their load: this is the numpy path), over the pair's size.

Floors (``--floors``, also printed first by a full run; issue 14 item 1): one uint16 pair
(the tiled neuron-4Ch channels 0 and 1, and random 16-bit data), timed back to back in rounds,
best of ``--repeat`` (at least 7), in wall time and in the process's CPU time (less disturbed
when other processes share the cores): every non-rank coefficient with thresholds against the
one-read floor ``a.sum(); b.sum()`` and against JACoP's 40 ms (its Java code, warm JVM, on this
machine), and Spearman + Kendall alone (``measures=("spearman", "kendall")``) and all
coefficients against one stable sort of one channel (``np.sort(a.ravel(), kind="stable")``;
numpy's radix sort for 16-bit data).
The compiled kernels are loaded (and run once) first: their cold start is timed by
``scripts/bench_costes.py --first-call``.

Run: .venv/bin/python scripts/bench_coefficients.py [--size 2048] [--repeat 3] [--memory]
[--floors]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import warnings

import numpy as np

from _bench import best_time


def _tile(channel: np.ndarray, size: int) -> np.ndarray:
    reps = (-(-size // channel.shape[0]), -(-size // channel.shape[1]))
    return np.tile(channel, reps)[:size, :size]


_MEMORY_CHILD = """
import json, sys, time, warnings
import numpy as np, pandas, scipy.stats
import colocalize
from colocalize import _compiled, data
_compiled.kernels(1 << 20)  # numba's import, when installed: a fixed cost
size, kind, ranks = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "ranks"
if kind == "neuron":
    sample = data.neuron_4ch()
    reps = (-(-size // sample.data.shape[1]), -(-size // sample.data.shape[2]))
    image = np.stack([np.tile(sample.channel(c), reps)[:size, :size] for c in range(3)])
elif kind == "random":
    rng = np.random.default_rng(0)
    image = rng.integers(0, 65536, (3, size, size), dtype=np.uint16)
    image[1] = image[0] // 2 + rng.integers(0, 30000, (size, size), dtype=np.uint16)
else:  # e.g. "int32": random values over 0..2**31 (at most 2**40), about one level per pixel
    dtype = np.dtype(kind)
    high = min(int(np.iinfo(dtype).max), 2**40)
    image = np.random.default_rng(0).integers(0, high, (3, size, size), dtype=dtype)
thresholds = [float(channel.mean()) for channel in image]  # no copy: keeps the baseline
warnings.simplefilter("ignore")
# the kernels' first call per signature (cache load or compilation): a fixed cost
colocalize.coefficient_table(
    image[:, :1024, :1024], channel_axis=0, thresholds=thresholds, rank_coefficients=ranks
)


def status(field):  # kB
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # resets the peak resident size (VmHWM) to the current one
before = status("VmRSS")
start = time.perf_counter()
table = colocalize.coefficient_table(
    image, channel_axis=0, thresholds=thresholds, rank_coefficients=ranks
)
seconds = time.perf_counter() - start
after = status("VmHWM")
print(json.dumps({"input_mib": image.nbytes / 2**20, "extra_mib": (after - before) / 1024,
                  "peak_mib": after / 1024, "seconds": seconds,
                  "pearson": table["pearson"].tolist()}))
"""


_FIRST_CALL_CHILD = """
import json, sys, time, warnings
import numpy as np
import colocalize
rng = np.random.default_rng(0)
size = int(sys.argv[1])
a = rng.integers(0, 65536, (size, size), dtype=np.uint16)
b = a // 2 + rng.integers(0, 30000, (size, size), dtype=np.uint16)
warnings.simplefilter("ignore")


def status(field):  # kB
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
before = status("VmRSS")
start = time.perf_counter()
colocalize.coefficients(a, b, thresholds=(float(a.mean()), float(b.mean())))
seconds = time.perf_counter() - start
print(json.dumps({"input_mib": (a.nbytes + b.nbytes) / 2**20,
                  "extra_mib": (status("VmHWM") - before) / 1024, "seconds": seconds,
                  "numba": "numba" in sys.modules}))
"""


def memory() -> None:
    """Peak RSS of coefficient_table in fresh processes (see the module docstring)."""
    child = [sys.executable, "-c", _FIRST_CALL_CHILD, "2048"]
    proc = subprocess.run(child, capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout)
    print(
        f"first call in a fresh process (numpy until the kernels load; numba imported: "
        f"{r['numba']}): coefficients of a random 16-bit 2048x2048 pair, all coefficients: "
        f"input {r['input_mib']:.0f} MiB, extra peak RSS {r['extra_mib']:.0f} MiB "
        f"({r['extra_mib'] / r['input_mib']:.1f}x the input; target <= 2x), "
        f"{r['seconds']:.2f} s"
    )
    print(
        "peak extra memory of coefficient_table with thresholds, 3 channels, fresh process "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; peak RSS varies by "
        "about 12 MiB between identical runs)"
    )
    cases = [(kind, size) for kind in ("neuron", "random") for size in (2048, 4096)]
    dtypes = ("uint8", "int8", "int16", "uint32", "int32", "int64", "uint64")
    cases += [(dtype, 2048) for dtype in dtypes]
    for (kind, size), ranks in itertools.product(cases, ("ranks", "no-ranks")):
        proc = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(size), kind, ranks],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout)
        print(
            f"  {kind:6s} {size}x{size} {ranks:8s}: input {r['input_mib']:5.0f} MiB, "
            f"extra peak RSS {r['extra_mib']:6.0f} MiB "
            f"({r['extra_mib'] / r['input_mib']:4.1f}x the input; target <= 2x), "
            f"process peak {r['peak_mib']:6.0f} MiB, {r['seconds']:6.2f} s"
        )


JACOP_SECONDS = 0.040  # JACoP's Pearson + Manders with thresholds, 2048 x 2048 uint16, warm JVM


def floors(size: int, repeat: int) -> None:
    """Our per-pixel engine against the one-read floor and one stable sort (issue 14 item 1)."""
    import time

    from colocalize import _compiled, coefficients, data

    compiled = _compiled.kernels(size * size)
    sample = data.neuron_4ch()
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 65536, (size, size), dtype=np.uint16)
    pairs = {
        "neuron-4Ch": (_tile(sample.channel(0), size), _tile(sample.channel(1), size)),
        "random 16-bit": (noise, noise // 2 + rng.integers(0, 30000, (size, size), np.uint16)),
    }
    print(
        f"floors: one uint16 pair {size}x{size}, best of {max(repeat, 7)} rounds (compiled "
        f"kernels: {'on' if compiled is not None else 'OFF'}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    for name, (a, b) in pairs.items():
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        th = (float(a.mean()), float(b.mean()))
        runs = {
            "floor": lambda a=a, b=b: (a.sum(), b.sum()),
            "non-rank": lambda a=a, b=b, th=th: coefficients(
                a, b, thresholds=th, rank_coefficients=False
            ),
            "sort": lambda a=a: np.sort(a.ravel(), kind="stable"),
            "ranks": lambda a=a, b=b: coefficients(a, b, measures=("spearman", "kendall")),
            "all": lambda a=a, b=b, th=th: coefficients(a, b, thresholds=th),
        }
        best = dict.fromkeys(runs, float("inf"))
        cpu = dict.fromkeys(runs, float("inf"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fn in runs.values():
                fn()  # first use: numba's per-signature cache load
            for _ in range(max(repeat, 7)):
                for key, fn in runs.items():  # back to back, in rounds
                    start, start_cpu = time.perf_counter(), time.process_time()
                    fn()
                    best[key] = min(best[key], time.perf_counter() - start)
                    cpu[key] = min(cpu[key], time.process_time() - start_cpu)
        # wall time, and the process's CPU time (less disturbed on a loaded machine)
        for clock, times in (("wall", best), ("cpu ", cpu)):
            ms = {k: v * 1e3 for k, v in times.items()}
            print(
                f"  {name:13s} {clock}: floor {ms['floor']:5.1f} ms | non-rank "
                f"{ms['non-rank']:6.1f} ms = {times['non-rank'] / times['floor']:4.1f}x floor "
                f"(target <= 5x), {JACOP_SECONDS / times['non-rank']:4.1f}x faster than JACoP's "
                f"40 ms (target >= 2x) | stable sort {ms['sort']:5.1f} ms | Spearman + Kendall "
                f"{ms['ranks']:6.1f} ms = {times['ranks'] / times['sort']:4.1f}x sort | all "
                f"{ms['all']:6.1f} ms = {times['all'] / times['sort']:4.1f}x sort (target <= 3x)"
            )


def peer_set(image: np.ndarray, thresholds: list[float]) -> list[dict[str, float]]:
    """The same outputs from scikit-image and SciPy, one call per coefficient and pair."""
    from scipy import stats
    from skimage import measure

    rows = []
    for i in range(image.shape[0]):
        for j in range(i + 1, image.shape[0]):
            a = image[i].astype(np.float64)
            b = image[j].astype(np.float64)
            rows.append(
                {
                    "pearson": measure.pearson_corr_coeff(a, b)[0],
                    "overlap": measure.manders_overlap_coeff(a, b),
                    "m1": measure.manders_coloc_coeff(a, b > 0),
                    "m2": measure.manders_coloc_coeff(b, a > 0),
                    "tm1": measure.manders_coloc_coeff(a, (b >= thresholds[j]) & (b > 0)),
                    "tm2": measure.manders_coloc_coeff(b, (a >= thresholds[i]) & (a > 0)),
                    "fraction": measure.intersection_coeff(a > thresholds[i], b > thresholds[j]),
                    "spearman": stats.spearmanr(a.ravel(), b.ravel())[0],
                    "kendall_tau": stats.kendalltau(a.ravel(), b.ravel()).statistic,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="measure peak memory instead")
    parser.add_argument("--floors", action="store_true", help="only the floor ratios")
    args = parser.parse_args()
    if args.memory:
        memory()
        return
    floors(args.size, args.repeat)
    if args.floors:
        return

    from colocalize import coefficient_table, data

    sample = data.neuron_4ch()
    image = np.stack([_tile(sample.channel(c), args.size) for c in range(3)])
    thresholds = [float(np.percentile(ch, 75)) for ch in image]
    mpx = image[0].size / 1e6
    print(
        f"workload 1: 3-channel uint16 {image.shape[1]}x{image.shape[2]} ({mpx:.2f} Mpx), "
        f"3 pairs, tiled from neuron-4Ch"
    )

    ours_t, table = best_time(
        lambda: coefficient_table(image, channel_axis=0, thresholds=thresholds), args.repeat
    )
    peer_t, rows = best_time(lambda: peer_set(image, thresholds), max(1, args.repeat - 2))
    assert isinstance(rows, list)
    worst = 0.0
    for k, row in enumerate(rows):
        ours = table.iloc[k]
        for key, value in row.items():
            mine = ours["fraction_colocalized"] if key == "fraction" else ours[key]
            if key == "fraction":
                # intersection_coeff normalises by the pixels above image0's threshold
                above0 = image[0 if k < 2 else 1] > thresholds[0 if k < 2 else 1]
                mine = mine * image[0].size / np.count_nonzero(above0)
            worst = max(worst, abs(float(mine) - float(value)))
    rate = mpx * 3 / ours_t
    print(f"  colocalize coefficient_table : {ours_t:8.3f} s  ({rate:6.1f} Mpx-pairs/s)")
    print(f"  scikit-image + scipy (peer)  : {peer_t:8.3f} s")
    print(f"  speed-up                     : {peer_t / ours_t:8.1f}x   (target >= 5x)")
    print(f"  largest difference from peer : {worst:.2e}")

    rng = np.random.default_rng(0)
    base = rng.integers(0, 200, size=(args.size, args.size), dtype=np.uint8)
    rgb = np.stack(
        [
            base,
            np.clip(base + rng.integers(0, 50, base.shape), 0, 255).astype(np.uint8),
            rng.integers(0, 255, size=base.shape, dtype=np.uint8),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rgb_t, _ = best_time(
            lambda: coefficient_table(rgb, channel_axis=0, rank_coefficients=False), args.repeat
        )
    rgb_mpx = rgb[0].size / 1e6
    print(f"workload 2: uint8 RGB {args.size}x{args.size}, Pearson + overlap + k + M, 3 pairs")
    print(
        f"  colocalize                   : {rgb_t:8.3f} s  ({rgb_mpx / rgb_t:6.1f} Mpx/s of "
        f"RGB image; target >= 50)"
    )


if __name__ == "__main__":
    main()
