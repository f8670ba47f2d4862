"""``colocalize coefficients`` and ``colocalize demo``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["register"]

# colocalize._costes.COSTES_METHODS, spelled out: `--help` must not import numpy.
COSTES_METHODS = ("bisection", "classic", "jacop", "ezcolocalization")

# Columns shown on the terminal (every column is in the CSV/JSON output).
_SUMMARY_COLUMNS = [
    "channel0", "channel1", "pearson", "spearman", "kendall_tau", "icq", "overlap",
    "m1", "m2", "tm1", "tm2", "n_pixels",
]
_TRIPLE_COLUMNS = [
    "channel0", "channel1", "channel2", "triple_m0", "triple_m1", "triple_m2",
    "triple_fraction_colocalized", "triple_overlap",
]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "coefficients",
        help="colocalization coefficients of every channel pair of a TIFF image",
        description="Print (or write) the colocalization coefficients of every channel pair "
        "of a multichannel TIFF, optionally inside a mask or per labelled object.",
    )
    p.add_argument("file", type=Path, help="multichannel TIFF (ImageJ hyperstack, OME or RGB)")
    p.add_argument("--mask", type=Path, help="mask TIFF (non-zero is inside)")
    p.add_argument("--labels", type=Path, help="label TIFF: one row per object and pair")
    p.add_argument(
        "--channels", nargs="+", metavar="CH",
        help="channels to use, by name or index (from 0; negative from the end; default: all)",
    )
    p.add_argument(
        "--thresholds", nargs="+", metavar="T",
        help="one threshold per used channel (image units), 'costes', or an auto-threshold "
        "method name such as Otsu",
    )
    p.add_argument(
        "--costes-method", choices=COSTES_METHODS, default="bisection",
        help="the search of --thresholds costes (default: bisection, Coloc 2's 'Bisection'): "
        "classic (Coloc 2's 'Costes'), jacop (JACoP's) or ezcolocalization "
        "(EzColocalization's); the costes_converged column says whether it converged",
    )
    p.add_argument(
        "--measures", nargs="+", metavar="M",
        help="compute only these measure groups (default: all but tos): pearson, overlap, "
        "manders, thresholded_manders, thresholded_overlap, icq, spearman, kendall, tos "
        "(EzColocalization's threshold overlap score); the other columns are NaN",
    )
    p.add_argument("--triples", action="store_true", help="also compute channel triples")
    p.add_argument(
        "--exclude-zero-zero", action="store_true",
        help="drop pixels that are zero in every channel",
    )
    p.add_argument(
        "--saturated", action="store_true", help="drop pixels at the dtype maximum"
    )
    p.add_argument(
        "--report", type=Path, metavar="PATH",
        help="also write a report of the analysis (images, scatter plot, thresholds, every "
        "coefficient, settings, versions), like Coloc 2's PDF: PATH ends in .pdf or .png; needs "
        "exactly two channels (see --channels) and no --labels",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing --report (never an input)"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="write CSV to standard output")
    out.add_argument("--json", action="store_true", help="write JSON records to standard output")
    p.set_defaults(func=_run_coefficients)

    d = subparsers.add_parser(
        "demo",
        help="the main job on the neuron-4Ch sample: tables and figures in --out",
        description="Cell mask from the phalloidin channel (Otsu), coefficients of all 6 channel "
        "pairs and 4 triples of the neuron-4Ch sample inside it, bivariate histograms.",
    )
    d.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    d.add_argument("--overwrite", action="store_true", help="replace earlier results in --out")
    d.set_defaults(func=_run_demo)


def _parse_thresholds(values: list[str] | None) -> Any:
    if not values:
        return None
    if len(values) == 1 and not _is_number(values[0]):
        if values[0].lower() == "costes":
            return "costes"
        from colocalize._threshold import resolve_method

        try:
            return resolve_method(values[0], name="--thresholds")
        except ValueError as exc:
            raise ValueError(f"{exc} Or 'costes', or one number per channel.") from None
    if not all(_is_number(v) for v in values):
        raise ValueError(
            f"--thresholds takes numbers (one per channel), 'costes' or one method name, "
            f"got {values}"
        )
    return [float(v) for v in values]


def _parse_measures(values: list[str] | None) -> list[str] | None:
    from colocalize._coefficients import MEASURES, ON_REQUEST

    groups = [*MEASURES, *ON_REQUEST]
    unknown = [v for v in values or [] if v.lower() not in groups]
    if unknown:
        raise ValueError(
            f"--measures got {', '.join(unknown)}: use one or more of {', '.join(groups)}"
        )
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _run_coefficients(args: argparse.Namespace) -> int:
    import numpy as np  # here, not at import: `colocalize coefficients --help` needs no numpy

    from colocalize._io import read_image, read_mask_file
    from colocalize._table import coefficient_table
    from colocalize._validation import ColocalizeWarning, channel_index

    if args.report is not None:  # before any work
        from colocalize.plot._coefficient_report import check_report_path

        if args.labels is not None:
            raise ValueError(
                "--report describes one analysis of two channels (in --mask or the whole "
                "image), not one row per object: leave out --labels or --report"
            )
        inputs = (args.file, args.mask, args.labels)
        check_report_path(args.report, inputs=inputs, overwrite=args.overwrite, name="--report")
    image = read_image(args.file)
    if "C" not in image.axes:
        raise ValueError(
            f"{args.file} has axes {image.axes!r} and no channel axis: coefficients need at "
            f"least two channels"
        )
    channel_axis = image.axes.index("C")
    data = image.data
    names = list(image.channel_names) or [f"C{i}" for i in range(image.n_channels)]
    index = list(range(image.n_channels))
    if args.channels:
        index = [
            channel_index(c, image.n_channels, names, name="--channels") for c in args.channels
        ]
        data = np.take(data, index, axis=channel_axis)
        names = [names[i] for i in index]
    if args.report is not None and len(index) != 2:
        raise ValueError(
            f"--report describes one channel pair, but {len(index)} channels are used: choose "
            f"two with --channels (e.g. --channels 0 1)"
        )
    mask = read_mask_file(args.mask, what="--mask") if args.mask else None
    labels = read_mask_file(args.labels, what="--labels") if args.labels else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        table = coefficient_table(
            data,
            channel_axis=channel_axis,
            channel_names=names,
            mask=mask,
            labels=labels,  # whole-number floats accepted, fractions refused (as_labels)
            thresholds=_parse_thresholds(args.thresholds),
            triples=args.triples,
            exclude_zero_zero=args.exclude_zero_zero,
            saturated=True if args.saturated else None,
            measures=_parse_measures(args.measures),
            costes_method=args.costes_method,
        )
    if args.report is not None:
        _write_report(args, np.moveaxis(data, channel_axis, 0), names, index, mask)
    for warning in caught:  # one plain line each, not Python's file:line dump
        print(f"colocalize coefficients: warning: {warning.message}", file=sys.stderr)
    if args.csv:
        table.to_csv(sys.stdout, index=False)
    elif args.json:
        sys.stdout.write(table.to_json(orient="records", indent=1) + "\n")
    else:
        print(format_table(table))
    return 0


def _write_report(
    args: argparse.Namespace, channels: Any, names: list[str], index: list[int], mask: Any
) -> None:
    """``--report``: the report of the two channels (numbered from 1 in it, as in ImageJ), with
    the options of the table's analysis; its warnings are the table's, already recorded."""
    from colocalize._validation import ColocalizeWarning
    from colocalize.plot import coefficient_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocalizeWarning)
        coefficient_report(
            channels[0],
            channels[1],
            path=args.report,
            mask=mask,
            thresholds=_parse_thresholds(args.thresholds),
            costes_method=args.costes_method,
            exclude_zero_zero=args.exclude_zero_zero,
            saturated=True if args.saturated else None,
            measures=_parse_measures(args.measures),
            names=(names[0], names[1]),
            channels=(index[0] + 1, index[1] + 1),
            mask_name=str(args.mask) if args.mask else None,
            sources=[p for p in (args.file, args.mask) if p is not None],
            overwrite=args.overwrite,
        )


def format_table(table: pd.DataFrame) -> str:
    """A readable terminal rendering: pairs, then triples, values to 3 decimals."""
    pairs = table[table["channel2"] == ""]
    lead = ["label"] if "label" in table.columns else []
    text = pairs[lead + _SUMMARY_COLUMNS].to_string(index=False, float_format="{:.3f}".format)
    triples = table[table["channel2"] != ""]
    if len(triples):
        text += "\n\nTriples\n" + triples[lead + _TRIPLE_COLUMNS].rename(
            columns=lambda c: c.replace("triple_", "")
        ).to_string(index=False, float_format="{:.3f}".format)
    return text


def _run_demo(args: argparse.Namespace) -> int:
    from colocalize._demo import run_demo

    table = run_demo(args.out, overwrite=args.overwrite)
    print(format_table(table))
    print(f"\nWrote {args.out / 'coefficients.csv'} and figures to {args.out}/")
    return 0
