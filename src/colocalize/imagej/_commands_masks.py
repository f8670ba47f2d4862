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
from colocalize.imagej._commands import _add_mask_field, _Channel, _channel, _mask, _output
from colocalize.imagej._convert import from_imageplus, show_table
from colocalize.imagej._dialog import NONE, Dialog
from colocalize.imagej._registry import Call, command

NUCLEI_TABLE = "Nuclei measurements"
TRANSLOCATION_TABLE = "Translocation"


def _pixel_size(call: Call) -> float:
    """The largest spatial pixel size of the current image (1.0 without one or uncalibrated):
    the unit of the default ring distances, as in :func:`colocalize.translocation`."""
    title = call.current_title()
    if title is None:
        return 1.0
    imp = call.image(title)
    cal = imp.getCalibration()
    if not bool(cal.scaled()):
        return 1.0
    sizes = [float(cal.pixelWidth), float(cal.pixelHeight)]
    if int(imp.getNSlices()) > 1:
        sizes.append(float(cal.pixelDepth))
    return max(s for s in sizes if s > 0) if any(s > 0 for s in sizes) else 1.0


def _ring_fields(dialog: Dialog, pixel: float) -> None:
    dialog.number("Inner", pixel, digits=4)
    dialog.number("Outer", 5 * pixel, digits=4)


def _optional(value: float) -> float | None:
    """A dialog number where 0 (or less) means "the default" (None)."""
    return None if value <= 0 else float(value)


def _channel_names(image: Image) -> tuple[str, ...]:
    """Channel names for table columns, numbered from 1 as in ImageJ when the image has none."""
    automatic = tuple(f"C{i}" for i in range(image.n_channels))
    if not image.channel_names or image.channel_names == automatic:
        return tuple(f"C{i + 1}" for i in range(image.n_channels))
    return image.channel_names


@command("segment_nuclei", "Coloc Segment Nuclei...")
def segment_nuclei_command(call: Call) -> None:
    """Nuclei of one channel (2D or a z-stack) as a label image plus a measurements table."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    dialog.image("Image", titles, call.current_title())
    dialog.number("Channel", 1, digits=0)
    dialog.number("Radius", 0, digits=3)
    dialog.number("Min_radius", 0, digits=3)
    dialog.number("Max_radius", 0, digits=3)
    dialog.number("Smoothing", -1, digits=3)
    dialog.choice("Method", list(colocalize.threshold_methods()), "Triangle")
    dialog.number("Edge_fraction", 0.4, digits=3)
    dialog.choice("Stack_mode", ["3d", "planes"], "3d")
    dialog.checkbox("Projection", False)
    dialog.number("Link_distance", 0, digits=3)
    dialog.message(
        "Lengths in the image's unit. Radius 0: estimated; min radius 0: 0.35 x radius; "
        "max radius 0: none;\nsmoothing -1: radius / 8; link distance 0: radius / 2 "
        "(stack mode 'planes')."
    )
    p = dialog.ask()
    source = _channel(call, p["Image"], int(p["Channel"]), key="channel")
    image = source.image
    if "T" in image.axes:
        raise ValueError(
            f"the image {source.name!r} has {image.shape[0]} frames; Coloc Segment Nuclei takes "
            f"one 2D image or z-stack: duplicate one frame (Image > Duplicate...) or use Coloc "
            f"Translocation for a time-lapse"
        )
    spacing = image.spatial_spacing
    smoothing = None if p["Smoothing"] < 0 else float(p["Smoothing"])
    labels = colocalize.segment_nuclei(
        image.data,
        spacing=spacing,
        radius=_optional(p["Radius"]),
        min_radius=_optional(p["Min_radius"]),
        max_radius=_optional(p["Max_radius"]),
        smoothing=smoothing,
        method=p["Method"],
        projection=bool(p["Projection"]),
        edge_fraction=float(p["Edge_fraction"]),
        stack_mode=p["Stack_mode"],
        link_distance=_optional(p["Link_distance"]),
    )
    # measure every channel of the source image (a hyperstack's channels share the labels)
    whole = from_imageplus(source.imp)
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
    show_table(table, NUCLEI_TABLE, results=True)
    call.show_image(_output(labels, image, f"Nuclei of {source.name}"))


@command("cytoplasm_rings", "Coloc Cytoplasm Rings...")
def cytoplasm_rings_command(call: Call) -> None:
    """Cytoplasm rings around the objects of a label image (every frame of a time-lapse)."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    dialog.image("Labels", titles, call.current_title())
    _ring_fields(dialog, _pixel_size(call))
    _add_mask_field(dialog, titles)
    dialog.message(
        "Rings: background pixels at distance (inner, outer] from their nearest object, in the "
        "image's unit;\nneighbours' rings meet half-way. Mask limits the rings (e.g. to the "
        "cells' foreground)."
    )
    p = dialog.ask()
    imp = call.image(p["Labels"])
    image = from_imageplus(imp)
    if "C" in image.axes:
        raise ValueError(
            f"labels={image.name!r} has {image.n_channels} channels; choose a label image of one "
            f"channel (e.g. the output of Coloc Segment Nuclei)"
        )
    mask = _mask(call, p["Mask"], _Channel(image, image.name, imp))
    n_spatial = len(image.spatial_axes)
    frames = image.data if "T" in image.axes else image.data[np.newaxis]
    if mask is None or mask.ndim <= n_spatial:  # one mask (or plane) for every frame
        masks: Any = [None if mask is None else np.broadcast_to(mask, frames.shape[1:])]
        masks = masks * len(frames)
    else:
        masks = mask
    rings = np.stack(
        [
            colocalize.ring_mask(
                frame,
                inner=float(p["Inner"]),
                outer=float(p["Outer"]),
                spacing=image.spatial_spacing,
                mask=frame_mask,
            )
            for frame, frame_mask in zip(frames, masks)
        ]
    )
    rings = rings if "T" in image.axes else rings[0]
    call.show_image(_output(rings, image, f"Rings of {image.name}"))


def _median_ratio(table: Any, n_frames: int) -> np.ndarray:
    """The median ``ratio`` over the cells of every frame (NaN for a frame without cells)."""
    medians = np.full(n_frames, math.nan)
    for frame, group in table.groupby("frame"):
        values = group["ratio"].to_numpy(float)
        values = values[np.isfinite(values)]
        if values.size:
            medians[int(frame)] = float(np.median(values))
    return medians


def _translocation_plot(table: Any, times: np.ndarray, title: str, x_label: str) -> Any:
    """An ImageJ Plot: the median C/N ratio over time (black, with points) over every cell's
    trace (grey)."""
    import jpype

    plot_class = jpype.JClass("ij.gui.Plot")
    plot = plot_class(title, x_label, "Cytoplasm / nucleus ratio (C/N)")
    doubles = jpype.JArray(jpype.JDouble)
    medians = _median_ratio(table, len(times))
    plot.setColor("black")
    plot.setLineWidth(2)
    plot.add("connected circle", doubles(times), doubles(medians))  # the primary data set
    plot.setLineWidth(1)
    plot.setColor("#b0b0b0")
    for _, track in table.groupby("cell"):
        track = track.sort_values("frame")
        x = times[track["frame"].to_numpy(int)]
        plot.add("line", doubles(x), doubles(track["ratio"].to_numpy(float)))
    plot.setColor("black")
    plot.addLegend("median over cells\none line per cell")
    imp = plot.getImagePlus()
    imp.setTitle(title)
    return imp


@command("translocation", "Coloc Translocation...")
def translocation_command(call: Call) -> None:
    """Nuclear and cytoplasmic reporter intensity per cell and frame of a time-lapse hyperstack
    (kinase translocation reporters), with a plot of the median C/N ratio over time."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    dialog.image("Image", titles, call.current_title())
    dialog.number("Nucleus_channel", 1, digits=0)
    dialog.number("Reporter_channel", 2, digits=0)
    dialog.choice("Nuclei", [NONE, *titles], NONE)
    _ring_fields(dialog, _pixel_size(call))
    dialog.number("Min_IoU", 0.1, digits=3)
    dialog.number("Radius", 0, digits=3)
    dialog.choice("Method", list(colocalize.threshold_methods()), "Triangle")
    dialog.checkbox("Plot", True)
    dialog.message(
        "Nuclei <None>: segmented in every frame (radius 0: estimated; method: its threshold).\n"
        "Or a label image with one frame per frame of the image. Ring distances in the image's "
        "unit."
    )
    p = dialog.ask()
    imp = call.image(p["Image"])
    image = from_imageplus(imp)
    if "T" not in image.axes or "C" not in image.axes:
        raise ValueError(
            f"the image {image.name!r} has axes {image.axes!r}; Coloc Translocation needs a "
            f"time-lapse hyperstack with frames (T) and channels (C): fix its dimensions with "
            f"Image > Hyperstacks > Stack to Hyperstack..."
        )
    n_c, n_t = image.n_channels, image.shape[0]
    for key in ("Nucleus_channel", "Reporter_channel"):
        if not 1 <= int(p[key]) <= n_c:
            raise ValueError(
                f"{key.lower()}={p[key]:g} is out of range: the image {image.name!r} has {n_c} "
                f"channels"
            )
    nuclei = None
    if p["Nuclei"] != NONE:
        nuclei = from_imageplus(call.image(p["Nuclei"])).data
    table = colocalize.translocation(
        image,
        nucleus_channel=int(p["Nucleus_channel"]) - 1,
        reporter_channel=int(p["Reporter_channel"]) - 1,
        nuclei=nuclei,
        inner=float(p["Inner"]),
        outer=float(p["Outer"]),
        min_iou=float(p["Min_IoU"]),
        segment_options={"radius": _optional(p["Radius"]), "method": p["Method"]},
    )
    interval = image.spacing[0]
    times = np.arange(n_t) * interval
    table.insert(1, "time", times[table["frame"].to_numpy(int)])
    table.insert(0, "Image", image.name)
    show_table(table, TRANSLOCATION_TABLE, results=True)
    if p["Plot"]:  # time is the frame index (interval 1) for an uncalibrated time-lapse
        x_label = "Time (s)" if float(imp.getCalibration().frameInterval) > 0 else "Frame"
        call.show_image(
            _translocation_plot(table, times, f"Translocation of {image.name}", x_label)
        )
