"""``colocalize batch ROOT ...`` and ``colocalize report DIR``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    b = subparsers.add_parser(
        "batch",
        help="measure every image of a folder tree; tables, summary and errors in --out",
        description="Measure the colocalization coefficients of every channel pair of every "
        "image under ROOT (metadata parsed from the paths with --pattern, or listed in a CSV "
        "--manifest) and write DIR/coefficients.csv, summary.csv (mean, standard error and n "
        "per condition), errors.csv, provenance.json and outputs.json (committed together). "
        "A rerun resumes. Exit status 1 when some image failed (it is listed in errors.csv), "
        "0 when all succeeded, 2 for bad arguments or when another batch holds DIR.",
    )
    b.add_argument("root", type=Path, help="top folder of the images")
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--pattern",
        help="paths relative to ROOT with {field} captures, e.g. "
        "'{organelle}/{time}min/series{series}/*.tif'",
    )
    src.add_argument("--manifest", type=Path, help="CSV with a path column plus metadata columns")
    b.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder (not ROOT, and not where --pattern would take its files)",
    )
    b.add_argument(
        "--thresholds",
        type=Path,
        metavar="CSV",
        help="manual thresholds: CSV with columns image, channel, threshold (or low, high)",
    )
    b.add_argument(
        "--model", type=Path, metavar="JSON", help="threshold model (from threshold-model fit)"
    )
    b.add_argument(
        "--method",
        nargs="+",
        metavar="NAME",
        help="auto-threshold method(s), e.g. Otsu, costes, or top10%% (each channel's "
        "brightest 10%%, EzColocalization's FT); each a threshold source",
    )
    b.add_argument("--channels", nargs="+", metavar="CH", help="channels to pair (default all)")
    b.add_argument("--mask-channel", metavar="CH", help="measure inside this channel's foreground")
    b.add_argument("--mask-method", default="Otsu", help="threshold of --mask-channel (Otsu)")
    b.add_argument(
        "--group-by",
        nargs="+",
        metavar="FIELD",
        help="summary groups (default: every field except --replicate)",
    )
    b.add_argument("--replicate", help="replicate field (default series, when there is one)")
    b.add_argument(
        "--exclude-zero-zero", action="store_true", help="drop pixels zero in all channels"
    )
    b.add_argument("--saturated", action="store_true", help="drop pixels at the dtype maximum")
    b.add_argument("--triples", action="store_true", help="also measure channel triples")
    b.add_argument(
        "--measures",
        nargs="+",
        metavar="GROUP",
        help="compute only these coefficient groups (as 'colocalize coefficients --measures')",
    )
    b.add_argument(
        "--costes-method",
        default="bisection",
        help="search of --method costes: bisection (default), classic, jacop or ezcolocalization",
    )
    o = b.add_argument_group("objects (object-based colocalization of puncta, docs/objects.md)")
    o.add_argument(
        "--objects",
        action="store_true",
        help="also write objects.csv, objects_summary.csv and objects_conditions.csv",
    )
    o.add_argument(
        "--object-pairs",
        nargs="+",
        metavar="A:B",
        type=_pair,
        help="channel pairs of the objects (default: the coefficients' pairs)",
    )
    o.add_argument(
        "--object-method",
        metavar="NAME",
        help="threshold method of the objects (default: the batch's per-channel threshold "
        "sources, else Otsu)",
    )
    o.add_argument(
        "--min-overlap",
        type=float,
        default=0.0,
        help="an object overlaps when its overlap fraction is above this (0)",
    )
    o.add_argument(
        "--max-distance",
        type=float,
        help="an object is near when its nearest centre distance is at most this (calibrated)",
    )
    o.add_argument(
        "--randomizations",
        type=int,
        default=0,
        help="random placements per image and pair for the randomization test (0: none)",
    )
    o.add_argument("--seed", type=int, default=0, help="seed of the randomizations (0)")
    d = b.add_argument_group("Van Steensel's CCF (docs/diagnostics.md)")
    d.add_argument(
        "--ccf",
        action="store_true",
        help="also write ccf.csv (r per shift) and ccf_summary.csv (peak, FWHM) of every pair",
    )
    d.add_argument(
        "--ccf-max-shift",
        type=int,
        default=20,
        metavar="N",
        help="largest shift of the CCF in pixels (default 20)",
    )
    b.add_argument("--workers", type=int, help="local worker processes (default: CPU count)")
    b.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    b.add_argument("--no-resume", action="store_true", help="measure every image again")
    b.add_argument(
        "--verify",
        action="store_true",
        help="re-hash every input before reusing its results (size and time are not trusted)",
    )
    b.add_argument(
        "--wait",
        action="store_true",
        help="when another batch is writing to --out, wait for it instead of failing",
    )
    b.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the results of a batch of another data folder held in --out",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--report", action="store_true", help="also write DIR/report.html")
    b.set_defaults(func=_run_batch)

    r = subparsers.add_parser(
        "report",
        help="self-contained HTML report of a finished batch",
        description="Write DIR/report.html (or --output): provenance, errors, the summary "
        "table, coefficient strip plots and the bivariate-histogram panel of a batch folder.",
    )
    r.add_argument("dir", type=Path, help="a 'colocalize batch' output folder")
    r.add_argument("--output", type=Path, help="HTML file to write (default DIR/report.html)")
    r.add_argument(
        "--overwrite", action="store_true", help="replace an existing --output (never an input)"
    )
    r.add_argument("--no-histograms", action="store_true", help="skip the histogram panel")
    r.add_argument(
        "--nbins", type=int, default=64, help="histogram bins per channel, 2 to 1024 (64)"
    )
    r.add_argument("--max-images", type=int, help="images per condition in the histograms")
    r.set_defaults(func=_run_report)


def _pair(text: str) -> tuple[str, str]:
    """A channel pair ``A:B`` (names or indices)."""
    first, sep, second = text.partition(":")
    if not sep or not first or not second or ":" in second:
        raise argparse.ArgumentTypeError(
            f"a channel pair is two channels (name or index) joined by ':', e.g. red:green or "
            f"0:1; got {text!r}"
        )
    return first, second


def _run_batch(args: argparse.Namespace) -> int:
    from colocalize._batch._run import batch
    from colocalize._cli._coefficients import _parse_measures
    from colocalize._validation import ColocalizeWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        result = batch(
            args.root,
            out=args.out,
            pattern=args.pattern,
            manifest=args.manifest,
            thresholds=args.thresholds,
            model=args.model,
            method=args.method,
            channels=args.channels,
            mask_channel=args.mask_channel,
            mask_method=args.mask_method,
            group_by=args.group_by,
            replicate=args.replicate,
            exclude_zero_zero=args.exclude_zero_zero,
            saturated=args.saturated,
            triples=args.triples,
            measures=_parse_measures(args.measures),
            costes_method=args.costes_method,
            objects=args.objects,
            object_pairs=args.object_pairs,
            object_method=args.object_method,
            min_overlap=args.min_overlap,
            max_distance=args.max_distance,
            randomizations=args.randomizations,
            seed=args.seed,
            ccf=args.ccf,
            ccf_max_shift=args.ccf_max_shift,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=not args.no_resume,
            verify=args.verify,
            wait=args.wait,
            overwrite=args.overwrite,
            progress=False if args.no_progress else None,
        )
    for w in caught:
        if issubclass(w.category, ColocalizeWarning):
            print(f"colocalize batch: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    rate = result.n_computed / result.seconds if result.seconds > 0 else float("nan")
    print(
        f"{result.n_images} images: {result.n_computed} measured ({rate:.2f} images/s), "
        f"{result.n_resumed} resumed, {result.n_failed} failed; {result.n_rows} rows"
    )
    extra = [
        *result.parquet,
        result.objects,
        result.objects_summary,
        result.objects_conditions,
        result.ccf,
        result.ccf_summary,
    ]
    print(
        f"Wrote {result.coefficients}, {result.summary.name}, {result.errors.name}, "
        f"{result.provenance.name}" + "".join(f", {p.name}" for p in extra if p is not None)
    )
    if args.report:
        from colocalize.plot._batch_report import write_report

        print(f"Wrote {write_report(result.out)}")
    if result.n_failed:
        print(f"{result.n_failed} image(s) failed: see {result.errors}")
        return 1
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from colocalize.plot._batch_report import write_report

    target = write_report(
        args.dir,
        output=args.output,
        overwrite=args.overwrite,
        histograms=not args.no_histograms,
        nbins=args.nbins,
        max_images=args.max_images,
    )
    print(f"Wrote {target}")
    return 0
