"""``colocalize objects``: object-based colocalization of two channels (puncta)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from colocalize._cli._shared import add_channel_pair, channel_pair, summary_cell

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "objects",
        help="object-based colocalization of two channels (puncta)",
        description="Objects of two channels (threshold + connected components, 8-connected in "
        "2D and 26-connected in 3D, or label images), each measured against the other "
        "channel's: overlap fraction, centre distance to the nearest object, JACoP's "
        "centre-particle coincidences; per channel the colocalized fractions and, with "
        "--randomizations, a DiAna-style test against random placements inside the mask. "
        "Sizes and distances use the image's calibration. Prints the summary unless "
        "--out-summary is given.",
    )
    p.add_argument("image", type=Path, help="multichannel TIFF (2D or 3D)")
    add_channel_pair(p)
    p.add_argument(
        "--threshold",
        nargs="+",
        metavar="T",
        default=["Otsu"],
        help="foreground is intensity > T: a number in image units or an ImageJ method name; "
        "one for both channels or one per channel (default Otsu)",
    )
    p.add_argument("--mask", type=Path, help="mask TIFF (non-zero is analysed)")
    p.add_argument("--labels0", type=Path, help="label TIFF giving channel A's objects")
    p.add_argument("--labels1", type=Path, help="label TIFF giving channel B's objects")
    p.add_argument(
        "--min-size", type=float, help="smallest object kept (calibrated area or volume)"
    )
    p.add_argument("--max-size", type=float, help="largest object kept (calibrated)")
    p.add_argument(
        "--min-overlap",
        type=float,
        default=0.0,
        help="an object overlaps when more than this fraction of it lies in the other channel's "
        "objects (default 0: any pixel)",
    )
    p.add_argument(
        "--max-distance",
        type=float,
        help="an object is near when its centre is at most this far (calibrated) from a centre "
        "of the other channel",
    )
    p.add_argument(
        "--centre",
        choices=("mass", "geometric"),
        default="mass",
        help="centre used for distances and coincidences (default: intensity-weighted)",
    )
    p.add_argument(
        "--randomizations",
        type=int,
        default=0,
        metavar="N",
        help="random placements for the significance test (default 0: no test)",
    )
    p.add_argument(
        "--randomize",
        choices=("shape", "centre"),
        default="shape",
        help="place whole object shapes (default) or only their centres",
    )
    p.add_argument("--seed", type=int, help="seed of the random placements")
    p.add_argument("--out-objects", type=Path, help="CSV with one row per object")
    p.add_argument("--out-summary", type=Path, help="CSV with one row for the image")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=_run)


def _threshold_values(values: list[str]) -> list[float | str]:
    if len(values) > 2:
        raise ValueError(
            f"--threshold takes one value for both channels or one per channel, got {values}"
        )
    from colocalize._threshold._auto import resolve_method

    out: list[float | str] = []
    for text in values:
        try:
            value = float(text)
        except ValueError:
            out.append(resolve_method(text, name="--threshold"))
            continue
        if not math.isfinite(value):
            raise ValueError(f"--threshold must be a finite number or a method name, got {text!r}")
        out.append(value)
    return out


def _check_outputs(args: argparse.Namespace) -> None:
    from colocalize._output import check_output, same_file

    inputs = [args.image, args.mask, args.labels0, args.labels1]
    targets = [
        (path, name)
        for path, name in ((args.out_objects, "--out-objects"), (args.out_summary, "--out-summary"))
        if path is not None
    ]
    for path, name in targets:
        check_output(path, inputs=inputs, overwrite=args.overwrite, name=name)
    if len(targets) == 2 and same_file(targets[0][0], targets[1][0]):
        raise ValueError(
            f"--out-objects and --out-summary are the same file {str(args.out_objects)!r}; give "
            f"two different paths"
        )


def _run(args: argparse.Namespace) -> int:
    from colocalize._io import read_image, read_mask_file
    from colocalize._objects._puncta import object_colocalization
    from colocalize._output import write_atomic

    thresholds = _threshold_values(args.threshold)
    _check_outputs(args)
    image = read_image(args.image)
    if "T" in image.axes:
        raise ValueError(
            f"{args.image} has a time axis (axes {image.axes!r}); objects takes one time point: "
            f"split the frames first"
        )
    index, names = channel_pair(args, image)
    mask = read_mask_file(args.mask, what="--mask") if args.mask else None
    labels = [
        read_mask_file(path, what=name) if path else None
        for path, name in ((args.labels0, "--labels0"), (args.labels1, "--labels1"))
    ]
    result = object_colocalization(
        image.channel(index[0]),
        image.channel(index[1]),
        thresholds=thresholds[0] if len(thresholds) == 1 else thresholds,
        labels0=labels[0],
        labels1=labels[1],
        mask=mask,
        spacing=image.spatial_spacing,
        min_size=args.min_size,
        max_size=args.max_size,
        min_overlap=args.min_overlap,
        max_distance=args.max_distance,
        centre=args.centre,
        randomizations=args.randomizations,
        randomize=args.randomize,
        rng=args.seed,
    )
    lead = {"image": args.image.name, "channel0": names[0], "channel1": names[1]}
    summary = result.summary_table()
    for position, (key, value) in enumerate(lead.items()):
        summary.insert(position, key, value)
    summary.insert(3, "unit", image.unit)
    if args.out_objects is not None:
        objects = result.object_table()
        objects.insert(0, "image", args.image.name)
        objects.insert(2, "channel_name", [lead[f"channel{c}"] for c in objects["channel"]])
        write_atomic(args.out_objects, objects.to_csv(index=False))
    if args.out_summary is not None:
        write_atomic(args.out_summary, summary.to_csv(index=False))
    else:
        for column, cell in summary.iloc[0].items():
            print(f"{column}\t{summary_cell(cell)}")
    return 0
