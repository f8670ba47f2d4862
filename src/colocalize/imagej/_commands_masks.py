"""ImageJ commands for objects and masks: nuclei, cytoplasm rings, translocation over time.

Lengths in the dialogs are in the image's calibrated unit (pixels when uncalibrated), as in the
Python API, whose ``spacing`` is taken from the ImageJ calibration. Channel numbers are 1-based
as everywhere in ImageJ. Registered by importing this module (``_catalog`` does).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from colocalize._channels import as_channels
from colocalize._image import Image
from colocalize.imagej._commands import (
    _Channel,
    _channel,
    _mask,
    _methods,
    _output,
    _size,
    _whole,
)
from colocalize.imagej._contract import Plot, Progress, Request, Response, Series, Table
from colocalize.imagej._spec import (
    NONE,
    checkbox,
    choice,
    command,
    image,
    mask,
    message,
    number,
)

NUCLEI_TABLE = "Nuclei measurements"
RINGS_TABLE = "Cytoplasm ring measurements"
TRANSLOCATION_TABLE = "Translocation"

# Default ring distances from the nuclear edge, in µm (docs/fiji.md, "Cytoplasm rings"): a
# 0.5 µm gap keeps the blurred nuclear rim out of the ring, and 3 µm stays inside the cytoplasm
# of typical cultured mammalian cells (it extends 5-10 µm beyond the nucleus) at any objective.
# An uncalibrated image gets one and five pixels instead.
RING_MICRONS = (0.5, 3.0)
RING_PIXELS = (1.0, 5.0)
_MICRONS = {"nm": 1e-3, "um": 1.0, "mm": 1e3, "cm": 1e4, "m": 1e6}  # µm per unit


def _ring_fields() -> list[Any]:
    """Ring distances in the image's unit; -1 (the default): :data:`RING_MICRONS`."""
    return [number("Inner", -1, digits=4), number("Outer", -1, digits=4)]


def _ring_distances(request: Request, image: Image) -> tuple[float, float]:
    """The dialog's inner and outer ring distances in the unit of ``image``, each negative one
    replaced by its default (:data:`RING_MICRONS` in that unit; :data:`RING_PIXELS` when the
    image is not calibrated)."""
    if image.unit == "pixel":
        defaults = RING_PIXELS
    elif image.unit in _MICRONS:
        defaults = (RING_MICRONS[0] / _MICRONS[image.unit], RING_MICRONS[1] / _MICRONS[image.unit])
    else:
        defaults = (math.nan, math.nan)
    chosen = []
    for key, default in zip(("inner", "outer"), defaults):
        value = float(request.values[key])
        if value < 0 and math.isnan(default):
            raise ValueError(
                f"{key}={value:g} asks for the default distance in µm, but the image "
                f"{image.name!r} is calibrated in {image.unit!r}; give {key}= in {image.unit}"
            )
        chosen.append(default if value < 0 else value)
    return chosen[0], chosen[1]


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
    smoothing = None if p["smoothing"] < 0 else float(p["smoothing"])
    labels = colocalize.segment_nuclei(  # in the image's spatial spacing
        image,
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
        table = colocalize.measure_objects(labels, whole, channel_names=_channel_names(whole))
    else:
        table = colocalize.measure_objects(labels, image)
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
    image("Image", optional=True),
    message(
        "Rings: background pixels at distance (inner, outer] from their nearest object, in the "
        "image's unit;\nneighbours' rings meet half-way. Inner/outer -1: 0.5 and 3 µm (1 and 5 "
        "pixels uncalibrated).\nMask limits the rings (e.g. to the cells' foreground). Image: "
        "the intensities to measure in each ring and its nucleus."
    ),
)
def cytoplasm_rings_command(request: Request, progress: Progress) -> Response:
    """Cytoplasm rings around the objects of a label image (every frame of a time-lapse), and
    a table of the area (volume) and mean intensity of each ring and its object."""
    import colocalize

    source = request.images["labels"]
    image = source.image
    if "C" in image.axes:
        raise ValueError(
            f"labels={image.name!r} has {image.n_channels} channels; choose a label image of one "
            f"channel (e.g. the output of Coloc Segment Nuclei)"
        )
    limit = _mask(request, "mask", _Channel(image, image.name, source))
    inner, outer = _ring_distances(request, image)
    intensity = _intensities(request, image)
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
                frame, inner=inner, outer=outer, spacing=image.spatial_spacing, mask=frame_mask
            )
            for frame, frame_mask in zip(frames, masks)
        ]
    )
    table = _ring_table(frames, rings, intensity, image)
    table.insert(0, "Labels", image.name)
    table.insert(1, "Image", NONE if intensity is None else intensity.name)
    table.insert(2, "Inner", inner)
    table.insert(3, "Outer", outer)
    rings = rings if "T" in image.axes else rings[0]
    return Response(
        tables=(Table.from_rows(RINGS_TABLE, table, results=True),),
        images=(_output(rings, source, f"Rings of {image.name}", lut="glasbey"),),
    )


def _intensities(request: Request, labels: Image) -> Image | None:
    """The image of field ``image`` (None for <None>), checked to match ``labels`` in frames
    and spatial size."""
    if request.values["image"] == NONE:
        return None
    found = request.images["image"].image
    drop = [i for i, a in enumerate(found.axes) if a == "C"]
    shape = tuple(n for i, n in enumerate(found.shape) if i not in drop)
    if shape != labels.shape:
        raise ValueError(
            f"the image {found.name!r} is {_size(shape, found.axes.replace('C', ''))} but the "
            f"label image {labels.name!r} is {_size(labels.shape, labels.axes)}; choose the "
            f"image the labels were made from"
        )
    return found


def _ring_table(
    frames: np.ndarray, rings: np.ndarray, intensity: Image | None, labels: Image
) -> Any:
    """One row per object (and frame): the size and the mean intensity of every channel of
    ``intensity`` in the object (``nucleus_``) and in its ring (``ring_``; NaN without one)."""
    import pandas as pd

    import colocalize

    size = "volume" if len(labels.spatial_axes) == 3 else "area"
    names: tuple[str, ...] = ()
    if intensity is not None:
        names = _channel_names(intensity) if "C" in intensity.axes else ("C1",)
        channels = as_channels(intensity)  # (C, [T,] ...)
    parts = []
    for t, (objects, ring) in enumerate(zip(frames, rings)):
        kwargs: dict[str, Any] = {"spacing": labels.spatial_spacing}
        if intensity is not None:
            data = channels.data
            if channels.time_axis is not None:
                data = np.take(data, t, axis=1 + channels.time_axis)
            kwargs |= {"image": data, "channel_axis": 0, "channel_names": names}
        columns = ["label", size, *(f"mean_{n}" for n in names)]
        measured = [
            colocalize.measure_objects(found, **kwargs)[columns]
            .set_index("label")
            .add_prefix(prefix)
            for found, prefix in ((objects, "nucleus_"), (ring, "ring_"))
        ]
        part = measured[0].join(measured[1], how="left").reset_index()
        if "T" in labels.axes:
            part.insert(0, "frame", t)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


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
    inner, outer = _ring_distances(request, image)
    progress("Coloc Translocation: segmenting and measuring...")
    table = colocalize.translocation(
        image,
        nucleus_channel=chosen["nucleus_channel"] - 1,
        reporter_channel=chosen["reporter_channel"] - 1,
        nuclei=nuclei,
        inner=inner,
        outer=outer,
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
