"""The commands under Analyze > Colocalization, one handler per capability.

Each handler takes a :class:`~colocalize.imagej._contract.Request` (dialog values, images copied
out of ImageJ with their calibration, selections as masks), calls the public colocalize API and
returns a :class:`~colocalize.imagej._contract.Response` (tables, images titled after the source
images and carrying their calibration, plots as data). No handler touches Java. Adding a command:
a line in ``plugin/plugins.config`` (then ``python plugin/build.py``) and a handler here (or in
``_commands_batch``, ``_commands_masks``... listed in ``_catalog``) decorated with
:func:`~colocalize.imagej._spec.command`.
"""

from __future__ import annotations

import decimal
import itertools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from colocalize._channels import as_channels, as_labels
from colocalize._coefficients import COMPARISONS, MEASURES, ON_REQUEST
from colocalize._costes import COSTES_METHODS, check_costes_method, regression_line
from colocalize._image import Image
from colocalize._significance import SignificanceResult
from colocalize._table import PAIR_FIELDS, TRIPLE_FIELDS
from colocalize._validation import as_mask
from colocalize.imagej._contract import (
    ImageData,
    Overlay,
    OverlayObject,
    Plot,
    Progress,
    Request,
    Response,
    Series,
    Table,
    refuse_existing_saves,
)
from colocalize.imagej._spec import (
    NONE,
    ROI_MANAGER,
    SECOND,
    SELECTION,
    checkbox,
    choice,
    command,
    image,
    mask,
    message,
    number,
    string,
)

if TYPE_CHECKING:
    from colocalize._histogram import BivariateHistogram

COEFFICIENTS_TABLE = "Colocalization coefficients"
TRIPLE_TABLE = "Colocalization triple coefficients"
THRESHOLD_TABLE = "Auto threshold"
SIGNIFICANCE_TABLE = "Costes significance"
CC_RESULTS_TABLE = "CC Results"
CORRELATIONS_TABLE = "Table of correlations"
OVER_TIME_TABLE = "Correlation over time"
LEARNED_TABLE = "Learned thresholds"
COLOCALIZED_OVERLAY = "Colocalized pixels"  # the overlay group (and element name) on the sources
# Costes significance: the p-value columns name the direction they test (SignificanceResult)
P_NORMAL = "P(r_rand < r_obs) normal"
P_EMPIRICAL = "p(r_rand >= r_obs) permutation"


def _methods() -> list[str]:
    import colocalize

    return list(colocalize.threshold_methods())


@dataclass(frozen=True)
class _Channel:
    """One channel of a request's image: its pixels (no C axis) and calibration."""

    image: Image  # axes without C
    name: str  # the source title, plus " (C2)" for a channel of a multichannel image
    source: ImageData
    index: int = 0  # the channel's index in the source image (from 0)


def _whole(request: Request, key: str, minimum: int, meaning: str) -> int:
    """The whole number of field ``key``, at least ``minimum``; ``meaning`` says what it is."""
    value = request.values[key]
    if not (math.isfinite(value) and value == int(value) and value >= minimum):
        raise ValueError(f"{key}={value:g} is not {meaning}; use a whole number from {minimum}")
    return int(value)


def _size(shape: tuple[int, ...], axes: str) -> str:
    """A size as ImageJ writes it: width x height [x slices], frames after a comma."""
    sizes = dict(zip(axes, shape))
    size = "x".join(str(sizes[a]) for a in "XYZ" if a in sizes)
    return f"{size}, {sizes['T']} frames" if "T" in sizes else size


def _channel(request: Request, key: str, *, channel_key: str) -> _Channel:
    """Channel ``channel_key`` (counted from 1, as in ImageJ; ignored for one-channel images) of
    image field ``key``."""
    index = _whole(request, channel_key, 1, "a channel number (channels are counted from 1)")
    source = request.images[key]
    whole = source.image
    channels = as_channels(whole).data
    n = len(channels)
    if n == 1:
        return _Channel(whole, whole.name, source)
    if index > n:
        raise ValueError(
            f"{channel_key}={index} is out of range: the image {whole.name!r} has channels 1 to {n}"
        )
    axes = whole.axes.replace("C", "")
    spacing = tuple(s for a, s in zip(whole.axes, whole.spacing) if a != "C")
    name = f"{whole.name} (C{index})"
    data = channels[index - 1]
    return _Channel(
        Image(data, axes=axes, spacing=spacing, unit=whole.unit, name=name), name, source, index - 1
    )


def _same_size(channels: list[_Channel]) -> None:
    first = channels[0]
    for other in channels[1:]:
        if other.image.shape != first.image.shape:
            raise ValueError(
                f"the images have different sizes: {first.name!r} is "
                f"{_size(first.image.shape, first.image.axes)} and {other.name!r} is "
                f"{_size(other.image.shape, other.image.axes)}; use images of the same size"
            )


def _mask(request: Request, key: str, source: _Channel) -> np.ndarray | None:
    """The mask chosen in field ``key``: None, the source image's selection, the union of the ROI
    Manager's area ROIs, or a mask image (non-zero is inside; an empty one is passed on, so the
    analysis gives NaN with a logged warning, as in the Python API)."""
    chosen = request.values[key]
    if chosen == NONE:
        return None
    if chosen in (SELECTION, ROI_MANAGER):
        rois = request.masks.get(key, ())
        if not rois:
            where = (
                f"the image {source.source.title!r} has no area selection"
                if chosen == SELECTION
                else "the ROI Manager has no area ROIs"
            )
            raise ValueError(f"{key}={chosen} but {where}; draw one or choose another mask")
        selection = np.logical_or.reduce([roi.data for roi in rois])
        name = "the selection" if chosen == SELECTION else "the ROI Manager's ROIs"
        _check_mask_size(selection, "YX", source, name)
        return selection
    found = request.images[key].image
    _check_mask_size(found.data, found.axes, source, f"the mask image {chosen!r}")
    # an empty mask is degenerate but legal: the analysis gives NaN and logs the warning
    return found.data != 0


def _check_mask_size(data: np.ndarray, axes: str, source: _Channel, name: str) -> None:
    """Refuse a mask that is neither the image's size nor one plane of it (used on every
    plane), in ImageJ's words."""
    image = source.image
    try:
        as_mask(data, image.shape, name=name)
    except ValueError:
        raise ValueError(
            f"{name} is {_size(data.shape, axes)} but the image {source.name!r} is "
            f"{_size(image.shape, image.axes)}; use a mask of the image's size (or of one of its "
            f"planes, to use it on every plane)"
        ) from None


def _mask_name(request: Request, key: str) -> str:
    """What mask field ``key`` selected, for the table rows: <None>, <ROI Manager>, the mask
    image's title, or the selection's ROI names."""
    chosen = str(request.values[key])
    if chosen == SELECTION:
        names = [roi.name for roi in request.masks.get(key, ()) if roi.name]
        return f"{SELECTION} {', '.join(names)}" if names else SELECTION
    return chosen


def _labels(request: Request, key: str, source: _Channel) -> np.ndarray | None:
    """The label image chosen in image field ``key`` (None for <None>) as integers (see
    :func:`colocalize._channels.as_labels`), checked to be of the size of ``source``."""
    if request.values[key] == NONE:
        return None
    found = request.images[key].image
    if found.shape != source.image.shape:
        raise ValueError(
            f"the label image {found.name!r} is {_size(found.shape, found.axes)} but the image "
            f"{source.name!r} is {_size(source.image.shape, source.image.axes)}; choose a label "
            f"image of the image's size (one channel), e.g. the output of Coloc Segment Nuclei"
        )
    return as_labels(found.data, f"{key}={found.name!r}")


def _output(data: np.ndarray, like: _Channel | ImageData, title: str, **kwargs: Any) -> ImageData:
    """An output image with the axes and calibration of ``like``."""
    image = like.image
    source = like.source if isinstance(like, _Channel) else like
    out = Image(data, axes=image.axes, spacing=image.spacing, unit=image.unit, name=title)
    return ImageData(out, source.frame_interval, **kwargs)


def _two_channel_fields() -> list[Any]:
    return [
        image("Image_1"),
        image("Image_2", SECOND),
        number("Channel_1", 1, digits=0),
        number("Channel_2", 2, digits=0),
    ]


def _two_channels(request: Request) -> list[_Channel]:
    v = request.values
    channels = [
        _channel(request, "image_1", channel_key="channel_1"),
        _channel(request, "image_2", channel_key="channel_2"),
    ]
    if v["image_1"] == v["image_2"] and channels[0].image is channels[0].source.image:
        raise ValueError(
            f"image_1 and image_2 are both {v['image_1']!r}, which has one channel: it would be "
            f"compared with itself; choose two images, or a multichannel image and its channels"
        )
    _same_size(channels)
    return channels


# the Threshold choice of EzColocalization's top-x% thresholds (percentage: Top_percent)
TOP_PERCENT = "Top %"

# dialog labels of the groups of MEASURES (the key: lower case)
_MEASURE_LABELS = {"icq": "ICQ", "tos": "TOS"}


@command(
    "coefficients",
    "Coloc Coefficients...",
    *_two_channel_fields(),
    number("Channel_3", 0, digits=0),
    message("Channels apply to multichannel images; channel 3 (0 = none) needs Image 1 = Image 2."),
    mask(),
    image("Labels", optional=True),
    message("One row per object: Mask <ROI Manager> (per ROI) or a label image (per label)."),
    choice("Threshold", ["None", "Manual", "Costes", TOP_PERCENT, *_methods()], "Costes"),
    choice("Costes_method", list(COSTES_METHODS), "bisection"),
    number("Threshold_1", 0.0),
    number("Threshold_2", 0.0),
    choice("Manual_comparison", list(COMPARISONS), "peers"),
    number("Top_percent", 10.0),
    checkbox("Exclude_zero-zero_pixels", False),
    checkbox("Colocalized_pixel_mask", False),
    checkbox("Overlay", False),
    checkbox("Scatter_plot", True),
    string("Report", kind="save"),
    message("Measures (a macro naming none, such as one recorded before they existed: all):"),
    *(checkbox(_MEASURE_LABELS.get(group, group.title()), True) for group in MEASURES),
    *(checkbox(_MEASURE_LABELS.get(group, group.title()), False) for group in ON_REQUEST),
)
def coefficients_command(request: Request, progress: Progress) -> Response:
    """Colocalization coefficients of two images, or two or three channels of one hyperstack:
    one row per channel pair (and the triple's row) of :func:`colocalize.coefficient_table`,
    and per object with mask <ROI Manager> (each ROI measured as if it were the selection) or a
    label image (``coefficient_table(labels=...)``)."""
    channels = _coefficient_channels(request)
    labels = _labels(request, "labels", channels[0])
    per_roi = request.values["mask"] == ROI_MANAGER
    three = len(channels) == 3
    _check_objects(request, labels, per_roi, three=three)
    report = _report_path(request, one_analysis=not (per_roi or labels is not None or three))
    selected = _mask(request, "mask", channels[0])
    options = _coefficient_options(request, len(channels), report)
    progress("Coloc Coefficients: measuring...")
    records, objects = _coefficient_records(request, channels, options, selected, labels)
    pair_records = [r for r in records if r["channel2"] == ""]
    tables, rows = _coefficient_tables(request, channels, records, objects, options)
    images, overlays = _colocalized_outputs(request, channels, pair_records, objects, options)
    scatters = []
    if request.values["scatter_plot"]:
        progress("Coloc Coefficients: scatter plot...")
        scatters = _scatter_plots(request, channels, rows, selected, labels, per_roi)
    log = []
    if report is not None:  # one pair in one mask: the table's row, the scatter plot's data
        progress("Coloc Coefficients: report...")
        drawn = scatters[0][1] if scatters else None
        _write_report(report, request, channels, selected, pair_records[0], options, drawn)
        log.append(f"report written to {report}")
    return Response(
        tables=tuple(tables),
        images=tuple(images),
        plots=tuple(plot for plot, _ in scatters),
        overlays=tuple(overlays),
        log=tuple(log),
    )


def _coefficient_tables(
    request: Request,
    channels: list[_Channel],
    records: list[dict[str, Any]],
    objects: list[_Object],
    options: _CoefficientOptions,
) -> tuple[list[Table], list[dict[str, Any]]]:
    """The coefficients table (one row per pair and object, named after the images) and, for
    three channels, the triple table; and the coefficients table's rows."""
    pair_records = [r for r in records if r["channel2"] == ""]
    names = [c.name for c in channels]
    # the pair rows come in the order of coefficient_table's pairs, object after object
    pairs = list(itertools.combinations(range(len(channels)), 2))
    produced = {"Mask": _mask_name(request, "mask"), "Threshold method": options.method}
    rows: list[dict[str, Any]] = [
        {"Image 1": names[pairs[k % len(pairs)][0]], "Image 2": names[pairs[k % len(pairs)][1]]}
        | columns
        | produced
        | {f: r[f] for f in PAIR_FIELDS}
        for k, (r, (columns, _)) in enumerate(zip(pair_records, objects))
    ]
    tables = [Table.from_rows(COEFFICIENTS_TABLE, rows, results=True)]
    for r in records[len(pair_records) :]:  # the triple's row (three channels)
        row = {f"Image {k + 1}": name for k, name in enumerate(names)}
        # per-channel thresholds (auto methods, top %) apply to the triple, Costes' thresholds
        # of each pair do not (coefficient_table's triple policy): its row says None
        method = options.method if options.per_channel else "None"
        values = {f.removeprefix("triple_"): r[f] for f in TRIPLE_FIELDS}
        tables.append(
            Table.from_rows(TRIPLE_TABLE, row | produced | {"Threshold method": method} | values)
        )
    return tables, rows


@dataclass(frozen=True)
class _CoefficientOptions:
    """The dialog's analysis options as :func:`colocalize.coefficient_table` takes them."""

    thresholds: Any
    method: str  # the table's "Threshold method" column
    comparison: str  # how manual thresholds select pixels
    per_channel: bool  # one threshold per channel (an auto method or top %), not per pair
    exclude_zero_zero: bool
    measures: list[str] | None


def _coefficient_channels(request: Request) -> list[_Channel]:
    """The two channels, and channel 3 of the same multichannel image when asked for."""
    v = request.values
    channels = _two_channels(request)
    c3 = _whole(request, "channel_3", 0, "a channel number (counted from 1; 0 = none)")
    if c3:
        if v["image_1"] != v["image_2"] or channels[0].image is channels[0].source.image:
            raise ValueError(
                "channel_3 needs image_1 and image_2 to be the same multichannel image"
            )
        channels.append(_channel(request, "image_1", channel_key="channel_3"))
    return channels


def _check_objects(
    request: Request, labels: np.ndarray | None, per_roi: bool, *, three: bool
) -> None:
    """Refuse two ways of asking for one row per object, or per-object rows of three channels."""
    if labels is not None and per_roi:
        raise ValueError(
            f"mask={ROI_MANAGER} and labels={request.values['labels']!r} both ask for one row "
            f"per object; choose one of them (or a mask image with the label image)"
        )
    if (labels is not None or per_roi) and three:
        raise ValueError(
            "channel_3 (three channels) gives one row for the whole image; per-object rows "
            f"(mask={ROI_MANAGER} or labels=) take two channels: use channel_3=0"
        )


def _coefficient_options(
    request: Request, n_channels: int, report: Path | None
) -> _CoefficientOptions:
    """The Threshold choice (None, Manual, Costes, Top %, an auto method), its comparison and
    the measures, checked against the number of channels and the report."""
    v = request.values
    method = v["threshold"]
    thresholds: Any = {"None": None, "Costes": "costes"}.get(method, method)
    if method == "Manual":
        if n_channels == 3:
            raise ValueError(
                "threshold=Manual gives two thresholds (threshold_1, threshold_2) but channel_3 "
                "asks for three channels; use Costes or an auto method, or channel_3=0"
            )
        thresholds = (v["threshold_1"], v["threshold_2"])
    # how Manual thresholds select pixels (">=": the lower bounds of ImageJ's Threshold dialog)
    comparison = v["manual_comparison"] if method == "Manual" else "peers"
    if comparison != "peers":
        if report is not None:
            raise ValueError(
                f"report= compares Manual thresholds as the peers do; manual_comparison="
                f"{comparison} is for the table only: leave out report or use "
                f"manual_comparison=peers"
            )
        method = f"Manual {comparison}"
    if method == TOP_PERCENT:  # EzColocalization's FT: each channel's brightest top_percent%
        if not 0 < v["top_percent"] <= 100:
            raise ValueError(
                f"top_percent={v['top_percent']:g} is not a percentage in (0, 100]; e.g. "
                f"top_percent=10 for each channel's brightest 10% (EzColocalization's FT)"
            )
        thresholds = method = f"top{v['top_percent']:g}%"
    return _CoefficientOptions(
        thresholds,
        method,
        comparison,
        per_channel=isinstance(thresholds, str) and thresholds != "costes",
        exclude_zero_zero=bool(v["exclude_zero-zero_pixels"]),
        measures=[group for group in (*MEASURES, *ON_REQUEST) if v[group]] or None,
    )


def _measured(
    request: Request, channels: list[_Channel]
) -> tuple[Image, tuple[str, ...], list[int] | None]:
    """What :func:`colocalize.coefficient_table` measures, its channel names (those of the
    tables, so the Log's warnings name channels as the tables do) and its ``channels``: the
    source image itself with the chosen channels when they are channels of one multichannel
    image, else the channels stacked along a new C axis (after T, as in every Image)."""
    first = channels[0]
    whole = first.source.image
    if request.values["image_1"] == request.values["image_2"] and first.image is not whole:
        # every channel, named as _channel names the chosen ones: title (C1), title (C2)...
        names = tuple(f"{whole.name} (C{k + 1})" for k in range(whole.n_channels))
        return whole, names, [c.index for c in channels]
    c = 1 if first.image.axes.startswith("T") else 0
    stacked = Image(
        np.stack([ch.image.data for ch in channels], axis=c),
        axes=first.image.axes[:c] + "C" + first.image.axes[c:],
        spacing=(*first.image.spacing[:c], 1.0, *first.image.spacing[c:]),
        unit=first.image.unit,
    )
    return stacked, tuple(ch.name for ch in channels), None


# the columns of one object: a ROI's name, or the label image and the label; and its pixels
_Object = tuple[dict[str, Any], np.ndarray | None]


def _coefficient_records(
    request: Request,
    channels: list[_Channel],
    options: _CoefficientOptions,
    selected: np.ndarray | None,
    labels: np.ndarray | None,
) -> tuple[list[dict[str, Any]], list[_Object]]:
    """The rows of :func:`colocalize.coefficient_table` (pairs then the triple, in order; per
    ROI of the ROI Manager or per label), and the object of each pair row."""
    import colocalize

    image, names, used = _measured(request, channels)

    def measure(within: np.ndarray | None, objects: np.ndarray | None = None) -> list[Any]:
        found = colocalize.coefficient_table(
            image,
            channels=used,
            channel_names=names,
            mask=within,
            labels=objects,
            triples=len(channels) == 3,
            thresholds=options.thresholds,
            exclude_zero_zero=options.exclude_zero_zero,
            measures=options.measures,
            costes_method=request.values["costes_method"],
            threshold_comparison=options.comparison,
        )
        return list(found.to_dict(orient="records"))

    objects: list[_Object] = []
    records: list[dict[str, Any]] = []
    if request.values["mask"] == ROI_MANAGER:
        for roi in request.masks["mask"]:
            for r in measure(roi.data):
                records.append(r)
                objects.append(({"ROI": roi.name}, roi.data))
    elif labels is not None:
        for r in measure(selected, labels):
            records.append(r)
            label = int(r["label"])
            inside = labels == label
            if selected is not None:
                inside &= np.broadcast_to(selected, inside.shape)
            objects.append(
                ({"Label image": str(request.values["labels"]), "Object": label}, inside)
            )
    else:
        records = measure(selected)
        objects = [({}, selected)] * len(records)
    return records, objects


def _colocalized_outputs(
    request: Request,
    channels: list[_Channel],
    records: list[dict[str, Any]],
    objects: list[_Object],
    options: _CoefficientOptions,
) -> tuple[list[ImageData], list[Overlay]]:
    """The colocalized pixel mask and overlay: the first pair's pixels above both its
    thresholds (a > T_a and b > T_b, or >= with manual_comparison=">=": the pixels of
    fraction_colocalized; no threshold: above 0), in every object (with its thresholds)."""
    v = request.values
    if not (v["colocalized_pixel_mask"] or v["overlay"]):
        return [], []
    a, b = channels[0].image.data, channels[1].image.data
    coloc = np.zeros(a.shape, bool)
    n_pairs = 1 if len(channels) == 2 else 3
    for k, (r, (_, inside)) in enumerate(zip(records, objects)):
        if k % n_pairs:  # another pair of three channels
            continue
        t0 = 0.0 if math.isnan(r["threshold0"]) else r["threshold0"]
        t1 = 0.0 if math.isnan(r["threshold1"]) else r["threshold1"]
        if options.comparison == ">=" and not math.isnan(r["threshold0"]):
            above = (a >= t0) & (b >= t1)
        else:
            above = (a > t0) & (b > t1)
        coloc |= above if inside is None else above & np.broadcast_to(inside, above.shape)
    title = f"Colocalized pixels of {channels[0].name} and {channels[1].name}"
    images = [_output(coloc, channels[0], title, lut="mask")] if v["colocalized_pixel_mask"] else []
    overlays = []
    if v["overlay"]:
        overlays = [
            Overlay(
                source,
                COLOCALIZED_OVERLAY,
                coloc,
                channels[0].image.axes,
                (OverlayObject(1, COLOCALIZED_OVERLAY, "#ffff00"),),
                fill=0.4,
            )
            for source in dict.fromkeys(c.source.title for c in channels[:2])
        ]
    return images, overlays


def _scatter_plots(
    request: Request,
    channels: list[_Channel],
    rows: list[dict[str, Any]],
    selected: np.ndarray | None,
    labels: np.ndarray | None,
    per_roi: bool,
) -> list[tuple[Plot, _Scatter]]:
    """One scatter plot per pair with its row's thresholds; per object, one plot of the pixels
    of every object (their thresholds differ, so none is drawn); each with what it draws."""
    v = request.values
    exclude = bool(v["exclude_zero-zero_pixels"])
    if per_roi or labels is not None:
        union = selected
        if labels is not None:
            union = labels > 0
            if selected is not None:
                union &= np.broadcast_to(selected, union.shape)
        return [
            _scatter_plot(
                channels[0],
                channels[1],
                mask=union,
                exclude_zero_zero=exclude,
                thresholds=(math.nan, math.nan),
                costes_method=v["costes_method"],
            )
        ]
    pairs = list(itertools.combinations(range(len(channels)), 2))
    return [
        _scatter_plot(
            channels[i],
            channels[j],
            mask=selected,
            exclude_zero_zero=exclude,
            thresholds=(row["threshold0"], row["threshold1"]),
            costes_method=v["costes_method"],
        )
        for (i, j), row in zip(pairs, rows)
    ]


def _new_file(request: Request, key: str, *, writer: str) -> Path | None:
    """The file the save field ``key`` names (None when empty), checked before any work: a
    file that does not exist yet (ImageJ's commands have no overwrite option: ``writer``
    never replaces a file). The caller checks the rest: its suffix, its folder
    (:func:`colocalize._output.check_output`)."""
    text = str(request.values[key]).strip()
    if not text:
        return None
    target = Path(text).absolute()
    if target.exists():
        raise ValueError(
            f"{key}=[{text}] already exists; choose another file name ({writer} never "
            f"replaces a file)"
        )
    return target


def _report_path(request: Request, *, one_analysis: bool) -> Path | None:
    """The ``report`` file (None when empty), checked before any work: a new .pdf or .png file
    in an existing folder, for an analysis of two channels in one mask."""
    from colocalize.plot._coefficient_report import check_report_path

    text = str(request.values["report"]).strip()
    if text and not one_analysis:
        raise ValueError(
            f"report=[{text}] describes one analysis of two channels, not one row per object or "
            f"a third channel: leave out report, or use a mask image or selection, no labels "
            f"and channel_3=0"
        )
    target = _new_file(request, "report", writer="a report")
    return None if target is None else check_report_path(target, name="report")[0]


def _write_report(
    path: Path,
    request: Request,
    channels: list[_Channel],
    selected: np.ndarray | None,
    record: dict[str, Any],
    options: _CoefficientOptions,
    scatter: _Scatter | None,
) -> None:
    """The report (:func:`colocalize.plot.coefficient_report`) of the first two channels: the
    table's ``record`` of them, drawn with the scatter plot's histogram and line when it has
    been made (else computed as the report does)."""
    from colocalize._coefficients import resolve_measures
    from colocalize.plot._coefficient_report import draw_report, result_of_row

    v = request.values
    numbers = tuple(
        int(v[key]) if c.image is not c.source.image else 1
        for key, c in zip(("channel_1", "channel_2"), channels)
    )
    draw_report(
        path,
        [channels[0].image.data, channels[1].image.data],
        result_of_row(record, resolve_measures(options.measures)),
        mask=selected,
        thresholds=options.thresholds,
        costes_method=v["costes_method"],
        exclude_zero_zero=options.exclude_zero_zero,
        saturated=None,
        names=(channels[0].name, channels[1].name),
        channels=(numbers[0], numbers[1]),
        mask_name=_mask_name(request, "mask"),
        sources=(),
        scatter=scatter,
    )


# Coloc 2's 2D histogram shows log-scaled counts as colours; a Plot shows them as dots coloured
# by decade of the count (1-9, 10-99, ...), from light to dark.
_DECADE_COLORS = ("#9ecae1", "#4292c6", "#08519c", "#08306b", "#000000")


def _decade_series(counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[Series]:
    """The occupied bins of a 2D histogram ``counts`` as dot series at bin centres ``x[i]``,
    ``y[j]``, one series per decade of the count (1-9, 10-99, ..., the last open-ended)."""
    decade = np.floor(np.log10(np.maximum(counts, 1))).astype(int)
    last = len(_DECADE_COLORS) - 1
    series = []
    for k, color in enumerate(_DECADE_COLORS):
        i, j = np.nonzero((counts > 0) & ((decade >= k) if k == last else (decade == k)))
        if i.size:
            label = f">= {10**k} pixels" if k == last else f"{10**k}-{10 ** (k + 1) - 1} pixels"
            xs = tuple(float(c) for c in x[i])
            ys = tuple(float(c) for c in y[j])
            series.append(Series(label, xs, ys, "dot", color, 2.0))
    return series


# a scatter plot's bivariate histogram and regression line (slope, intercept)
_Scatter = tuple["BivariateHistogram", tuple[float, float]]


def _scatter_plot(
    first: _Channel,
    second: _Channel,
    *,
    mask: np.ndarray | None,
    exclude_zero_zero: bool,
    thresholds: tuple[Any, Any],
    costes_method: str,
) -> tuple[Plot, _Scatter]:
    """Coloc 2's 2D intensity histogram of ``second`` against ``first`` as a Plot: occupied
    bins as dots coloured by decade of their count, the regression line of the chosen Costes
    method (Coloc 2's orthogonal line, or JACoP's and EzColocalization's least squares) and the
    two thresholds (the colocalized quadrant is above both). Only the line is computed, not
    Costes' search along it (whose convergence the table row reports already). Also the
    histogram and the line, which the report draws again."""
    import colocalize

    a, b = first.image.data, second.image.data
    histogram = colocalize.bivariate_histogram(
        a, b, nbins=256, mask=mask, exclude_zero_zero=exclude_zero_zero
    )
    centres0 = (histogram.edges0[:-1] + histogram.edges0[1:]) / 2
    centres1 = (histogram.edges1[:-1] + histogram.edges1[1:]) / 2
    series = _decade_series(histogram.counts, centres0, centres1)
    x_range = (float(histogram.edges0[0]), float(histogram.edges0[-1]))
    y_range = (float(histogram.edges1[0]), float(histogram.edges1[-1]))
    selected = mask
    if exclude_zero_zero:
        nonzero = (a != 0) | (b != 0)
        selected = nonzero if mask is None else nonzero & np.broadcast_to(mask, a.shape)
    slope, intercept = regression_line(
        a, b, mask=selected, method=check_costes_method(costes_method)
    )
    if math.isfinite(slope) and math.isfinite(intercept):
        series.append(
            Series(
                f"regression: C2 = {slope:.4g} C1 {'-' if intercept < 0 else '+'} "
                f"{abs(intercept):.4g}",
                x_range,
                tuple(slope * x + intercept for x in x_range),
                "line",
                "#ff0000",
                1.5,
            )
        )
    t0, t1 = (float(t) for t in thresholds)
    if math.isfinite(t0) and math.isfinite(t1):
        series.append(Series(f"threshold 1 = {t0:.4g}", (t0, t0), y_range, "line", "#00a000"))
        series.append(Series(f"threshold 2 = {t1:.4g}", x_range, (t1, t1), "line", "#00a000"))
    plot = Plot(
        f"Scatter plot of {second.name} against {first.name}",
        f"{first.name} (intensity, grey values)",
        f"{second.name} (intensity, grey values)",
        tuple(series),
        limits=(*x_range, *y_range),
    )
    return plot, (histogram, (slope, intercept))


@command(
    "auto_threshold",
    "Coloc Auto Threshold...",
    image("Image"),
    number("Channel", 1, digits=0),
    choice("Method", _methods(), "Otsu"),
    mask(),
    checkbox("Dark_background", True),
    checkbox("Create_mask", True),
)
def auto_threshold_command(request: Request, progress: Progress) -> Response:
    """An ImageJ auto-threshold of one image (or channel), with an optional mask output."""
    import colocalize

    v = request.values
    source = _channel(request, "image", channel_key="channel")
    data = source.image.data
    selected = _mask(request, "mask", source)
    dark = bool(v["dark_background"])
    level = colocalize.threshold(data, v["method"], mask=selected, dark_background=dark)
    row = {
        "Image": source.name,
        "Mask": _mask_name(request, "mask"),
        "Method": v["method"],
        "Threshold": level,
        "Dark background": dark,
    }
    images = []
    if v["create_mask"]:
        chosen = data > level if dark else data <= level
        if selected is not None:
            chosen &= np.broadcast_to(selected, chosen.shape)
        images.append(_output(chosen, source, f"Mask of {source.name} ({v['method']})", lut="mask"))
    return Response(
        tables=(Table.from_rows(THRESHOLD_TABLE, row, results=True),), images=tuple(images)
    )


@command(
    "costes_significance",
    "Coloc Costes Significance...",
    *_two_channel_fields(),
    mask(),
    number("PSF_size", 3, digits=0),
    number("Randomizations", 200, digits=0),
    number("Seed", -1, digits=0),
    message("Seed -1: a new random seed on every run."),
    checkbox("Histogram", True),
)
def costes_significance_command(request: Request, progress: Progress) -> Response:
    """Costes' randomisation test of Pearson's r of two images (or channels), with the
    histogram of the randomized r. Esc stops it within one chunk of randomizations (the
    ``Cancelled`` raised by ``progress`` leaves ``costes_significance``): no table, no plot."""
    import colocalize

    title = "Coloc Costes Significance"
    first, second = _two_channels(request)
    selected = _mask(request, "mask", first)
    psf = _whole(request, "psf_size", 1, "a block size in pixels")
    n = _whole(request, "randomizations", 2, "a number of randomizations")
    seed = _whole(request, "seed", -1, "a seed (-1: a new one on every run)")
    result = colocalize.costes_significance(
        first.image.data,
        second.image.data,
        mask=selected,
        psf=psf,
        n=n,
        rng=None if seed < 0 else seed,
        progress=lambda done, total: progress(
            f"{title}: {done} of {total} randomizations", done, total
        ),
    )
    row = {
        "Image 1": first.name,
        "Image 2": second.name,
        "Mask": _mask_name(request, "mask"),
        P_NORMAL: result.p_value,
        P_EMPIRICAL: result.p_value_empirical,
        "observed": result.observed,
        "randomized_mean": result.randomized_mean,
        "randomized_std": result.randomized_std,
        "n": result.n,
        "PSF size": psf,
    }
    plot = _significance_plot(result, first, second) if request.values["histogram"] else None
    table = Table.from_rows(SIGNIFICANCE_TABLE, row, results=True)
    return Response(tables=(table,), plots=() if plot is None else (plot,))


def _significance_plot(
    result: SignificanceResult, first: _Channel, second: _Channel
) -> Plot | None:
    """The histogram of the randomized Pearson's r (ImageJ's "bar" style: x at the bin
    centres) and the observed r as a red vertical line: colocalize.plot.significance_histogram
    as an ImageJ plot. None when no randomized r is finite (the Log's warning says why)."""
    counts, edges = result.histogram()
    if not counts.size:
        return None
    centres = (edges[:-1] + edges[1:]) / 2
    series = [
        Series(
            f"randomized r (n = {int(counts.sum())})",
            tuple(float(c) for c in centres),
            tuple(float(c) for c in counts),
            "bar",
            "#808080",
        )
    ]
    low, high = float(edges[0]), float(edges[-1])
    observed = result.observed
    if math.isfinite(observed):
        series.append(
            Series(
                f"observed r = {observed:.4g}",
                (observed, observed),
                (0.0, float(counts.max())),
                "line",
                "#ff0000",
                2.0,
            )
        )
        low, high = min(low, observed), max(high, observed)
    margin = 0.05 * (high - low) or 0.05
    return Plot(
        f"Costes significance of {first.name} and {second.name}",
        "Pearson's r (randomized: grey bars; observed: red line)",
        "Randomizations (count)",
        tuple(series),
        limits=(low - margin, high + margin, 0.0, 1.1 * float(counts.max())),
    )


def _significant(value: float, digits: int) -> float:
    """CCC's rounding: BigDecimal(value).round(MathContext(digits)), HALF_UP; 0 = none."""
    if digits <= 0 or not math.isfinite(value):
        return value
    context = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_UP)
    return float(context.create_decimal(decimal.Decimal(value)))


_PROFILES = (("Original CC", "original"), ("Subtracted CC", "subtracted"), ("Gaussian fit", "fit"))


def _binned_profile(
    profile: Any, width: float
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The radial profile in distance bins of one pixel size ``width`` (bin k holds the exact
    distances nearest to ``k * width``): per bin the mean distance and the number of shifts,
    and each profile's mean over those shifts (the count-weighted mean of its exact-distance
    values, so a bin is the mean over all its shifts)."""
    index = np.floor(np.asarray(profile.distance) / width + 0.5).astype(np.intp)
    _, bins = np.unique(index, return_inverse=True)
    weights = np.asarray(profile.count, dtype=np.float64)
    count = np.bincount(bins, weights)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(bins, weights * np.asarray(values, dtype=np.float64)) / count

    binned = {
        label: mean(getattr(profile, name))
        for label, name in _PROFILES
        if getattr(profile, name) is not None
    }
    return mean(profile.distance), count, binned


def _correlation_plot(profile: Any, result: Any, output: _Output) -> Plot:
    """CCC's "Correlation of images" plot."""
    x = tuple(float(d) for d in profile.distance)
    series = tuple(
        Series(label, x, tuple(float(y) for y in values), "circle", color)
        for label, values, color in (
            ("Original CC", profile.original, "#0000ff"),
            ("Subtracted CC", profile.subtracted, "#00ff00"),
            ("Gaussian fit", profile.fit, "#ff00ff"),
        )
        if values is not None
    )
    limits = None
    if result.fit_ok:
        limits = (0.0, max(result.mean + 5 * result.sigma, 0.01), math.nan, math.nan)
    return Plot(
        output.title,
        f"Distance ({profile.unit})",
        "Cross correlation (mean over the shifts at this distance)",
        series,
        limits=limits,
        save=output.save,
    )


def _heat_map(frames: Any, source: ImageData, output: _Output) -> ImageData:
    """CCC's "Correlation over time" heat map: x = frame, y = distance index, c = series."""
    profile = frames.profile
    series = [profile.fit, profile.subtracted, profile.original]
    heat = np.stack([np.asarray(s, np.float32).T for s in series if s is not None])  # (C, K, T)
    spacing = (1.0, 1.0, source.image.spacing[0])
    return ImageData(Image(heat, axes="CYX", spacing=spacing, name=output.title), save=output.save)


@dataclass(frozen=True)
class _Output:
    """An output's title and the file it is saved to (None: not saved)."""

    title: str
    save: str | None


# the intermediate images: CrossCorrelation's field, the title
_INTERMEDIATES = (
    ("original_correlation", "Original CC result"),
    ("subtracted_correlation", "Subtracted CC result"),
    ("weighted_correlation", "Gaussian-modified CC result"),
)


def _cross_correlation_outputs(
    request: Request, channels: list[_Channel], folder: Path | None
) -> dict[str, _Output]:
    """Every output Coloc Cross Correlation will give, by role (a table's title, or a field of
    :class:`colocalize.CrossCorrelation`), with the file it is saved to in ``folder``: known
    before the work, so that files a run would replace are refused before it."""
    v = request.values
    names = f"{channels[0].name} and {channels[1].name}"
    files: dict[str, tuple[str, str]] = {CC_RESULTS_TABLE: (CC_RESULTS_TABLE, "CC Results.csv")}
    if "T" in channels[0].image.axes:
        files[OVER_TIME_TABLE] = (OVER_TIME_TABLE, "Gaussian fits over time.csv")
        title = f"Correlation over time of {names}"
        files["frames"] = (title, f"{title}.tif")
    else:
        files[CORRELATIONS_TABLE] = (CORRELATIONS_TABLE, "Correlation of images.csv")
        files["profile"] = ("Correlation of images", "Correlation of images.png")
    if v["contribution_images"]:
        for k, channel in enumerate(channels):
            title = f"Contribution of {channel.name}"
            files[f"contribution{k}"] = (title, f"{title}.tif")
    if v["intermediate_images"]:
        for field, title in _INTERMEDIATES:
            # the original correlation comes with the confidence (CrossCorrelation)
            if field != "original_correlation" or v["confidence"]:
                files[field] = (title, f"{title}.tif")
    return {
        role: _Output(title, None if folder is None else os.fspath(folder / name))
        for role, (title, name) in files.items()
    }


@command(
    "cross_correlation",
    "Coloc Cross Correlation...",
    *_two_channel_fields(),
    mask(),
    checkbox("Confidence", True),
    number("Significant_digits", 0, digits=0),
    checkbox("Contribution_images", False),
    checkbox("Intermediate_images", False),
    string("Save_folder", kind="directory"),
    message(
        "Mask <None> is CCC's 'No mask'; confidence off is 'CCC - No confidence'; "
        "0 digits: no rounding."
    ),
)
def cross_correlation_command(request: Request, progress: Progress) -> Response:
    """Colocalization by cross correlation (the CCC plugin's method and outputs). With a save
    folder, every output image is saved as TIFF (the plot as PNG) and every table as CSV."""
    import colocalize

    v = request.values
    channels = _two_channels(request)
    first = channels[0].image
    selected = _mask(request, "mask", channels[0])
    digits = _whole(request, "significant_digits", 0, "a number of digits (0: no rounding)")
    folder = Path(v["save_folder"]) if v["save_folder"] else None
    outputs = _cross_correlation_outputs(request, channels, folder)
    refuse_existing_saves(output.save for output in outputs.values())
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    progress("Coloc Cross Correlation: correlating...")
    result = colocalize.cross_correlation(
        first.data,
        channels[1].image.data,
        mask=selected,
        spacing=first.spatial_spacing,
        unit=first.unit,
        confidence=bool(v["confidence"]),
        contributions=bool(v["contribution_images"]),
        intermediates=bool(v["intermediate_images"]),
        time_axis=0 if "T" in first.axes else None,
    )

    def sig(value: float) -> float:
        return _significant(float(value), digits)

    interval = dict(zip(first.axes, first.spacing)).get("T", 1.0)  # of frames
    tables = [_cc_results(request, channels, result, sig, interval, outputs[CC_RESULTS_TABLE])]
    images: list[ImageData] = []
    plots: list[Plot] = []
    if result.frames is None:
        width = min(first.spatial_spacing)
        tables.append(_correlations_table(result, width, sig, outputs[CORRELATIONS_TABLE]))
        plots.append(_correlation_plot(result.profile, result, outputs["profile"]))
    else:
        confidence = bool(v["confidence"])
        output = outputs[OVER_TIME_TABLE]
        tables.append(_over_time_table(result.frames, confidence, sig, interval, output))
        images.append(_heat_map(result.frames, channels[0].source, outputs["frames"]))
    images += _correlation_images(result, channels, outputs)
    return Response(tables=tuple(tables), images=tuple(images), plots=tuple(plots))


def _cc_results(
    request: Request,
    channels: list[_Channel],
    result: Any,
    sig: Callable[[float], float],
    interval: float,
    output: _Output,
) -> Table:
    """CCC's "CC Results" table: the Gaussian fit of the (best frame's) profile, rounded by
    ``sig``, and the time of the best frame (``interval`` seconds apart) of a time series."""
    unit = result.unit
    rows: list[dict[str, Any]] = []
    if result.frames is not None and result.best_frame is not None:
        rows.append({"Measure": "Time of best CC (s)", "Value": sig(result.best_frame * interval)})
    rows += [
        {"Measure": f"Mean ({unit})", "Value": sig(result.mean)},
        {"Measure": f"StDev ({unit})", "Value": sig(result.sigma)},
    ]
    if request.values["confidence"]:
        rows.append({"Measure": "Confidence", "Value": sig(result.confidence)})
    rows += [
        {"Measure": "R-squared", "Value": sig(result.r_squared)},
        {"Measure": "Gaussian Height", "Value": sig(result.height)},
    ]
    names = {
        "Image 1": channels[0].name,
        "Image 2": channels[1].name,
        "Mask": _mask_name(request, "mask"),
    }
    rows = [row | names for row in rows]
    return Table.from_rows(output.title, rows, mode="replace", results=True, save=output.save)


def _correlations_table(
    result: Any, width: float, sig: Callable[[float], float], output: _Output
) -> Table:
    """CCC's "Table of correlations": the profiles in distance bins ``width`` wide, rounded by
    ``sig``."""
    distance, count, binned = _binned_profile(result.profile, width)
    rows = [
        {f"Distance ({result.unit})": sig(distance[k]), "Shifts": int(count[k])}
        | {label: sig(values[k]) for label, values in binned.items()}
        for k in range(len(distance))
    ]
    return Table.from_rows(output.title, rows, mode="replace", save=output.save)


def _over_time_table(
    frames: Any,
    confidence: bool,
    sig: Callable[[float], float],
    interval: float,
    output: _Output,
) -> Table:
    """CCC's Gaussian fits of every frame (``interval`` seconds apart; 1.0: not calibrated),
    rounded by ``sig``."""
    rows = [
        {
            "Frame": f"{sig(i * interval)} s" if interval != 1.0 else f"Frame {i}",
            "Mean": sig(frames.mean[i]),
            "SD": sig(frames.sigma[i]),
            **({"Confidence": sig(frames.confidence[i])} if confidence else {}),
            "R-squared": sig(frames.r_squared[i]),
            "Gaussian height": sig(frames.height[i]),
        }
        for i in range(len(frames.frame))
    ]
    return Table.from_rows(output.title, rows, mode="replace", save=output.save)


def _correlation_images(
    result: Any, channels: list[_Channel], outputs: dict[str, _Output]
) -> list[ImageData]:
    """The contribution images (calibrated as their channels) and the intermediate correlation
    images (as the first source image), as float32, when the result has them."""
    images = []
    if result.contribution0 is not None and result.contribution1 is not None:
        for k, data in enumerate((result.contribution0, result.contribution1)):
            output = outputs[f"contribution{k}"]
            as_float = np.asarray(data, np.float32)
            images.append(_output(as_float, channels[k], output.title, save=output.save))
    for field, _ in _INTERMEDIATES:
        correlation = getattr(result, field)
        if correlation is not None:
            output = outputs[field]
            as_float = np.asarray(correlation, np.float32)
            images.append(_output(as_float, channels[0].source, output.title, save=output.save))
    return images


@command(
    "learned_threshold",
    "Coloc Learned Threshold...",
    image("Image"),
    string("Model", kind="file"),
    string("Channel_labels"),
    message(
        "Channel labels: one per channel, comma-separated, as in training (default 0, 1, ...)."
    ),
    checkbox("Apply_threshold", True),
    checkbox("Rescale", True),
)
def learned_threshold_command(request: Request, progress: Progress) -> Response:
    """Apply a saved background-threshold model (``ThresholdModel`` JSON) to an image."""
    import colocalize

    v = request.values
    if not v["model"]:
        raise ValueError("model= is empty; pass the JSON file saved by ThresholdModel.save")
    model = colocalize.ThresholdModel.load(v["model"])
    source = request.images["image"]
    whole = source.image
    n = whole.n_channels
    labels = [s.strip() for s in v["channel_labels"].split(",") if s.strip()] or [
        str(i) for i in range(n)
    ]
    if len(labels) != n:
        raise ValueError(
            f"channel_labels={v['channel_labels']!r} has {len(labels)} label(s) but the image "
            f"{whole.name!r} has {n} channel(s); give one label per channel"
        )
    levels = model.predict_image(whole, channels=labels)  # one level per channel of C
    rows = [
        {
            "Image": whole.name,
            "Model": Path(v["model"]).name,
            "Channel": c + 1,
            "Label": label,
            "Threshold": level,
        }
        for c, (label, level) in enumerate(zip(labels, levels))
    ]
    images = []
    if v["apply_threshold"]:
        planes = [
            colocalize.apply_threshold(whole.channel(c), level, rescale=bool(v["rescale"]))
            for c, level in enumerate(levels)
        ]
        data = np.stack(planes, axis=whole.axes.index("C")) if "C" in whole.axes else planes[0]
        out = replace(whole, data=data, name=f"{whole.name} (learned threshold)")
        images.append(ImageData(out, source.frame_interval, source.luts))
    return Response(
        tables=(Table.from_rows(LEARNED_TABLE, rows, results=True),), images=tuple(images)
    )
