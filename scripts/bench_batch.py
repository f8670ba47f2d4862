"""Throughput of ``colocalize.batch``: serial vs local processes vs a Dask LocalCluster.

Generates a repository in the seed paper's layout (organelle x time x series, three-channel
8-bit images, 512 x 512 by default), then measures the same batch serially (``workers=1``) and
on local worker processes, back to back ``--repeat`` times (the machine may be shared: the
spread of the ratios says how much), and, when dask.distributed is installed, on a LocalCluster
of worker processes. Prints images/s and Mpx/s (pixels per channel) of each run, the load
average before it, the CPU time per image and how many cores were busy measuring images (on a
shared machine the second says whether the workers got the CPU they asked for), the ratio of
every serial/parallel pair and their spread, and checks that every run gives the same table.
Times are wall times of the whole ``batch`` call: they include
starting the worker processes and writing the outputs. The main process's own CPU time per
image (``main CPU``) is what it spends on the workers (queueing, results, part files) and on
the outputs; in a serial run it is everything.

BLAS and OpenMP libraries run with one thread in this process (as batch gives its workers):
a serial run then uses one core and the ratio compares one core with ``--workers`` cores; by
default OpenBLAS would start a thread per core for every long ``np.dot``, which on a shared
machine spins and makes the serial run several times slower. ``--profile`` first prints where
a serial run's time goes, per image and phase (hashing, reading, measuring, part files, the
outputs), from cProfile.

    .venv/bin/python scripts/bench_batch.py [--images 216] [--size 512] [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before numpy is imported

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

import colocalize  # noqa: E402
from colocalize._batch._synthetic import make_repository  # noqa: E402

PATTERN = "{organelle}/{time}min/series{series}/*.tif"


def run(root: Path, out: Path, label: str, **kwargs) -> tuple[colocalize.BatchResult, float]:
    load = os.getloadavg()[0]
    start, main_cpu = time.perf_counter(), time.process_time()
    result = colocalize.batch(
        root, pattern=PATTERN, out=out, progress=False, resume=False, **kwargs
    )
    seconds = time.perf_counter() - start
    main_cpu = time.process_time() - main_cpu
    mpx = result.n_pixels / 1e6
    n = result.n_computed
    # CPU time of every image, in whatever process measured it (kept in the part files)
    cpu = sum(json.loads(p.read_text())["cpu_seconds"] for p in (out / ".parts").glob("*.json"))
    print(
        f"{label:<24} {n:4d} images {seconds:6.2f} s {n / seconds:6.1f} images/s "
        f"{mpx / seconds:6.2f} Mpx/s  CPU {1e3 * cpu / n:5.1f} ms/image, {cpu / seconds:4.2f} "
        f"cores busy measuring, main CPU {1e3 * main_cpu / n:5.1f} ms/image (load before "
        f"{load:.1f})",
        flush=True,
    )
    return result, seconds


# Phases of a serial run, by the function that does each (cumulative cProfile time).
PHASES = {
    "hash the image (sha256)": "sha256_file",
    "read it (tifffile)": "load_channels",
    "threshold and measure": "measure",
    "write its part file": "write_atomic",
    "outputs (tables, summary, commit)": "_write_outputs",
}


def profile(root: Path, out: Path, method: str | None) -> None:
    """Where a serial run's time goes, per image (cProfile; its overhead inflates the calls)."""
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    result = colocalize.batch(
        root, pattern=PATTERN, out=out, progress=False, resume=False, workers=1, method=method
    )
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    n = result.n_computed
    print(f"profile of a serial run (cProfile), {n} images, {1e3 * total / n:.1f} ms/image:")
    seen = 0.0
    for phase, function in PHASES.items():
        cumulative = sum(v[3] for k, v in stats.items() if k[2] == function)
        if function == "write_atomic":  # the outputs are written with it too
            cumulative -= sum(v[3] for k, v in stats.items() if k[2] == "commit")
        seen += cumulative
        print(f"  {phase:<36} {1e3 * cumulative / n:6.2f} ms/image {cumulative / total:6.1%}")
    rest = total - seen
    print(
        f"  {'the rest (finding files, keys, ...)':<36} {1e3 * rest / n:6.2f} ms/image "
        f"{rest / total:6.1%}",
        flush=True,
    )


def spread(name: str, ratios: list[float]) -> None:
    print(
        f"speed-up {name} (images/s ratio; target 1.7x): best {max(ratios):.2f}x, median "
        f"{statistics.median(ratios):.2f}x, min {min(ratios):.2f}x over {len(ratios)} "
        f"back-to-back pairs ({', '.join(f'{r:.2f}' for r in ratios)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=216, help="at least this many images")
    parser.add_argument("--size", type=int, default=512, help="image side (pixels)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--repeat", type=int, default=3, help="serial/parallel pairs")
    parser.add_argument("--method", default="Otsu", help="threshold source ('none' for none)")
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster runs")
    parser.add_argument("--profile", action="store_true", help="first profile a serial run")
    args = parser.parse_args()

    organelles, times = ("er", "golgi", "lysosome"), (0, 5, 15, 30, 60, 120)
    per_series = -(-args.images // (len(organelles) * len(times) * 6))
    method = None if args.method == "none" else args.method
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        start = time.perf_counter()
        make_repository(
            root,
            organelles=organelles,
            times=times,
            series=range(1, 7),
            per_series=per_series,
            shape=(args.size, args.size),
        )
        n = sum(1 for _ in root.rglob("*.tif"))
        print(
            f"generated {n} images of 3 x {args.size} x {args.size} uint8 in "
            f"{time.perf_counter() - start:.1f} s; threshold source {args.method}; "
            f"{os.cpu_count()} CPUs; BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}",
            flush=True,
        )
        if args.profile:
            profile(root, Path(tmp) / "profile", method)
        ratios = []
        reference = None
        for _ in range(args.repeat):
            serial, t_serial = run(
                root, Path(tmp) / "serial", "serial (workers=1)", workers=1, method=method
            )
            parallel, t_par = run(
                root,
                Path(tmp) / "processes",
                f"processes (workers={args.workers})",
                workers=args.workers,
                method=method,
            )
            ratios.append(t_serial / t_par)
            reference = serial.read_coefficients() if reference is None else reference
            pd.testing.assert_frame_equal(reference, serial.read_coefficients())
            pd.testing.assert_frame_equal(reference, parallel.read_coefficients())
        spread(f"processes ({args.workers}) / serial", ratios)
        if args.no_dask:
            return
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            print("dask.distributed not installed: no cluster run")
            return
        # dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536, which freezes glibc's thresholds:
        # every array is mapped and unmapped, 3x the CPU per image (docs/batch.md, Scale)
        dask.config.set(
            {
                "distributed.nanny.pre-spawn-environ": {
                    "MALLOC_TRIM_THRESHOLD_": 128 << 20,
                    "MALLOC_MMAP_THRESHOLD_": 64 << 20,
                }
            }
        )
        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            print(
                f"LocalCluster ({args.workers} worker processes) up in "
                f"{time.perf_counter() - start:.1f} s",
                flush=True,
            )
            on_dask, t_dask = run(
                root,
                Path(tmp) / "dask",
                f"dask LocalCluster ({args.workers} procs)",
                client=client,
                method=method,
            )
            # the same cluster again: workers have imported everything (steady throughput)
            run(root, Path(tmp) / "dask-warm", "dask, warm workers", client=client, method=method)
        pd.testing.assert_frame_equal(reference, on_dask.read_coefficients())
        _, t_serial = run(
            root, Path(tmp) / "serial", "serial (workers=1)", workers=1, method=method
        )
        print(f"speed-up dask / serial (cluster start not counted): {t_serial / t_dask:.2f}x")


if __name__ == "__main__":
    main()
