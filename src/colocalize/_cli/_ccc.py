"""``colocalize ccc``: colocalization by cross correlation of two single-channel images."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import io
import math
import sys
from pathlib import Path
from typing import Any

from colocalize._cli._shared import save_figure, use_agg

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
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace result files that already exist in --out (never an input)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from colocalize import cross_correlation, read_image, write_image
    from colocalize._output import write_atomic

    image0 = read_image(args.image0)
    image1 = read_image(args.image1)
    mask = read_image(args.mask) if args.mask is not None else None
    targets = None
    if args.out is not None:  # checked before the (long) computation
        series = "T" in image0.axes or "T" in image1.axes
        targets = _targets(args, series=series)
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
    if targets is None:
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(
        targets["results"],
        _csv_text([["", "value"], *((name, repr(value)) for name, value in rows)]),
    )
    write_atomic(targets["profile"], _profile_text(res))
    _figures(res, targets)
    if res.frames is not None:
        write_atomic(targets["frames"], _frames_text(res))
    if args.contributions:
        assert res.contribution0 is not None
        assert res.contribution1 is not None
        for key, image, data in (
            ("contribution0", image0, res.contribution0),
            ("contribution1", image1, res.contribution1),
        ):  # with the input's axes and calibration
            title = targets[key].stem
            contribution = dataclasses.replace(image, data=data, name=title)
            write_atomic(targets[key], writer=functools.partial(write_image, image=contribution))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _targets(args: argparse.Namespace, *, series: bool) -> dict[str, Path]:
    """The files ``--out`` will receive, each checked: never an input, never an existing file
    without ``--overwrite``."""
    from colocalize._output import check_output

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file; give a folder for the results")
    names = {
        "results": "CC Results.csv",
        "profile": "Correlation of images.csv",
        "profile_plot": "Correlation of images.png",
    }
    if series:
        names["frames"] = "Gaussian fits over time.csv"
        names["heatmap"] = "Correlation over time.png"
    if args.contributions:
        stems = [args.image0.stem, args.image1.stem]
        if stems[0] == stems[1]:  # two inputs of the same name must not share one output
            stems = [f"{stems[0]} (image0)", f"{stems[1]} (image1)"]
        names["contribution0"] = f"Contribution of {stems[0]}.tif"
        names["contribution1"] = f"Contribution of {stems[1]}.tif"
    targets = {key: out / name for key, name in names.items()}
    if out.is_dir():
        inputs = (args.image0, args.image1, args.mask)
        for path in targets.values():
            check_output(path, inputs=inputs, overwrite=args.overwrite, name="--out")
    return targets


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


def _csv_text(rows: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _profile_text(res: Any) -> str:
    prof = res.profile
    columns = [(f"Distance ({prof.unit})", prof.distance)]
    for name, values in (
        ("Original CC", prof.original),
        ("Subtracted CC", prof.subtracted),
        ("Gaussian fit", prof.fit),
    ):
        if values is not None:
            columns.append((name, values))
    return _csv_text(
        [
            [name for name, _ in columns],
            *([repr(float(col[i])) for _, col in columns] for i in range(prof.distance.size)),
        ]
    )


def _frames_text(res: Any) -> str:
    table = res.frames
    names = ["mean", "sigma", "confidence", "r_squared", "height", "fit_ok"]
    return _csv_text(
        [
            ["frame", *names],
            *(
                [t, *(repr(getattr(table, n)[t].item()) for n in names)]
                for t in range(table.frame.size)
            ),
        ]
    )


def _figures(res: Any, targets: dict[str, Path]) -> None:
    use_agg()
    from colocalize.plot import correlation_heatmap, correlation_profile

    axes = [("profile_plot", correlation_profile(res))]
    if res.frames is not None:
        axes.append(("heatmap", correlation_heatmap(res)))
    for key, ax in axes:
        save_figure(targets[key], ax.figure)
