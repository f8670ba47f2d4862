"""``colocalize segment-nuclei``, ``segment-cells``, ``cytoplasm-rings``, ``translocation``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from colocalize._cli._shared import save_figure, use_agg

__all__ = ["register"]


def register(subparsers: Any) -> None:
    _register_nuclei(subparsers)
    _register_cells(subparsers)
    _register_rings(subparsers)
    _register_translocation(subparsers)


def _register_nuclei(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "segment-nuclei",
        help="segment nuclei into a label image",
        description="Segment bright nuclei (2D or a z-stack; every time point of a time-lapse) "
        "and write a label image (0 = background, nuclei 1..n) with the input's calibration. "
        "Lengths are in the image's calibrated units.",
    )
    p.add_argument("image", type=Path, help="image file (TIFF, OME-TIFF...)")
    p.add_argument("--out", type=Path, required=True, help="label image to write (TIFF)")
    p.add_argument("--channel", help="nuclear stain channel (name, or index; -1 is the last)")
    p.add_argument("--table", type=Path, help="also write per-nucleus measurements (CSV)")
    _add_overwrite(p)
    p.add_argument("--radius", type=float, help="typical nucleus radius (default: estimated)")
    p.add_argument("--min-radius", type=float, help="smallest equivalent radius kept")
    p.add_argument("--max-radius", type=float, help="largest equivalent radius kept")
    p.add_argument("--smoothing", type=float, help="Gaussian sigma (default radius / 8)")
    p.add_argument("--method", default="Triangle", help="ImageJ threshold method (Triangle)")
    p.add_argument("--edge-fraction", type=float, default=0.4, help="edge level (0.4)")
    p.add_argument("--projection", action="store_true", help="threshold the max projection")
    p.add_argument(
        "--stack-mode",
        choices=("3d", "planes"),
        default="3d",
        help="stacks: true 3D (default) or per-plane detection merged across z",
    )
    p.set_defaults(func=_run_nuclei)


def _register_cells(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "segment-cells",
        help="segment cells or rod-shaped bacteria into a label image",
        description="Segment bright cells or bacteria (local threshold, LoG edges inside the "
        "colony, eroded seeds, watershed; lengths scale with the estimated cell half-width) "
        "and write a label image with the input's calibration.",
    )
    p.add_argument("image", type=Path, help="image file (TIFF, OME-TIFF...)")
    p.add_argument("--out", type=Path, required=True, help="label image to write (TIFF)")
    p.add_argument("--channel", help="channel to segment (name, or index; -1 is the last)")
    p.add_argument("--width", type=float, help="cell half-width (default: estimated)")
    p.add_argument("--block-size", type=float, help="local-threshold window (default 6 w)")
    p.add_argument("--offset", type=float, default=0.0, help="local-threshold offset (0)")
    p.add_argument("--log-sigma", type=float, help="LoG sigma (default w / 2.5)")
    p.add_argument("--erosion", type=float, help="seed erosion (default w / 2)")
    p.add_argument("--method", default="Otsu", help="colony threshold method (Otsu)")
    _add_overwrite(p)
    p.set_defaults(func=_run_cells)


def _register_rings(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cytoplasm-rings",
        help="cytoplasm rings around labelled nuclei",
        description="Write per-object rings (distance inner..outer from each object's edge, in "
        "calibrated units) that never overlap another object or ring.",
    )
    p.add_argument("labels", type=Path, help="label image (e.g. from segment-nuclei)")
    p.add_argument("--out", type=Path, required=True, help="ring label image to write (TIFF)")
    p.add_argument("--inner", type=float, default=0.0, help="gap from the edge (default 0)")
    p.add_argument("--outer", type=float, required=True, help="outer distance from the edge")
    _add_overwrite(p)
    p.set_defaults(func=_run_rings)


def _register_translocation(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "translocation",
        help="nuclear/cytoplasmic reporter ratio per cell over time",
        description="Segment nuclei in every frame (or read them), link them by overlap, and "
        "print a CSV table of nuclear and cytoplasmic-ring mean reporter intensity, their "
        "ratio and the Pearson correlation of reporter and nuclear marker per cell and frame.",
    )
    p.add_argument("image", type=Path, help="time-lapse with channels (axes T and C)")
    p.add_argument("--nucleus-channel", required=True, help="nuclear marker (index or name)")
    p.add_argument("--reporter-channel", required=True, help="reporter (index or name)")
    p.add_argument("--nuclei", type=Path, help="nuclear label image per frame (T, Y, X)")
    p.add_argument("--inner", type=float, help="ring gap (default one pixel)")
    p.add_argument("--outer", type=float, help="ring outer distance (default five pixels)")
    p.add_argument("--out", type=Path, help="CSV file (default: standard output)")
    p.add_argument("--plot", type=Path, help="also draw the ratio time courses (PNG, PDF...)")
    _add_overwrite(p)
    p.set_defaults(func=_run_translocation)


def _add_overwrite(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output files (never an input of the command)",
    )


def _check_outputs(
    args: argparse.Namespace, options: tuple[str, ...], inputs: tuple[Path | None, ...]
) -> None:
    """Refuse, before anything is read or computed, an output that is an input, an existing
    file without --overwrite, or a file that another output option also names."""
    from colocalize._output import check_output, same_file

    given: list[tuple[str, Path]] = []
    for option in options:
        path = getattr(args, option[2:].replace("-", "_"))
        if path is None:
            continue
        for other, other_path in given:
            if same_file(path, other_path):
                raise ValueError(
                    f"{other} and {option} both name {str(path)!r}; give each output its own file"
                )
        check_output(path, inputs=inputs, overwrite=args.overwrite, name=option)
        given.append((option, path))


def _plot_format(path: Path) -> str:
    """The figure format of ``--plot`` from its extension, checked before any computation."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as exc:
        raise ValueError(
            f"--plot needs matplotlib: pip install 'colocalize[plot]' ({exc})"
        ) from exc
    formats = FigureCanvasAgg.get_supported_filetypes()
    fmt = path.suffix[1:].lower()
    if fmt not in formats:
        raise ValueError(
            f"--plot {str(path)!r}: unknown figure format {path.suffix!r}; end the name with one "
            f"of {', '.join('.' + f for f in sorted(formats))}"
        )
    return fmt


def _read_labels(path: Path, what: str) -> tuple[Any, Any]:
    """The label image in ``path`` and its pixels as non-negative integers with an object.

    Fractional or negative values and an image without any object (all 0) are refused with
    an error that names ``what`` (the option and file).
    """
    from colocalize import read_image
    from colocalize._channels import as_labels

    image = read_image(path)
    data = as_labels(image.data, what)
    if not data.any():
        raise ValueError(
            f"{what} has no objects (every pixel is 0); pass a label image with objects "
            f"numbered 1..n, e.g. from segment-nuclei"
        )
    return image, data


def _write_labels(path: Path, labels: Any, image: Any, has_t: bool) -> None:
    """Write the label frames atomically with the image's calibration (and frame interval)."""
    from colocalize import write_image
    from colocalize._output import write_atomic

    axes = ("T" if has_t else "") + image.spatial_axes
    t_spacing = (image.spacing[image.axes.index("T")],) if has_t else ()
    write_atomic(
        path,
        writer=lambda tmp: write_image(
            tmp,
            labels if has_t else labels[0],
            axes=axes,
            spacing=(*t_spacing, *image.spatial_spacing),
            unit=image.unit,
        ),
    )


def _channel(image: Any, key: str | None, option: str) -> int | None:
    if "C" not in image.axes:
        if key not in (None, "0"):
            raise ValueError(f"{option} {key!r} given but the image has no channel axis.")
        return None
    if key is None:
        if image.n_channels == 1:
            return 0
        raise ValueError(
            f"the image has {image.n_channels} channels ({', '.join(image.channel_names)}); "
            f"choose one with {option}."
        )
    from colocalize._validation import channel_index

    return channel_index(key, image.n_channels, image.channel_names, name=option)


def _segment_frames(image: Any, channel: str | None, segment: Any, options: dict[str, Any]) -> Any:
    """Segment the chosen channel of every frame; returns the labels with a leading frame axis
    (length 1 without T)."""
    import numpy as np

    index = _channel(image, channel, "--channel")
    data = image.data if index is None else image.channel(index)
    frames = data if "T" in image.axes else data[np.newaxis]
    return np.stack([segment(frame, spacing=image.spatial_spacing, **options) for frame in frames])


def _run_nuclei(args: argparse.Namespace) -> int:
    from colocalize import measure_objects, read_image, segment_nuclei
    from colocalize._output import write_atomic

    _check_outputs(args, ("--out", "--table"), (args.image,))
    image = read_image(args.image)
    spacing = image.spatial_spacing
    options = {
        "radius": args.radius,
        "min_radius": args.min_radius,
        "max_radius": args.max_radius,
        "smoothing": args.smoothing,
        "method": args.method,
        "edge_fraction": args.edge_fraction,
        "projection": args.projection,
        "stack_mode": args.stack_mode,
    }
    labels = _segment_frames(image, args.channel, segment_nuclei, options)
    table_csv = None
    if args.table is not None:
        import pandas as pd

        tables = []
        has_c = "C" in image.axes
        for t, frame_labels in enumerate(labels):
            frame = image.data[t] if "T" in image.axes else image.data
            table = measure_objects(
                frame_labels,
                frame,
                spacing=spacing,
                channel_axis=0 if has_c else None,
                channel_names=image.channel_names if has_c else None,
            )
            table.insert(0, "frame", t)
            tables.append(table)
        table_csv = pd.concat(tables, ignore_index=True).to_csv(index=False)
    # everything is computed before the first file is written
    _write_labels(args.out, labels, image, "T" in image.axes)
    if table_csv is not None:
        write_atomic(args.table, table_csv)
    counts = [int(frame.max()) for frame in labels]
    print(f"{sum(counts)} nuclei in {len(counts)} frame(s) -> {args.out}")
    return 0


def _run_cells(args: argparse.Namespace) -> int:
    from colocalize import read_image, segment_cells

    _check_outputs(args, ("--out",), (args.image,))
    image = read_image(args.image)
    options = {
        "width": args.width,
        "block_size": args.block_size,
        "offset": args.offset,
        "log_sigma": args.log_sigma,
        "erosion": args.erosion,
        "method": args.method,
    }
    labels = _segment_frames(image, args.channel, segment_cells, options)
    _write_labels(args.out, labels, image, "T" in image.axes)
    print(f"{sum(int(f.max()) for f in labels)} cells in {len(labels)} frame(s) -> {args.out}")
    return 0


def _run_rings(args: argparse.Namespace) -> int:
    import numpy as np

    from colocalize import ring_mask, write_image
    from colocalize._objects._labels import check_ring_distances
    from colocalize._output import write_atomic

    _check_outputs(args, ("--out",), (args.labels,))
    check_ring_distances(args.inner, args.outer)
    labels, data = _read_labels(args.labels, str(args.labels))
    if any(a in labels.axes for a in "TC"):
        raise ValueError(
            f"{args.labels} has axes {labels.axes!r}; pass a single 2D or 3D label image."
        )
    rings = ring_mask(data, inner=args.inner, outer=args.outer, spacing=labels.spatial_spacing)
    write_atomic(
        args.out,
        writer=lambda tmp: write_image(
            tmp, rings, axes=labels.axes, spacing=labels.spacing, unit=labels.unit
        ),
    )
    print(f"{np.unique(rings).size - 1} rings -> {args.out}")
    return 0


def _run_translocation(args: argparse.Namespace) -> int:
    import sys

    from colocalize import read_image, translocation
    from colocalize._output import write_atomic

    _check_outputs(args, ("--out", "--plot"), (args.image, args.nuclei))
    plot_format = _plot_format(args.plot) if args.plot is not None else None
    image = read_image(args.image)
    nuclei = None
    if args.nuclei is not None:
        nuclei = _read_labels(args.nuclei, f"--nuclei {str(args.nuclei)!r}")[1]
    keys = [args.nucleus_channel, args.reporter_channel]
    chans = [
        _channel(image, key, opt)
        for key, opt in zip(keys, ("--nucleus-channel", "--reporter-channel"), strict=True)
    ]
    table = translocation(
        image,
        nucleus_channel=chans[0] if chans[0] is not None else 0,
        reporter_channel=chans[1] if chans[1] is not None else 0,
        nuclei=nuclei,
        inner=args.inner,
        outer=args.outer,
    )
    figure = None
    if args.plot is not None:
        use_agg()
        from colocalize import plot

        figure = plot.translocation(table).figure
    # everything is computed before the first file is written
    if args.out is None:
        table.to_csv(sys.stdout, index=False)
    else:
        write_atomic(args.out, table.to_csv(index=False))
    if figure is not None:
        assert plot_format is not None  # with --plot
        save_figure(args.plot, figure, format=plot_format)
    return 0
