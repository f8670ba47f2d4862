"""``colocalize ccc``: colocalization by cross correlation of two single-channel images."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ccc",
        help="colocalization by cross correlation (distance between two labels)",
        description="Cross-correlate two single-channel images (CCC 2.2.3), fit a Gaussian to the "
        "radial profile and print its mean (the distance between the labels), standard "
        "deviation, confidence and R². With --out, write the results and profile tables (CSV), "
        "the plot (PNG) and the contribution images (TIFF).",
    )
    p.add_argument("image0", type=Path, help="first channel (TIFF)")
    p.add_argument("image1", type=Path, help="second channel (TIFF)")
    p.add_argument("--mask", type=Path, help="mask TIFF (non-zero is inside)")
    p.add_argument(
        "--contributions", action="store_true", help="also write the contribution images"
    )
    p.add_argument(
        "--no-confidence",
        action="store_true",
        help="one correlation only, no confidence (the plugin's 'CCC - No confidence')",
    )
    p.add_argument(
        "--max-distance", type=float, help="largest distance to compute, in the image's unit"
    )
    p.add_argument("--n-gaussians", type=int, default=1, help="Gaussians to fit (default 1)")
    p.add_argument("--out", type=Path, help="output folder for tables, plot and images")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from colocalize import cross_correlation, read_image, write_image

    image0 = read_image(args.image0)
    image1 = read_image(args.image1)
    mask = read_image(args.mask) if args.mask is not None else None
    res = cross_correlation(
        image0,
        image1,
        mask=mask,
        confidence=not args.no_confidence,
        contributions=args.contributions,
        max_distance=args.max_distance,
        n_gaussians=args.n_gaussians,
    )
    rows = _results_rows(res)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:.6g}")
    if args.out is None:
        return 0
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "CC Results.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "value"])
        writer.writerows((name, repr(value)) for name, value in rows)
    _write_profile(res, out / "Correlation of images.csv")
    _figures(res, out)
    if res.frames is not None:
        _write_frames(res, out / "Gaussian fits over time.csv")
    if args.contributions:
        assert res.contribution0 is not None
        assert res.contribution1 is not None
        for path, image, data in (
            (args.image0, image0, res.contribution0),
            (args.image1, image1, res.contribution1),
        ):  # with the input's axes and calibration
            title = f"Contribution of {path.stem}"
            write_image(out / f"{title}.tif", dataclasses.replace(image, data=data, name=title))
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _results_rows(res: Any) -> list[tuple[str, float]]:
    """The plugin's "CC Results" rows (NaN where the fit failed)."""
    rows: list[tuple[str, float]] = []
    if res.best_frame is not None:
        rows.append(("Frame of best CC", float(res.best_frame)))
    for i, comp in enumerate(res.components):
        suffix = "" if len(res.components) == 1 else str(i + 1)
        rows += [
            (f"Mean{suffix} ({res.unit})", comp.mean),
            (f"StDev{suffix} ({res.unit})", comp.sigma),
            (f"Confidence{suffix}", comp.confidence),
            (f"Gaussian Height{suffix}", comp.height),
        ]
    if not res.components:
        rows += [
            (f"Mean ({res.unit})", math.nan),
            (f"StDev ({res.unit})", math.nan),
            ("Confidence", math.nan),
            ("Gaussian Height", math.nan),
        ]
    rows.append(("R-squared", res.r_squared))
    return rows


def _write_profile(res: Any, path: Path) -> None:
    prof = res.profile
    columns = [(f"Distance ({prof.unit})", prof.distance)]
    for name, values in (
        ("Original CC", prof.original),
        ("Subtracted CC", prof.subtracted),
        ("Gaussian fit", prof.fit),
    ):
        if values is not None:
            columns.append((name, values))
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([name for name, _ in columns])
        for i in range(prof.distance.size):
            writer.writerow([repr(float(col[i])) for _, col in columns])


def _write_frames(res: Any, path: Path) -> None:
    table = res.frames
    names = ["mean", "sigma", "confidence", "r_squared", "height", "fit_ok"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", *names])
        for t in range(table.frame.size):
            writer.writerow([t, *(repr(getattr(table, n)[t].item()) for n in names)])


def _figures(res: Any, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colocalize.plot import correlation_heatmap, correlation_profile

    ax = correlation_profile(res)
    ax.figure.savefig(out / "Correlation of images.png", dpi=150, bbox_inches="tight")
    plt.close(ax.figure)
    if res.frames is not None:
        ax = correlation_heatmap(res)
        ax.figure.savefig(out / "Correlation over time.png", dpi=150, bbox_inches="tight")
        plt.close(ax.figure)
