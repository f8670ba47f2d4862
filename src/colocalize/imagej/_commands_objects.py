"""Coloc Objects: object-based colocalization of two images or channels (puncta), with an
overlay of the matched and unmatched objects on the source images.

The objects of each channel come from a threshold (connected components, 8-connected in 2D and
26-connected in 3D) or from a label image; :func:`colocalize.object_colocalization` measures
them (calibrated: sizes, centres and distances use the image's pixel size). Registered by
importing this module (``_catalog`` does).
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._output import check_output, write_atomic
from colocalize._validation import ColocalizeWarning
from colocalize.imagej._commands import (
    _Channel,
    _labels,
    _mask,
    _mask_name,
    _methods,
    _new_file,
    _two_channel_fields,
    _two_channels,
    _whole,
)
from colocalize.imagej._contract import (
    Overlay,
    OverlayObject,
    Progress,
    Request,
    Response,
    Table,
)
from colocalize.imagej._spec import (
    checkbox,
    choice,
    command,
    image,
    mask,
    message,
    number,
    string,
)

OBJECTS_TABLE = "Object colocalization"
SUMMARY_TABLE = "Object colocalization summary"
MATCHED_BY = ("overlap", "distance", "centre")
# overlay colours (docs/fiji.md, "Coloc Objects"): per image, matched then unmatched objects
COLORS = (("#ffff00", "#4080ff"), ("#ff00ff", "#00ffff"))


def _matched(frame: Any, by: str) -> np.ndarray:
    """Which objects of a per-object table are matched: they overlap the other channel's objects
    (``overlap_fraction > min_overlap``), lie near one (``nearest_distance <= max_distance``)
    or have their centre in one (JACoP's centre-particle coincidence)."""
    column = {"overlap": "overlapping", "distance": "near", "centre": "centre_in_other"}[by]
    return np.asarray(frame[column], dtype=bool)


def _objects_overlay(
    channel: _Channel,
    labels: np.ndarray,
    ids: tuple[int, ...],
    matched: np.ndarray,
    k: int,
) -> Overlay:
    """The objects of image ``k`` (0 or 1) outlined on their source image, coloured and named
    by whether they are matched."""
    objects = tuple(
        OverlayObject(
            label,
            f"Image {k + 1} #{label} {'matched' if hit else 'unmatched'}",
            COLORS[k][0 if hit else 1],
        )
        for label, hit in zip(ids, matched)
    )
    return Overlay(
        channel.source.title,
        f"Objects of {channel.name}",
        labels,
        channel.image.axes,
        objects,
    )


def _objects_csv(request: Request) -> Path | None:
    """The ``save_objects`` file (None when empty), checked before any work: a new .csv file in
    an existing folder."""
    text = str(request.values["save_objects"]).strip()
    if text and Path(text).suffix.lower() != ".csv":
        raise ValueError(f"save_objects=[{text}] is not a .csv file name; end it with .csv")
    target = _new_file(request, "save_objects", writer="Coloc Objects")
    return None if target is None else check_output(target, name="save_objects")


def _csv(rows: list[dict[str, Any]]) -> str:
    """``rows`` as CSV text: a header of column names, one line per row, empty cells for None."""
    import pandas as pd

    return str(pd.DataFrame(rows).to_csv(index=False, lineterminator="\n"))


@command(
    "objects",
    "Coloc Objects...",
    *_two_channel_fields(),
    mask(),
    message("Objects of each channel: intensity > threshold, or a label image (0 = background)."),
    choice("Threshold", ["Manual", *_methods()], "Otsu"),
    number("Threshold_1", 0.0),
    number("Threshold_2", 0.0),
    image("Labels_1", optional=True),
    image("Labels_2", optional=True),
    number("Min_size", 0.0, digits=4),
    number("Max_size", 0.0, digits=4),
    message("Sizes: calibrated area (2D) or volume (3D); 0 = no limit."),
    choice("Matched_by", list(MATCHED_BY), "overlap"),
    number("Min_overlap", 0.0),
    number("Max_distance", 0.0, digits=4),
    choice("Centre", ["mass", "geometric"], "mass"),
    number("Randomizations", 0, digits=0),
    choice("Randomize", ["shape", "centre"], "shape"),
    number("Seed", -1, digits=0),
    message("Max distance 0: none. Randomizations 0: no test. Seed -1: a new seed on every run."),
    checkbox("Overlay", True),
    string("Save_objects", kind="save"),
    message("Save objects (optional): a new .csv file for the per-object table."),
)
def objects_command(request: Request, progress: Progress) -> Response:
    """Object-based colocalization (:func:`colocalize.object_colocalization`): a row per object,
    a summary row per run, and the objects outlined on the source images."""
    from colocalize._objects._puncta import _object_colocalization

    channels = _two_channels(request)
    options = _objects_options(request, channels)
    save = _objects_csv(request)
    _check_non_negative(channels)
    progress("Coloc Objects: measuring...")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        result, labelled = _object_colocalization(
            channels[0].image.data, channels[1].image.data, **options
        )
    log = _warning_lines(caught, channels)
    rows, matched = _object_rows(request, channels, result)
    summary = _summary_row(request, channels, result, matched, options)
    tables = (
        Table.from_rows(SUMMARY_TABLE, summary, results=True),
        Table.from_rows(OBJECTS_TABLE, rows),
    )
    if save is not None:
        write_atomic(save, _csv(rows))
        log.append(f"per-object table written to {save}")
    overlays = []
    if request.values["overlay"]:  # the objects as the analysis labelled them
        for k, (objects, channel) in enumerate(zip((result.objects0, result.objects1), channels)):
            overlays.append(_objects_overlay(channel, labelled[k], objects.labels, matched[k], k))
    return Response(tables=tables, overlays=tuple(overlays), log=tuple(log))


def _objects_options(request: Request, channels: list[_Channel]) -> dict[str, Any]:
    """The dialog's options as :func:`colocalize.object_colocalization`'s keyword arguments,
    checked: one time point, numeric manual thresholds, a distance to match by distance."""
    v = request.values
    first = channels[0].image
    if "T" in first.axes:
        raise ValueError(
            f"the image {channels[0].name!r} has {first.shape[first.axes.index('T')]} frames; "
            f"Coloc Objects takes one time point (2D or a z-stack): duplicate one frame first"
        )
    selected = _mask(request, "mask", channels[0])
    if selected is not None:
        selected = np.broadcast_to(selected, first.shape)
    given = [_labels(request, f"labels_{k + 1}", c) for k, c in enumerate(channels)]
    method = v["threshold"]
    thresholds: list[Any] = [method, method]
    if method == "Manual":
        thresholds = [v["threshold_1"], v["threshold_2"]]
        for k, t in enumerate(thresholds):
            if not math.isfinite(t):
                raise ValueError(f"threshold_{k + 1}={t} is not a number; give a grey value")
    max_distance = v["max_distance"] if v["max_distance"] > 0 else None
    if v["matched_by"] == "distance" and max_distance is None:
        raise ValueError(
            f"matched_by=distance needs a distance: max_distance={v['max_distance']:g}; give "
            f"max_distance > 0 ({first.unit}) or use matched_by=overlap"
        )
    randomizations = _whole(request, "randomizations", 0, "a number of randomizations")
    seed = _whole(request, "seed", -1, "a seed (-1: a new one on every run)")
    return {
        "thresholds": thresholds,
        "labels0": given[0],
        "labels1": given[1],
        "mask": selected,
        "spacing": first.spatial_spacing,
        "min_size": v["min_size"] if v["min_size"] > 0 else None,
        "max_size": v["max_size"] if v["max_size"] > 0 else None,
        "min_overlap": v["min_overlap"],
        "max_distance": max_distance,
        "centre": v["centre"],
        "randomizations": randomizations,
        "randomize": v["randomize"],
        "rng": None if seed < 0 else seed,
    }


def _check_non_negative(channels: list[_Channel]) -> None:
    """Refuse negative intensities (of a float image): they weight the centres of mass."""
    for c in channels:
        if np.issubdtype(c.image.data.dtype, np.floating) and (c.image.data < 0).any():
            raise ValueError(
                f"the image {c.name!r} has negative values; objects need intensities >= 0 (they "
                f"weight the centres of mass): subtract the minimum first"
            )


def _warning_lines(caught: list[warnings.WarningMessage], channels: list[_Channel]) -> list[str]:
    """The analysis' warnings as Log lines; the core counts channels from 0: they say "Image 1
    (title)" as the dialog does."""
    return [
        "warning: "
        + re.sub(
            r"channel ([01])",
            lambda m: f"Image {int(m[1]) + 1} ({channels[int(m[1])].name})",
            str(w.message).removeprefix("object_colocalization: "),
        )
        for w in caught
        if issubclass(w.category, ColocalizeWarning)
    ]


def _object_rows(
    request: Request, channels: list[_Channel], result: Any
) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """The per-object table's rows (image 1's objects, then image 2's) and, per image, which
    of its objects are matched (``matched_by``)."""
    names = {"Image 1": channels[0].name, "Image 2": channels[1].name}
    unit = channels[0].image.unit
    per_channel = []
    rows: list[dict[str, Any]] = []
    for k, objects in enumerate((result.objects0, result.objects1)):
        frame = objects.to_dataframe(
            min_overlap=result.min_overlap, max_distance=result.max_distance
        )
        matched = _matched(frame, request.values["matched_by"]) if len(frame) else np.zeros(0, bool)
        frame.insert(0, "Image", k + 1)
        frame.insert(1, "Objects of", channels[k].name)
        frame["matched"] = matched
        per_channel.append(matched)
        rows += [names | record | {"Unit": unit} for record in frame.to_dict("records")]
    return rows, per_channel


def _summary_row(
    request: Request,
    channels: list[_Channel],
    result: Any,
    matched: list[np.ndarray],
    options: dict[str, Any],
) -> dict[str, Any]:
    """The summary table's row: the images, how their objects were found (``options``) and
    matched, the result's summary (channels counted from 1) and the fraction of each image's
    objects matched."""
    v = request.values
    sources = [
        f"labels {v[f'labels_{k + 1}']}" if options[f"labels{k}"] is not None else v["threshold"]
        for k in range(2)
    ]
    row = {
        "Image 1": channels[0].name,
        "Image 2": channels[1].name,
        "Mask": _mask_name(request, "mask"),
        "Objects 1": sources[0],
        "Objects 2": sources[1],
        "Matched by": v["matched_by"],
        "Unit": channels[0].image.unit,
    }
    for key, value in result.summary_table().iloc[0].items():
        key = str(key)
        suffix = key[-1]
        row[f"{key[:-1]}_{int(suffix) + 1}" if suffix in "01" else key] = value
    for k, hits in enumerate(matched):
        row[f"fraction_matched_{k + 1}"] = float(hits.mean()) if hits.size else math.nan
    return row
