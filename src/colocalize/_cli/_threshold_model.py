"""``colocalize threshold-model fit|predict|evaluate``: the seed paper's learned thresholds.

The expert CSV has a header row with the columns ``image`` (TIFF path, relative to the CSV's
folder unless absolute), ``channel`` (channel name, such as ``R`` for an RGB file, or 0-based
index), ``low`` and ``high`` (the expert's acceptable threshold range, in the image's units).
The channel's label in the model is its name in the file (``R``, ``G``, ``B`` for RGB files,
ImageJ or OME channel names) or, when the file has none, its index.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["register"]

_COLUMNS = ("image", "channel", "low", "high")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "threshold-model",
        help="learn background thresholds from expert ranges (fit, predict, evaluate)",
        description="Fit, apply and evaluate the seed paper's linear model of background "
        "thresholds: histogram deciles of each channel's responder pixels plus the channel. "
        "Expert CSV columns: image, channel, low, high.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    f = sub.add_parser("fit", help="fit a model to an expert CSV and write it as JSON")
    f.add_argument("experts", type=Path, help="CSV with columns image, channel, low, high")
    f.add_argument("-o", "--output", type=Path, required=True, help="model JSON to write")
    f.add_argument(
        "--select",
        action="store_true",
        help="backward selection: keep only terms significant at --alpha",
    )
    f.add_argument("--alpha", type=float, default=0.05, help="selection level (default 0.05)")
    f.add_argument(
        "--no-channel", action="store_true", help="leave the channel offsets out of the model"
    )
    f.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    f.set_defaults(func=_run_fit)

    r = sub.add_parser("predict", help="predict thresholds for every channel of some images")
    r.add_argument("model", type=Path, help="model JSON written by 'fit'")
    r.add_argument("images", type=Path, nargs="+", help="TIFF images")
    r.add_argument(
        "-o",
        "--output",
        type=Path,
        help="CSV to write (image, channel, threshold); default standard output",
    )
    r.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    r.set_defaults(func=_run_predict)

    e = sub.add_parser("evaluate", help="compare a model's thresholds with an expert CSV")
    e.add_argument("model", type=Path, help="model JSON written by 'fit'")
    e.add_argument("experts", type=Path, help="CSV with columns image, channel, low, high")
    e.set_defaults(func=_run_evaluate)


def _channel_labels(image: Any) -> list[str]:
    if image.channel_names:
        return list(image.channel_names)
    return [str(i) for i in range(image.n_channels)]


def _image_deciles(image: Any) -> np.ndarray:
    from colocalize._threshold._background import histogram_deciles

    return np.atleast_2d(histogram_deciles(image))  # one row per channel of C


def _expert_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an expert CSV, with ``"file"``: the image path resolved against its folder."""
    if not path.is_file():
        raise FileNotFoundError(f"expert CSV {str(path)!r} does not exist")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = [c.strip().lower() for c in (reader.fieldnames or [])]
        missing = [c for c in _COLUMNS if c not in fields]
        if missing:
            raise ValueError(
                f"expert CSV {str(path)!r} lacks column(s) {missing}; its header must name "
                f"{', '.join(_COLUMNS)} (found {reader.fieldnames})"
            )
        rows = [
            {k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in reader
        ]
    if not rows:
        raise ValueError(f"expert CSV {str(path)!r} has no data rows")
    for row in rows:
        file = Path(row["image"])
        row["file"] = file if file.is_absolute() else path.parent / file
    return rows


def _read_experts(
    path: Path, rows: list[dict[str, Any]]
) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """Features, channel labels, low and high of every row of an expert CSV."""
    from colocalize._io import read_image
    from colocalize._validation import channel_index

    cache: dict[Path, tuple[list[str], np.ndarray]] = {}
    feats, labels, low, high = [], [], [], []
    for line, row in enumerate(rows, start=2):
        file = row["file"]
        if file not in cache:
            img = read_image(file)
            cache[file] = (_channel_labels(img), _image_deciles(img))
        names, deciles = cache[file]
        try:
            index = channel_index(row["channel"], len(names), names, name="channel")
        except ValueError as exc:
            raise ValueError(f"{path}:{line} ({file.name}): {exc}") from None
        try:
            low.append(float(row["low"]))
            high.append(float(row["high"]))
        except ValueError:
            raise ValueError(
                f"{path}:{line}: low {row['low']!r} and high {row['high']!r} must be numbers"
            ) from None
        feats.append(deciles[index])
        labels.append(names[index])
    return np.asarray(feats), labels, np.asarray(low), np.asarray(high)


def _run_fit(args: argparse.Namespace) -> int:
    from colocalize._output import check_output
    from colocalize._threshold._background import ThresholdModel

    rows = _expert_rows(args.experts)
    inputs = [args.experts, *(row["file"] for row in rows)]
    check_output(args.output, inputs=inputs, overwrite=args.overwrite, name="--output")
    feats, labels, low, high = _read_experts(args.experts, rows)
    model = ThresholdModel.fit(
        feats,
        labels,
        low,
        high,
        use_channel=not args.no_channel,
        select=args.select,
        alpha=args.alpha,
    )
    model.save(args.output, overwrite=args.overwrite)
    print(model.summary())
    ev = model.evaluate(feats, labels, low, high)
    print(
        f"training set: MAE vs midpoint {ev.mae_midpoint:.3f}, mean distance from range "
        f"{ev.mean_range_distance:.3f}, in range {ev.fraction_in_range:.1%} (n = {ev.n})"
    )
    print(f"model written to {args.output}")
    return 0


def _load_model(path: Path) -> Any:
    from colocalize._threshold._background import ThresholdModel

    if not path.is_file():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist; create it with fit")
    return ThresholdModel.load(path)


def _run_predict(args: argparse.Namespace) -> int:
    from colocalize._io import read_image
    from colocalize._output import check_output, write_atomic

    if args.output is not None:
        check_output(
            args.output,
            inputs=[args.model, *args.images],
            overwrite=args.overwrite,
            name="--output",
        )
    model = _load_model(args.model)
    rows = []
    for file in args.images:
        img = read_image(file)
        labels = _channel_labels(img)
        pred = model.predict(_image_deciles(img), labels)
        rows += [(str(file), lab, float(t)) for lab, t in zip(labels, pred)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["image", "channel", "threshold"])
    writer.writerows([(f, c, f"{t:.6g}") for f, c, t in rows])
    if args.output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        write_atomic(args.output, buffer.getvalue())
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    feats, labels, low, high = _read_experts(args.experts, _expert_rows(args.experts))
    ev = model.evaluate(feats, labels, low, high)
    print(f"n = {ev.n}")
    print(f"mean absolute error vs midpoint: {ev.mae_midpoint:.4f}")
    print(f"mean distance from [low, high]:  {ev.mean_range_distance:.4f}")
    print(f"fraction inside the range:       {ev.fraction_in_range:.4f}")
    return 0
