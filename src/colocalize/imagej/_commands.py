"""The ImageJ commands under Analyze > Colocalization, one handler per capability.

Each handler reads its parameters through :class:`~colocalize.imagej._dialog.Dialog`, copies the
images out of ImageJ (never modifying them), calls the public colocalize API and puts tables and
images back, titled after the source images and carrying their calibration. Adding a command:
a line in ``plugin/plugins.config`` (then ``python plugin/build.py``) and a function here (or in
``_commands_batch``, ``_commands_masks``, imported at the end) decorated with
:func:`~colocalize.imagej._registry.command`.
"""

from __future__ import annotations

import dataclasses
import decimal
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._io import Image
from colocalize._validation import as_mask
from colocalize.imagej._convert import (
    from_imageplus,
    mask_from_imageplus,
    roi_mask,
    show_table,
    to_imageplus,
)
from colocalize.imagej._dialog import NONE, Dialog
from colocalize.imagej._registry import Call, command

SELECTION = "<Selection>"
COEFFICIENTS_TABLE = "Colocalization coefficients"
TRIPLE_TABLE = "Colocalization triple coefficients"
THRESHOLD_TABLE = "Auto threshold"
SIGNIFICANCE_TABLE = "Costes significance"
CC_RESULTS_TABLE = "CC Results"
CORRELATIONS_TABLE = "Table of correlations"
OVER_TIME_TABLE = "Correlation over time"
LEARNED_TABLE = "Learned thresholds"


@dataclass(frozen=True)
class _Channel:
    """One channel taken from an ImageJ image: its pixels (no C axis) and calibration."""

    image: Image  # axes without C
    name: str  # the source title, plus " (C2)" for a channel of a multichannel image
    imp: Any  # the source ImagePlus


def _channel(call: Call, title: str, index: int, *, key: str) -> _Channel:
    """Channel ``index`` (1-based, as in ImageJ; ignored for one-channel images) of ``title``."""
    imp = call.image(title)
    image = from_imageplus(imp)
    n = image.n_channels
    if n == 1:
        return _Channel(image, image.name, imp)
    if not 1 <= index <= n:
        raise ValueError(
            f"{key}={index:g} is out of range: the image {image.name!r} has {n} channels"
        )
    axes = image.axes.replace("C", "")
    spacing = tuple(s for a, s in zip(image.axes, image.spacing) if a != "C")
    data = image.channel(index - 1)
    name = f"{image.name} (C{index})"
    return _Channel(Image(data, axes=axes, spacing=spacing, unit=image.unit, name=name), name, imp)


def _same_size(channels: list[_Channel]) -> None:
    first = channels[0]
    for other in channels[1:]:
        if other.image.shape != first.image.shape:
            raise ValueError(
                f"the images have different sizes: {first.name!r} is {first.image.shape} and "
                f"{other.name!r} is {other.image.shape} ({first.image.axes}); use images of the "
                f"same size"
            )


def _add_mask_field(dialog: Dialog, titles: list[str], *, label: str = "Mask") -> None:
    dialog.choice(label, [NONE, SELECTION, *titles], NONE)


def _mask(call: Call, choice: str, source: _Channel) -> np.ndarray | None:
    """The mask chosen in a dialog: None, the source image's selection, or a mask image."""
    shape = source.image.shape
    if choice == NONE:
        return None
    if choice == SELECTION:
        mask = roi_mask(source.imp)
        if mask is None:
            raise ValueError(
                f"mask={SELECTION} but the image {str(source.imp.getTitle())!r} has no area "
                f"selection; draw one or choose another mask"
            )
        return mask
    mask = mask_from_imageplus(call.image(choice))
    as_mask(mask, shape, name=f"the mask image {choice!r}")  # the shape check only
    if not mask.any():
        raise ValueError(
            f"the mask image {choice!r} is empty (all zero); choose a mask with pixels inside"
        )
    return mask


def _output(data: np.ndarray, like: Image, title: str) -> Any:
    """An output image with the axes and calibration of ``like`` (an Image without C axis)."""
    return to_imageplus(
        Image(data, axes=like.axes, spacing=like.spacing, unit=like.unit, name=title)
    )


def _two_channel_dialog(dialog: Dialog, call: Call, titles: list[str]) -> None:
    current = call.current_title()
    dialog.image("Image_1", titles, current)
    dialog.image("Image_2", titles, next((t for t in titles if t != current), current))
    dialog.number("Channel_1", 1, digits=0)
    dialog.number("Channel_2", 2, digits=0)


def _two_channels(call: Call, p: dict[str, Any]) -> list[_Channel]:
    channels = [
        _channel(call, p["Image_1"], int(p["Channel_1"]), key="channel_1"),
        _channel(call, p["Image_2"], int(p["Channel_2"]), key="channel_2"),
    ]
    _same_size(channels)
    return channels


def _row(first: str, second: str, result: Any) -> dict[str, Any]:
    return {"Image 1": first, "Image 2": second, **dataclasses.asdict(result)}


@command("coefficients", "Coloc Coefficients...")
def coefficients_command(call: Call) -> None:
    """Colocalization coefficients of two images, or two or three channels of one hyperstack."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    _two_channel_dialog(dialog, call, titles)
    dialog.number("Channel_3", 0, digits=0)
    dialog.message(
        "Channels apply to multichannel images; channel 3 (0 = none) needs Image 1 = Image 2."
    )
    _add_mask_field(dialog, titles)
    dialog.choice(
        "Threshold", ["None", "Manual", "Costes", *colocalize.threshold_methods()], "Costes"
    )
    dialog.number("Threshold_1", 0.0)
    dialog.number("Threshold_2", 0.0)
    dialog.checkbox("Exclude_zero-zero_pixels", False)
    dialog.checkbox("Colocalized_pixel_mask", False)
    p = dialog.ask()

    channels = _two_channels(call, p)
    c3 = int(p["Channel_3"])
    if c3:
        if p["Image_1"] != p["Image_2"] or channels[0].name == str(channels[0].imp.getTitle()):
            raise ValueError(
                "channel_3 needs image_1 and image_2 to be the same multichannel image"
            )
        channels.append(_channel(call, p["Image_1"], c3, key="channel_3"))
    mask = _mask(call, p["Mask"], channels[0])
    choice = p["Threshold"]
    thresholds: Any = {
        "None": None,
        "Manual": (p["Threshold_1"], p["Threshold_2"]),
        "Costes": "costes",
    }.get(choice, choice)
    exclude = bool(p["Exclude_zero-zero_pixels"])
    data = [c.image.data for c in channels]
    pairs = [(0, 1)] if len(data) == 2 else [(0, 1), (0, 2), (1, 2)]
    results = [
        colocalize.coefficients(
            data[i], data[j], mask=mask, thresholds=thresholds, exclude_zero_zero=exclude
        )
        for i, j in pairs
    ]
    show_table(
        [_row(channels[i].name, channels[j].name, r) for (i, j), r in zip(pairs, results)],
        COEFFICIENTS_TABLE,
        results=True,
    )
    if len(data) == 3:
        # per-channel auto methods carry over; Costes and manual pairs of thresholds do not
        triple_thresholds = thresholds if choice in colocalize.threshold_methods() else None
        triple = colocalize.triple_coefficients(
            *data, mask=mask, thresholds=triple_thresholds, exclude_zero_zero=exclude
        )
        row = {f"Image {k + 1}": c.name for k, c in enumerate(channels)}
        show_table({**row, **dataclasses.asdict(triple)}, TRIPLE_TABLE)
    if p["Colocalized_pixel_mask"]:
        first = results[0]
        t0 = 0.0 if math.isnan(first.threshold0) else first.threshold0
        t1 = 0.0 if math.isnan(first.threshold1) else first.threshold1
        coloc = (data[0] > t0) & (data[1] > t1)
        if mask is not None:
            coloc &= np.broadcast_to(mask, coloc.shape)
        title = f"Colocalized pixels of {channels[0].name} and {channels[1].name}"
        call.show_image(_output(coloc, channels[0].image, title))


@command("auto_threshold", "Coloc Auto Threshold...")
def auto_threshold_command(call: Call) -> None:
    """An ImageJ auto-threshold of one image (or channel), with an optional mask output."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    dialog.image("Image", titles, call.current_title())
    dialog.number("Channel", 1, digits=0)
    dialog.choice("Method", list(colocalize.threshold_methods()), "Otsu")
    _add_mask_field(dialog, titles)
    dialog.checkbox("Dark_background", True)
    dialog.checkbox("Create_mask", True)
    p = dialog.ask()
    source = _channel(call, p["Image"], int(p["Channel"]), key="channel")
    data = source.image.data
    mask = _mask(call, p["Mask"], source)
    dark = bool(p["Dark_background"])
    level = colocalize.threshold(data, p["Method"], mask=mask, dark_background=dark)
    show_table(
        {"Image": source.name, "Method": p["Method"], "Threshold": level, "Dark background": dark},
        THRESHOLD_TABLE,
        results=True,
    )
    if p["Create_mask"]:
        selected = data > level if dark else data <= level
        if mask is not None:
            selected &= np.broadcast_to(mask, selected.shape)
        call.show_image(_output(selected, source.image, f"Mask of {source.name} ({p['Method']})"))


@command("costes_significance", "Coloc Costes Significance...")
def costes_significance_command(call: Call) -> None:
    """Costes' randomisation test of Pearson's r of two images (or channels)."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    _two_channel_dialog(dialog, call, titles)
    _add_mask_field(dialog, titles)
    dialog.number("PSF_size", 3, digits=0)
    dialog.number("Randomizations", 200, digits=0)
    dialog.number("Seed", -1, digits=0)
    dialog.message("Seed -1: a new random seed on every run.")
    p = dialog.ask()
    channels = _two_channels(call, p)
    mask = _mask(call, p["Mask"], channels[0])
    seed = int(p["Seed"])
    result = colocalize.costes_significance(
        channels[0].image.data,
        channels[1].image.data,
        mask=mask,
        psf=int(p["PSF_size"]),
        n=int(p["Randomizations"]),
        rng=None if seed < 0 else seed,
    )
    row = {**_row(channels[0].name, channels[1].name, result), "PSF size": int(p["PSF_size"])}
    show_table(row, SIGNIFICANCE_TABLE, results=True)


def _significant(value: float, digits: int) -> float:
    """CCC's rounding: BigDecimal(value).round(MathContext(digits)), HALF_UP; 0 = none."""
    if digits <= 0 or not math.isfinite(value):
        return value
    context = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_UP)
    return float(context.create_decimal(decimal.Decimal(value)))


def _plot(profile: Any, result: Any) -> Any:
    """CCC's "Correlation of images" plot as an ImagePlus."""
    import jpype

    plot = jpype.JClass("ij.gui.Plot")(
        "Correlation of images", f"Distance ({profile.unit})", "Cross correlation"
    )
    x = jpype.JArray(jpype.JDouble)(np.asarray(profile.distance, float))
    for series, color in (("original", "blue"), ("subtracted", "green"), ("fit", "magenta")):
        values = getattr(profile, series)
        if values is None:
            continue
        plot.setColor(color)
        plot.addPoints(
            x,
            jpype.JArray(jpype.JDouble)(np.asarray(values, float)),
            jpype.JClass("ij.gui.Plot").CIRCLE,
        )
    if result.fit_ok:
        plot.setLimits(0.0, max(result.mean + 5 * result.sigma, 0.01), math.nan, math.nan)
    plot.addLegend(
        "Original CC\nSubtracted CC\nGaussian fit"
        if profile.original is not None
        else "Subtracted CC\nGaussian fit"
    )
    imp = plot.getImagePlus()
    imp.setTitle("Correlation of images")
    return imp


def _heat_map(frames: Any, title: str, spacing_t: float) -> Any:
    """CCC's "Correlation over time" heat map: x = frame, y = distance index, c = series."""
    profile = frames.profile
    series = [profile.fit, profile.subtracted, profile.original]
    planes = [np.asarray(s, np.float32).T for s in series if s is not None]  # (K, T) each
    heat = np.stack(planes)
    return to_imageplus(Image(heat, axes="CYX", spacing=(1.0, 1.0, spacing_t), name=title))


@command("cross_correlation", "Coloc Cross Correlation...")
def cross_correlation_command(call: Call) -> None:
    """Colocalization by cross correlation (the CCC plugin's method and outputs)."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    _two_channel_dialog(dialog, call, titles)
    _add_mask_field(dialog, titles)
    dialog.checkbox("Confidence", True)
    dialog.number("Significant_digits", 0, digits=0)
    dialog.checkbox("Contribution_images", False)
    dialog.checkbox("Intermediate_images", False)
    dialog.directory("Save_folder", "")
    dialog.message(
        "Mask <None> is CCC's 'No mask'; confidence off is 'CCC - No confidence'; "
        "0 digits: no rounding."
    )
    p = dialog.ask()
    channels = _two_channels(call, p)
    first = channels[0].image
    mask = _mask(call, p["Mask"], channels[0])
    digits = int(p["Significant_digits"])
    time_axis = 0 if "T" in first.axes else None
    result = colocalize.cross_correlation(
        first.data,
        channels[1].image.data,
        mask=mask,
        spacing=tuple(s for a, s in zip(first.axes, first.spacing) if a in "ZYX"),
        unit=first.unit,
        confidence=bool(p["Confidence"]),
        contributions=bool(p["Contribution_images"]),
        intermediates=bool(p["Intermediate_images"]),
        time_axis=time_axis,
    )
    unit = result.unit

    def sig(value: float) -> float:
        return _significant(float(value), digits)

    rows: list[dict[str, Any]] = []
    spacing_t = dict(zip(first.axes, first.spacing)).get("T", 1.0)
    if result.frames is not None and result.best_frame is not None:
        rows.append({"Measure": "Time of best CC (s)", "Value": sig(result.best_frame * spacing_t)})
    rows += [
        {"Measure": f"Mean ({unit})", "Value": sig(result.mean)},
        {"Measure": f"StDev ({unit})", "Value": sig(result.sigma)},
    ]
    if p["Confidence"]:
        rows.append({"Measure": "Confidence", "Value": sig(result.confidence)})
    rows += [
        {"Measure": "R-squared", "Value": sig(result.r_squared)},
        {"Measure": "Gaussian Height", "Value": sig(result.height)},
    ]
    for row in rows:
        row.update({"Image 1": channels[0].name, "Image 2": channels[1].name})
    outputs: dict[str, Any] = {}
    tables: dict[str, Any] = {
        CC_RESULTS_TABLE: show_table(rows, CC_RESULTS_TABLE, append=False, results=True)
    }
    names = f"{channels[0].name} and {channels[1].name}"
    if result.frames is None:
        profile = result.profile
        table_rows = []
        for k, distance in enumerate(profile.distance):
            row = {f"Distance ({unit})": sig(distance)}
            for label, series in (
                ("Original CC", profile.original),
                ("Subtracted CC", profile.subtracted),
                ("Gaussian fit", profile.fit),
            ):
                if series is not None:
                    row[label] = sig(series[k])
            table_rows.append(row)
        tables[CORRELATIONS_TABLE] = show_table(table_rows, CORRELATIONS_TABLE, append=False)
        outputs["Correlation of images"] = _plot(profile, result)
    else:
        frames = result.frames
        frame_rows = [
            {
                "Frame": f"{sig(i * spacing_t)} s" if spacing_t != 1.0 else f"Frame {i}",
                "Mean": sig(frames.mean[i]),
                "SD": sig(frames.sigma[i]),
                **({"Confidence": sig(frames.confidence[i])} if p["Confidence"] else {}),
                "R-squared": sig(frames.r_squared[i]),
                "Gaussian height": sig(frames.height[i]),
            }
            for i in range(len(frames.frame))
        ]
        tables[OVER_TIME_TABLE] = show_table(frame_rows, OVER_TIME_TABLE, append=False)
        heat_title = f"Correlation over time of {names}"
        outputs[heat_title] = _heat_map(frames, heat_title, spacing_t)
    if result.contribution0 is not None and result.contribution1 is not None:
        for channel, data in zip(channels, (result.contribution0, result.contribution1)):
            title = f"Contribution of {channel.name}"
            outputs[title] = _output(np.asarray(data, np.float32), channel.image, title)
    spatial = Image(first.data, axes=first.axes, spacing=first.spacing, unit=first.unit)
    for title, correlation in (
        ("Original CC result", result.original_correlation),
        ("Subtracted CC result", result.subtracted_correlation),
        ("Gaussian-modified CC result", result.weighted_correlation),
    ):
        if correlation is not None:
            outputs[title] = _output(np.asarray(correlation, np.float32), spatial, title)
    for imp in outputs.values():
        call.show_image(imp)
    if p["Save_folder"]:
        _save(Path(p["Save_folder"]), outputs, tables)


def _save(folder: Path, images: dict[str, Any], tables: dict[str, Any]) -> None:
    """CCC's auto-save: every output image as TIFF (the plot also as PNG) and tables as CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    import jpype

    file_saver = jpype.JClass("ij.io.FileSaver")
    for title, imp in images.items():
        if title == "Correlation of images":
            ok = file_saver(imp).saveAsPng(str(folder / f"{title}.png"))
        else:
            ok = file_saver(imp).saveAsTiff(str(folder / f"{title}.tif"))
        if not ok:
            raise OSError(f"could not save {title!r} in save_folder={str(folder)!r}")
    names = {
        CC_RESULTS_TABLE: "CC Results",
        CORRELATIONS_TABLE: "Correlation of images",
        OVER_TIME_TABLE: "Gaussian fits over time",
    }
    for title, table in tables.items():
        table.saveAs(str(folder / f"{names[title]}.csv"))


@command("learned_threshold", "Coloc Learned Threshold...")
def learned_threshold_command(call: Call) -> None:
    """Apply a saved background-threshold model (``ThresholdModel`` JSON) to an image."""
    import colocalize

    titles = call.image_titles()
    dialog = call.dialog()
    dialog.image("Image", titles, call.current_title())
    dialog.file("Model", "")
    dialog.string("Channel_labels", "")
    dialog.message(
        "Channel labels: one per channel, comma-separated, as in training (default 0, 1, ...)."
    )
    dialog.checkbox("Apply_threshold", True)
    dialog.checkbox("Rescale", True)
    p = dialog.ask()
    if not p["Model"]:
        raise ValueError("model= is empty; pass the JSON file saved by ThresholdModel.save")
    model = colocalize.ThresholdModel.load(p["Model"])
    imp = call.image(p["Image"])
    image = from_imageplus(imp)
    n = image.n_channels
    labels = [s.strip() for s in p["Channel_labels"].split(",") if s.strip()] or [
        str(i) for i in range(n)
    ]
    if len(labels) != n:
        raise ValueError(
            f"channel_labels={p['Channel_labels']!r} has {len(labels)} label(s) but the image "
            f"{image.name!r} has {n} channel(s); give one label per channel"
        )
    channel_axis = image.axes.index("C") if "C" in image.axes else None
    levels = model.predict_image(image.data, channel_axis=channel_axis, channels=labels)
    rows = [
        {"Image": image.name, "Channel": c + 1, "Label": label, "Threshold": level}
        for c, (label, level) in enumerate(zip(labels, levels))
    ]
    show_table(rows, LEARNED_TABLE, results=True)
    if p["Apply_threshold"]:
        planes = [
            colocalize.apply_threshold(image.channel(c), level, rescale=bool(p["Rescale"]))
            for c, level in enumerate(levels)
        ]
        data = np.stack(planes, axis=channel_axis) if channel_axis is not None else planes[0]
        out = Image(
            data,
            axes=image.axes,
            spacing=image.spacing,
            unit=image.unit,
            channel_names=image.channel_names,
        )
        call.show_image(to_imageplus(out, title=f"{image.name} (learned threshold)"))


# the commands of the other modules register themselves on import (they use the helpers above)
from colocalize.imagej import _commands_batch, _commands_masks  # noqa: E402, F401
