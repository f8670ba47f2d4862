"""``colocalize coefficients`` and ``colocalize demo``."""

from __future__ import annotations

import argparse
import csv
import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from colocalize._table import TableRows

__all__ = ["register"]

# colocalize._costes.COSTES_METHODS, spelled out: `--help` must not import numpy.
COSTES_METHODS = ("bisection", "classic", "jacop", "ezcolocalization")
# colocalize._coefficients.COMPARISONS, spelled out for the same reason
COMPARISONS = ("peers", ">", ">=")

# Columns shown on the terminal (every column is in the CSV/JSON output).
_SUMMARY_COLUMNS = [
    "channel0",
    "channel1",
    "pearson",
    "spearman",
    "kendall_tau",
    "icq",
    "overlap",
    "m1",
    "m2",
    "tm1",
    "tm2",
    "n_pixels",
]
_TRIPLE_COLUMNS = [
    "channel0",
    "channel1",
    "channel2",
    "triple_m0",
    "triple_m1",
    "triple_m2",
    "triple_fraction_colocalized",
    "triple_overlap",
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
        "--channels",
        nargs="+",
        metavar="CH",
        help="channels to use, by name or index (from 0; negative from the end; default: all)",
    )
    p.add_argument(
        "--thresholds",
        nargs="+",
        metavar="T",
        help="one threshold per used channel (image units), 'costes', 'top10%%' (each "
        "channel's brightest 10%%, EzColocalization's FT), or an auto-threshold method name "
        "such as Otsu; docs/coefficients.md says which pixels each field counts",
    )
    p.add_argument(
        "--threshold-comparison",
        choices=COMPARISONS,
        default="peers",
        help="how numeric --thresholds select pixels: peers (default: each field as the tool "
        "that defines it, Coloc 2's tm1/tm2 >=, every other field >), '>' (every field "
        "x > T: ImageJ's auto threshold t, JACoP, EzColocalization, CellProfiler) or '>=' "
        "(every field x >= T: the lower bound of ImageJ's Threshold dialog)",
    )
    p.add_argument(
        "--costes-method",
        choices=COSTES_METHODS,
        default="bisection",
        help="the search of --thresholds costes (default: bisection, Coloc 2's 'Bisection'): "
        "classic (Coloc 2's 'Costes'), jacop (JACoP's) or ezcolocalization "
        "(EzColocalization's); the costes_converged column says whether it converged",
    )
    p.add_argument(
        "--measures",
        nargs="+",
        metavar="M",
        help="compute only these measure groups (default: all but tos): pearson, overlap, "
        "manders, thresholded_manders, thresholded_overlap, icq, spearman, kendall, tos "
        "(EzColocalization's threshold overlap score); the other columns are NaN",
    )
    p.add_argument("--triples", action="store_true", help="also compute channel triples")
    p.add_argument(
        "--exclude-zero-zero",
        action="store_true",
        help="drop pixels that are zero in every channel",
    )
    p.add_argument("--saturated", action="store_true", help="drop pixels at the dtype maximum")
    p.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
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
        from colocalize._coefficients import resolve_threshold_method

        try:
            return resolve_threshold_method(values[0], name="--thresholds")
        except ValueError as exc:
            raise ValueError(f"{exc} Or one number per channel.") from None
    if not all(_is_number(v) for v in values):
        raise ValueError(
            f"--thresholds takes numbers (one per channel), 'costes', 'top<x>%' or one method "
            f"name, got {values}"
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
    # imported here, not at import: `colocalize coefficients --help` needs no numpy
    from colocalize._io import read_image, read_mask_file
    from colocalize._table import table_rows
    from colocalize._validation import ColocalizeWarning, channel_index

    report = None
    if args.report is not None:  # before any work
        from colocalize.plot._coefficient_report import check_report_path

        if args.labels is not None:
            raise ValueError(
                "--report describes one analysis of two channels (in --mask or the whole "
                "image), not one row per object: leave out --labels or --report"
            )
        if args.threshold_comparison != "peers":
            raise ValueError(
                f"--report compares thresholds as the peers do; --threshold-comparison "
                f"{args.threshold_comparison} is for the table only: leave out one of them"
            )
        inputs = (args.file, args.mask, args.labels)
        report = check_report_path(
            args.report, inputs=inputs, overwrite=args.overwrite, name="--report"
        )[0]
    image = read_image(args.file)
    # the channels by index: `--channels` keys resolved against the file's channel names; the
    # image itself goes to the table unchanged (colocalize._channels.as_channels splits it)
    index = None
    if args.channels:
        index = [
            channel_index(c, image.n_channels, image.channel_names, name="--channels")
            for c in args.channels
        ]
    used = len(index) if index else image.n_channels
    if report is not None and used != 2:
        raise ValueError(
            f"--report describes one channel pair, but {used} channels are used: choose two "
            f"with --channels (e.g. --channels 0 1)"
        )
    mask = read_mask_file(args.mask, what="--mask") if args.mask else None
    labels = read_mask_file(args.labels, what="--labels") if args.labels else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        table = table_rows(
            image,
            channels=index,
            mask=mask,
            labels=labels,  # whole-number floats accepted, fractions refused (as_labels)
            thresholds=_parse_thresholds(args.thresholds),
            triples=args.triples,
            exclude_zero_zero=args.exclude_zero_zero,
            saturated=True if args.saturated else None,
            measures=_parse_measures(args.measures),
            costes_method=args.costes_method,
            threshold_comparison=args.threshold_comparison,
        )
    if report is not None:
        _write_report(args, report, image, index or [0, 1], mask, table)
    for warning in caught:  # one plain line each, not Python's file:line dump
        print(f"colocalize coefficients: warning: {warning.message}", file=sys.stderr)
    # text and CSV are written here, without pandas (its import is most of a one-shot run's
    # start-up); tests/test_cli_startup.py checks them against pandas' to_string and to_csv
    if args.csv:
        write_csv(sys.stdout, table.columns, table.rows)
    elif args.json:
        sys.stdout.write(table.frame().to_json(orient="records", indent=1) + "\n")
    else:
        print(format_table(table.rows, table.columns))
    return 0


def _write_report(
    args: argparse.Namespace,
    report: Path,
    image: Any,
    index: list[int],
    mask: Any,
    table: TableRows,
) -> None:
    """``--report`` (checked: ``report``): the report of the two channels ``index`` of
    ``image`` (numbered from 1 in it, as in ImageJ), drawn from the ``table`` rows' analysis
    of them (:func:`colocalize.plot.coefficient_report` without measuring again)."""
    from colocalize.plot._coefficient_report import draw_report, result_of_row

    (row,) = table.rows
    draw_report(
        report,
        [image.channel(index[0]), image.channel(index[1])],
        result_of_row(row, table.measures),
        mask=mask,
        thresholds=_parse_thresholds(args.thresholds),
        costes_method=args.costes_method,
        exclude_zero_zero=args.exclude_zero_zero,
        saturated=True if args.saturated else None,
        names=(image.channel_names[index[0]], image.channel_names[index[1]]),
        channels=(index[0] + 1, index[1] + 1),
        mask_name=str(args.mask) if args.mask else None,
        sources=[p for p in (args.file, args.mask) if p is not None],
    )


def write_csv(stream: TextIO, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows as ``DataFrame.to_csv(stream, index=False)`` writes them: floats as ``repr``,
    NaN and absent values empty, minimal quoting."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(col)) for col in columns])


def _csv_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value if isinstance(value, str) else repr(value)


def format_table(rows: Sequence[Mapping[Any, Any]], columns: Sequence[str]) -> str:
    """A readable terminal rendering: pairs, then triples, values to 3 decimals (the layout of
    pandas' ``to_string(index=False, float_format="{:.3f}".format)``)."""
    lead = ["label"] if "label" in columns else []
    pairs = [row for row in rows if row["channel2"] == ""]
    text = _text_block(pairs, lead + _SUMMARY_COLUMNS)
    triples = [row for row in rows if row["channel2"] != ""]
    if triples:
        shown = lead + _TRIPLE_COLUMNS
        headers = [col.replace("triple_", "") for col in shown]
        text += "\n\nTriples\n" + _text_block(triples, shown, headers)
    return text


_ESCAPES = str.maketrans({"\t": "\\t", "\r": "\\r", "\n": "\\n"})


def _text_block(
    rows: Sequence[Mapping[Any, Any]], columns: Sequence[str], headers: Sequence[str] = ()
) -> str:
    """Right-aligned columns joined by one space; a numeric column's header gets one leading
    space (as pandas does)."""
    headers = list(headers or columns)
    if not rows:  # a label image without objects: pandas' words for an empty table
        return f"Empty DataFrame\nColumns: [{', '.join(headers)}]\nIndex: []"
    lines: list[list[str]] = [[] for _ in range(len(rows) + 1)]
    for col, header in zip(columns, headers):
        cells = [_text_cell(row.get(col)) for row in rows]
        numeric = not isinstance(rows[0].get(col), str)
        cells.insert(0, f" {header}" if numeric else header)
        width = max(map(len, cells))
        for line, cell in zip(lines, cells):
            line.append(cell.rjust(width))
    return "\n".join(" ".join(line) for line in lines)


def _text_cell(value: Any) -> str:
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, int):
        return str(value)
    return "<NA>"  # an integer column's missing value (None or pandas.NA)


def _run_demo(args: argparse.Namespace) -> int:
    from colocalize._demo import run_demo

    table = run_demo(args.out, overwrite=args.overwrite)
    print(format_table(table.to_dict(orient="records"), list(table.columns)))
    print(f"\nWrote {args.out / 'coefficients.csv'} and figures to {args.out}/")
    return 0
