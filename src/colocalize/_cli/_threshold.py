"""``colocalize threshold``: ImageJ's automatic threshold of each channel of an image."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    from colocalize._threshold._auto import threshold_methods

    p = subparsers.add_parser(
        "threshold",
        help="ImageJ's automatic threshold of each channel",
        description="Print ImageJ's automatic threshold of each channel (tab-separated: channel, "
        "name, method, threshold). The foreground is intensity > threshold (with --bright-"
        "background: intensity <= threshold). Stacks use one histogram of the whole stack "
        "unless --stack-mode projection (maximum-intensity projection).",
    )
    p.add_argument("image", type=Path, help="image file (TIFF, OME-TIFF...)")
    p.add_argument(
        "--method",
        default="Otsu",
        metavar="METHOD",
        help=f"one of {', '.join(threshold_methods())}, any case (default Otsu)",
    )
    p.add_argument("--channel", help="only this channel (name, or index; -1 is the last)")
    p.add_argument("--mask", type=Path, help="mask image (non-zero is inside)")
    p.add_argument(
        "--bright-background",
        action="store_true",
        help="dark objects on a bright background (ImageJ's 'Dark background' unchecked)",
    )
    p.add_argument(
        "--stack-mode",
        choices=("histogram", "projection"),
        default="histogram",
        help="stacks: one histogram of every pixel (default) or the maximum projection",
    )
    p.add_argument(
        "--per-slice",
        action="store_true",
        help="stacks: one threshold per plane (adds a 'slice' column)",
    )
    p.add_argument(
        "--full-histogram",
        action="store_true",
        help="integer images: one bin per value, as Fiji's Auto Threshold (default: ImageJ's "
        "256 bins over min..max)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from colocalize import read_image, threshold, threshold_per_slice
    from colocalize._io import read_mask_file
    from colocalize._threshold._auto import resolve_method
    from colocalize._validation import channel_index

    method = resolve_method(args.method, name="--method")
    image = read_image(args.image)
    mask = None if args.mask is None else read_mask_file(args.mask, what="--mask") != 0
    options = {
        "mask": mask,
        "dark_background": not args.bright_background,
        "full_histogram": args.full_histogram,
    }
    if args.channel is None:
        indices = list(range(image.n_channels))
    else:
        indices = [
            channel_index(args.channel, image.n_channels, image.channel_names, name="--channel")
        ]
    print("channel\tname\tmethod\t" + ("slice\t" if args.per_slice else "") + "threshold")
    for index in indices:
        data = image.channel(index)
        name = image.channel_names[index] if image.channel_names else ""
        prefix = f"{index}\t{name}\t{method}\t"
        if args.per_slice:
            values = threshold_per_slice(data, method, **options)
            for plane, value in enumerate(values.ravel()):
                print(f"{prefix}{plane}\t{_format(float(value))}")
        else:
            value = threshold(data, method, stack_mode=args.stack_mode, **options)
            print(prefix + _format(value))
    return 0


def _format(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.10g}"
