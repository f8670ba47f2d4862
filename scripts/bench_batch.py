"""Throughput of ``colocalize.batch``: serial vs local processes (vs a Dask LocalCluster).

Generates a repository in the seed paper's layout (organelle x time x series, three-channel
8-bit images), then measures the same batch serially (``workers=1``), on local processes
and, when dask.distributed is installed, on a LocalCluster of worker processes (twice: the
second run has warm workers). Prints images/s and Mpx/s (pixels per channel) for each, and
checks that all runs give the same table. Times include starting the worker processes (about
1-2 s on a small machine), which dominates small batches.

    .venv/bin/python scripts/bench_batch.py [--images 216] [--size 256] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

import colocalize
from colocalize._batch_synthetic import make_repository

PATTERN = "{organelle}/{time}min/series{series}/*.tif"


def run(root: Path, out: Path, label: str, **kwargs) -> tuple[colocalize.BatchResult, float]:
    start = time.perf_counter()
    result = colocalize.batch(root, pattern=PATTERN, out=out, progress=False, **kwargs)
    seconds = time.perf_counter() - start
    mpx = result.n_pixels / 1e6
    print(
        f"{label:<28} {result.n_computed:5d} images {seconds:8.2f} s "
        f"{result.n_computed / seconds:8.1f} images/s {mpx / seconds:8.2f} Mpx/s"
    )
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=216, help="at least this many images")
    parser.add_argument("--size", type=int, default=256, help="image side (pixels)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--method", default="Otsu", help="threshold source ('none' for none)")
    args = parser.parse_args()

    organelles, times = ("er", "golgi", "lysosome"), (0, 5, 15, 30, 60, 120)
    per_series = -(-args.images // (len(organelles) * len(times) * 6))
    method = None if args.method == "none" else args.method
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        start = time.perf_counter()
        make_repository(root, organelles=organelles, times=times, series=range(1, 7),
                        per_series=per_series, shape=(args.size, args.size))
        n = sum(1 for _ in root.rglob("*.tif"))
        print(f"generated {n} images of 3 x {args.size} x {args.size} uint8 in "
              f"{time.perf_counter() - start:.1f} s; threshold source {args.method}; "
              f"{os.cpu_count()} CPUs")
        serial, t_serial = run(root, Path(tmp) / "serial", "serial (workers=1)",
                               workers=1, method=method)
        parallel, t_par = run(root, Path(tmp) / "processes", f"processes (workers={args.workers})",
                              workers=args.workers, method=method)
        pd.testing.assert_frame_equal(serial.read_coefficients(), parallel.read_coefficients())
        print(f"speed-up processes / serial: {t_serial / t_par:.2f}x")
        resumed, _ = run(root, Path(tmp) / "processes", "rerun (all resumed)",
                     workers=args.workers, method=method)
        assert resumed.n_resumed == n
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("dask.distributed not installed: no cluster run")
            return
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            on_dask, t_dask = run(root, Path(tmp) / "dask",
                                  f"dask LocalCluster ({args.workers} procs)",
                                  client=client, method=method)
            # the same cluster again: workers have imported everything (steady throughput)
            run(root, Path(tmp) / "dask-warm", "dask, warm workers", client=client,
                method=method)
        pd.testing.assert_frame_equal(serial.read_coefficients(), on_dask.read_coefficients())
        print(f"speed-up dask / serial: {t_serial / t_dask:.2f}x")


if __name__ == "__main__":
    main()
