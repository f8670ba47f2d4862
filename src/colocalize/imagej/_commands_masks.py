"""ImageJ commands for objects and masks: nuclei, cytoplasm rings, translocation over time.

Lengths in the dialogs are in the image's calibrated unit (pixels when uncalibrated), as in the
Python API, whose ``spacing`` is taken from the ImageJ calibration. Channel numbers are 1-based
as everywhere in ImageJ. Registered by importing this module (``_commands`` does).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from colocalize._io import Image
from colocalize.imagej._commands import _Channel, _channel, _mask, _methods, _output, _whole
from colocalize.imagej._contract import Plot, Progress, Request, Response, Series, Table
from colocalize.imagej._spec import (
    NONE,
    PIXEL_SIZE,
    checkbox,
    choice,
    command,
    image,
    mask,
    message,
    number,
)

NUCLEI_TABLE = "Nuclei measurements"
TRANSLOCATION_TABLE = "Translocation"


def _ring_fields() -> list[Any]:
    """Ring distances; defaults one and five pixel sizes of the current image (its largest
    spatial pixel size, 1.0 uncalibrated), the unit of :func:`colocalize.translocation`."""
    return [number("Inner", PIXEL_SIZE, digits=4), number("Outer", f"{PIXEL_SIZE}*5", digits=4)]


def _optional(value: float) -> float | None:
    """A dialog number where 0 (or less) means "the default" (None)."""
    return None if value <= 0 else float(value)


def _channel_names(image: Image) -> tuple[str, ...]:
    """Channel names for table columns, numbered from 1 as in ImageJ when the image has none."""
    automatic = tuple(f"C{i}" for i in range(image.n_channels))
    if not image.channel_names or image.channel_names == automatic:
        return tuple(f"C{i + 1}" for i in range(image.n_channels))
    return image.channel_names


@command(
    "segment_nuclei",
    "Coloc Segment Nuclei...",
    image("Image"),
    number("Channel", 1, digits=0),
    number("Radius", 0, digits=3),
    number("Min_radius", 0, digits=3),
    number("Max_radius", 0, digits=3),
    number("Smoothing", -1, digits=3),
    choice("Method", _methods(), "Triangle"),
    number("Edge_fraction", 0.4, digits=3),
    choice("Stack_mode", ["3d", "planes"], "3d"),
    checkbox("Projection", False),
    number("Link_distance", 0, digits=3),
    message(
        "Lengths in the image's unit. Radius 0: estimated; min radius 0: 0.35 x radius; "
        "max radius 0: none;\nsmoothing -1: radius / 8; link distance 0: radius / 2 "
        "(stack mode 'planes')."
    ),
)
def segment_nuclei_command(request: Request, progress: Progress) -> Response:
    """Nuclei of one channel (2D or a z-stack) as a label image plus a measurements table."""
    import colocalize

    p = request.values
    source = _channel(request, "image", channel_key="channel")
    image = source.image
    if "T" in image.axes:
        raise ValueError(
            f"the image {source.name!r} has {image.shape[0]} frames; Coloc Segment Nuclei takes "
            f"one 2D image or z-stack: duplicate one frame (Image > Duplicate...) or use Coloc "
            f"Translocation for a time-lapse"
        )
    spacing = image.spatial_spacing
    smoothing = None if p["smoothing"] < 0 else float(p["smoothing"])
    labels = colocalize.segment_nuclei(
        image.data,
        spacing=spacing,
        radius=_optional(p["radius"]),
        min_radius=_optional(p["min_radius"]),
        max_radius=_optional(p["max_radius"]),
        smoothing=smoothing,
        method=p["method"],
        projection=bool(p["projection"]),
        edge_fraction=float(p["edge_fraction"]),
        stack_mode=p["stack_mode"],
        link_distance=_optional(p["link_distance"]),
    )
    progress("Coloc Segment Nuclei: segmenting...")
    # measure every channel of the source image (a hyperstack's channels share the labels)
    whole = source.source.image
    if whole.n_channels > 1:
        table = colocalize.measure_objects(
            labels,
            whole.data,
            spacing=spacing,
            channel_axis=whole.axes.index("C"),
            channel_names=_channel_names(whole),
        )
    else:
        table = colocalize.measure_objects(labels, image.data, spacing=spacing)
    table.insert(0, "Image", source.name)
    return Response(
        tables=(Table.from_rows(NUCLEI_TABLE, table, results=True),),
        images=(_output(labels, source, f"Nuclei of {source.name}", lut="glasbey"),),
    )


@command(
    "cytoplasm_rings",
    "Coloc Cytoplasm Rings...",
    image("Labels"),
    *_ring_fields(),
    mask(),
    message(
        "Rings: background pixels at distance (inner, outer] from their nearest object, in the "
        "image's unit;\nneighbours' rings meet half-way. Mask limits the rings (e.g. to the "
        "cells' foreground)."
    ),
)
def cytoplasm_rings_command(request: Request, progress: Progress) -> Response:
    """Cytoplasm rings around the objects of a label image (every frame of a time-lapse)."""
    import colocalize

    p = request.values
    source = request.images["labels"]
    image = source.image
    if "C" in image.axes:
        raise ValueError(
            f"labels={image.name!r} has {image.n_channels} channels; choose a label image of one "
            f"channel (e.g. the output of Coloc Segment Nuclei)"
        )
    limit = _mask(request, "mask", _Channel(image, image.name, source))
    n_spatial = len(image.spatial_axes)
    frames = image.data if "T" in image.axes else image.data[np.newaxis]
    if limit is None or limit.ndim <= n_spatial:  # one mask (or plane) for every frame
        masks: Any = [None if limit is None else np.broadcast_to(limit, frames.shape[1:])]
        masks = masks * len(frames)
    else:
        masks = limit
    rings = np.stack(
        [
            colocalize.ring_mask(
                frame,
                inner=float(p["inner"]),
                outer=float(p["outer"]),
                spacing=image.spatial_spacing,
                mask=frame_mask,
            )
            for frame, frame_mask in zip(frames, masks)
        ]
    )
    rings = rings if "T" in image.axes else rings[0]
    return Response(images=(_output(rings, source, f"Rings of {image.name}"),))


def _median_ratio(table: Any, n_frames: int) -> np.ndarray:
    """The median ``ratio`` over the cells of every frame (NaN for a frame without cells)."""
    medians = np.full(n_frames, math.nan)
    for frame, group in table.groupby("frame"):
        values = group["ratio"].to_numpy(float)
        values = values[np.isfinite(values)]
        if values.size:
            medians[int(frame)] = float(np.median(values))
    return medians


def _translocation_plot(table: Any, times: np.ndarray, title: str, x_label: str) -> Plot:
    """The median C/N ratio over time (black, with points) over every cell's trace (grey)."""
    medians = _median_ratio(table, len(times))
    series = [Series("median over cells", tuple(times), tuple(medians), "connected", "#000000", 2)]
    for _, track in table.groupby("cell"):
        track = track.sort_values("frame")
        x = times[track["frame"].to_numpy(int)]
        y = track["ratio"].to_numpy(float)
        label = "one line per cell" if len(series) == 1 else ""
        series.append(Series(label, tuple(x), tuple(y), "line", "#b0b0b0"))
    return Plot(title, x_label, "Cytoplasm / nucleus ratio (C/N)", tuple(series))


@command(
    "translocation",
    "Coloc Translocation...",
    image("Image"),
    number("Nucleus_channel", 1, digits=0),
    number("Reporter_channel", 2, digits=0),
    image("Nuclei", optional=True),
    *_ring_fields(),
    number("Min_IoU", 0.1, digits=3),
    number("Radius", 0, digits=3),
    choice("Method", _methods(), "Triangle"),
    checkbox("Plot", True),
    message(
        "Nuclei <None>: segmented in every frame (radius 0: estimated; method: its threshold).\n"
        "Or a label image with one frame per frame of the image. Ring distances in the image's "
        "unit."
    ),
)
def translocation_command(request: Request, progress: Progress) -> Response:
    """Nuclear and cytoplasmic reporter intensity per cell and frame of a time-lapse hyperstack
    (kinase translocation reporters), with a plot of the median C/N ratio over time."""
    import colocalize

    p = request.values
    source = request.images["image"]
    image = source.image
    if "T" not in image.axes or "C" not in image.axes:
        raise ValueError(
            f"the image {image.name!r} has axes {image.axes!r}; Coloc Translocation needs a "
            f"time-lapse hyperstack with frames (T) and channels (C): fix its dimensions with "
            f"Image > Hyperstacks > Stack to Hyperstack..."
        )
    n_c, n_t = image.n_channels, image.shape[0]
    chosen = {}
    for key in ("nucleus_channel", "reporter_channel"):
        chosen[key] = _whole(request, key, 1, "a channel number (channels are counted from 1)")
        if chosen[key] > n_c:
            raise ValueError(
                f"{key}={chosen[key]} is out of range: the image {image.name!r} has channels 1 "
                f"to {n_c}"
            )
    nuclei = None
    if p["nuclei"] != NONE:
        nuclei = request.images["nuclei"].image.data
    progress("Coloc Translocation: segmenting and measuring...")
    table = colocalize.translocation(
        image,
        nucleus_channel=chosen["nucleus_channel"] - 1,
        reporter_channel=chosen["reporter_channel"] - 1,
        nuclei=nuclei,
        inner=float(p["inner"]),
        outer=float(p["outer"]),
        min_iou=float(p["min_iou"]),
        segment_options={"radius": _optional(p["radius"]), "method": p["method"]},
    )
    interval = image.spacing[0]
    times = np.arange(n_t) * interval
    table.insert(1, "time", times[table["frame"].to_numpy(int)])
    table.insert(0, "Image", image.name)
    plots = []
    if p["plot"]:  # time is the frame index (interval 1) for an uncalibrated time-lapse
        x_label = "Time (s)" if source.frame_interval > 0 else "Frame"
        plots.append(_translocation_plot(table, times, f"Translocation of {image.name}", x_label))
    return Response(
        tables=(Table.from_rows(TRANSLOCATION_TABLE, table, results=True),), plots=tuple(plots)
    )
