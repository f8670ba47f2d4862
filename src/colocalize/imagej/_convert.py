"""numpy <-> ImageJ 1.x conversions: images (stacks, hyperstacks, calibration), masks, labels
and tables (``ResultsTable``, including named tables).

Pixels are always copied; nothing here modifies the caller's array or ImagePlus. Only the
long-stable ``ij.*`` API is used, so the same code runs in Fiji, plain ImageJ and the tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from colocalize._io import _TIME_SECONDS, Image, imagej_pixels

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "from_imageplus",
    "from_results_table",
    "get_table",
    "mask_from_imageplus",
    "roi_mask",
    "show_table",
    "to_imageplus",
    "to_results_table",
]

_IJ_ORDER = "TZCYX"  # ImageJ's stack index runs over c fastest, then z, then t


def _jclass(name: str) -> Any:
    import jpype

    return jpype.JClass(name)


def _processor(plane: np.ndarray) -> Any:
    """One 2-D plane (uint8, uint16 or float32, C order) as an ImageProcessor (a copy)."""
    import jpype

    height, width = plane.shape
    flat = np.ascontiguousarray(plane).ravel()
    if plane.dtype == np.uint8:
        pixels = jpype.JArray(jpype.JByte)(flat.view(np.int8))
        return _jclass("ij.process.ByteProcessor")(width, height, pixels)
    if plane.dtype == np.uint16:
        pixels = jpype.JArray(jpype.JShort)(flat.view(np.int16))
        return _jclass("ij.process.ShortProcessor")(width, height, pixels, None)
    pixels = jpype.JArray(jpype.JFloat)(flat.astype(np.float32, copy=False))
    return _jclass("ij.process.FloatProcessor")(width, height, pixels)


def to_imageplus(
    image: Image | np.ndarray,
    *,
    title: str = "",
    axes: str | None = None,
    spacing: Iterable[float] | None = None,
    unit: str | None = None,
) -> Any:
    """Return an ``ij.ImagePlus`` holding a copy of ``image``, with its calibration.

    Parameters
    ----------
    image : Image or ndarray
        A colocalize :class:`~colocalize.Image` (axes, spacing, unit and channel names are used),
        or an array of shape ``(M, N)``, ``(P, M, N)``... with ``axes`` (default ``"YX"``,
        ``"ZYX"``, ``"TZYX"`` by ndim).
    title : str
        The ImageJ title (default: the Image's name).
    axes, spacing, unit : optional
        For a bare array: the axis letters (a subsequence of ``"TCZYX"``), the spacing per axis
        (seconds for ``T``) and the spatial unit.

    Boolean masks become 8-bit 0/255 images; integer label images become 16-bit when they fit,
    else 32-bit (exact up to 2**24); float64 becomes 32-bit float (ImageJ's widest type).

    Examples
    --------
    >>> import numpy as np
    >>> from colocalize import Image
    >>> from colocalize.imagej._jvm import start_jvm
    >>> start_jvm()  # ImageJ 1.x in this process (reused when already running)
    >>> img = Image(np.arange(24, dtype=np.uint16).reshape(2, 3, 4), axes="CYX",
    ...             spacing=(1.0, 0.2, 0.1), unit="um", channel_names=("GFP", "RFP"))
    >>> imp = to_imageplus(img, title="cells")
    >>> imp.getNChannels(), imp.getBitDepth(), str(imp.getCalibration().getUnit())
    (2, 16, 'µm')
    >>> back = from_imageplus(imp)
    >>> back.axes, back.spacing, back.channel_names, bool((back.data == img.data).all())
    ('CYX', (1.0, 0.2, 0.1), ('GFP', 'RFP'), True)
    """
    if not isinstance(image, Image):
        arr = np.asarray(image)
        if axes is None:
            axes = {2: "YX", 3: "ZYX", 4: "TZYX"}.get(arr.ndim)
            if axes is None:
                raise ValueError(
                    f"image has shape {arr.shape}; pass axes= (letters of 'TCZYX', e.g. "
                    f"'TCZYX') for an array of {arr.ndim} dimensions."
                )
        image = Image(arr, axes=axes, spacing=tuple(spacing or ()), unit=unit or "pixel")
    elif axes is not None or spacing is not None or unit is not None:
        raise TypeError(
            "axes, spacing and unit are taken from the Image; pass them only with an array"
        )
    data = imagej_pixels(image.data, name=title or "image")
    # add the missing axes as length-1 dimensions, then order them as ImageJ's stack index
    expanded = data.reshape(
        [data.shape[image.axes.index(a)] if a in image.axes else 1 for a in "TCZYX"]
    )
    ordered = np.transpose(expanded, ["TCZYX".index(a) for a in _IJ_ORDER])
    n_t, n_z, n_c, height, width = ordered.shape
    stack = _jclass("ij.ImageStack")(width, height)
    for t in range(n_t):
        for z in range(n_z):
            for c in range(n_c):
                stack.addSlice("", _processor(ordered[t, z, c]))
    imp = _jclass("ij.ImagePlus")(title or image.name or "image", stack)
    imp.setDimensions(n_c, n_z, n_t)
    if sum(n > 1 for n in (n_c, n_z, n_t)) > 1:
        imp.setOpenAsHyperStack(True)
    cal = imp.getCalibration()
    spacing_of = dict(zip(image.axes, image.spacing))
    if image.calibrated:
        cal.setUnit(image.unit)
        cal.pixelWidth = spacing_of["X"]
        cal.pixelHeight = spacing_of["Y"]
        cal.pixelDepth = spacing_of.get("Z", 1.0)
    if "T" in image.axes:
        cal.frameInterval = spacing_of["T"]
        cal.setTimeUnit("sec")
    if n_c > 1:
        composite = _jclass("ij.CompositeImage")
        imp = composite(imp, composite.GRAYSCALE)
        for c, name in enumerate(image.channel_names):
            imp.getStack().setSliceLabel(name, c + 1)
    imp.resetDisplayRange()  # show 16- and 32-bit images from their minimum to maximum
    return imp


def _plane(processor: Any) -> np.ndarray:
    """A copy of one ImageProcessor's pixels: uint8, uint16, float32 or (RGB) uint8 (M, N, 3)."""
    width, height = int(processor.getWidth()), int(processor.getHeight())
    pixels = np.array(processor.getPixels(), copy=True)
    if pixels.dtype == np.int8:
        pixels = pixels.view(np.uint8)
    elif pixels.dtype == np.int16:
        pixels = pixels.view(np.uint16)
    elif pixels.dtype == np.int32:  # ColorProcessor: packed 0xRRGGBB
        rgb = pixels.view(np.uint32)
        pixels = np.stack([(rgb >> s) & 0xFF for s in (16, 8, 0)], axis=-1).astype(np.uint8)
        return pixels.reshape(height, width, 3)
    return pixels.reshape(height, width)


def _seconds(value: float, time_unit: str) -> float:
    factor = _TIME_SECONDS.get(str(time_unit).strip().lower(), 1.0)
    return float(value) * factor if value > 0 else 1.0


def from_imageplus(imp: Any) -> Image:
    """Return a copy of an ``ij.ImagePlus`` as a colocalize :class:`~colocalize.Image`.

    Axes are the ones with more than one position, in colocalize's order ``TCZYX``; RGB images
    get a ``C`` axis of 3 channels. Calibration: pixel width/height/depth and unit, frame
    interval in seconds; channel names from the slice labels of a hyperstack's channels.
    """
    n_c, n_z, n_t = int(imp.getNChannels()), int(imp.getNSlices()), int(imp.getNFrames())
    stack = imp.getStack()
    rgb = int(imp.getType()) == int(_jclass("ij.ImagePlus").COLOR_RGB)
    planes = [_plane(stack.getProcessor(i + 1)) for i in range(int(stack.getSize()))]
    data = np.stack(planes)
    height, width = planes[0].shape[:2]
    if rgb:  # (TZC, M, N, 3) -> channels become samples
        data = data.reshape(n_t, n_z, n_c, height, width, 3)
        data = np.moveaxis(data, -1, 3).reshape(n_t, n_z, n_c * 3, height, width)
        n_c *= 3
    else:
        data = data.reshape(n_t, n_z, n_c, height, width)
    data = np.transpose(data, [_IJ_ORDER.index(a) for a in "TCZYX"])
    keep = "".join(a for a, n in zip("TCZYX", (n_t, n_c, n_z, height, width)) if n > 1 or a in "YX")
    data = data.reshape([data.shape["TCZYX".index(a)] for a in keep])
    cal = imp.getCalibration()
    unit = str(cal.getUnit())
    calibrated = bool(cal.scaled())
    per_axis = {
        "T": _seconds(float(cal.frameInterval), str(cal.getTimeUnit())),
        "C": 1.0,
        "Z": float(cal.pixelDepth) if calibrated and cal.pixelDepth > 0 else 1.0,
        "Y": float(cal.pixelHeight) if calibrated else 1.0,
        "X": float(cal.pixelWidth) if calibrated else 1.0,
    }
    names: tuple[str, ...] = ()
    if "C" in keep and not rgb:
        labels = [stack.getSliceLabel(c + 1) for c in range(n_c)]
        if all(label is not None and str(label).strip() for label in labels):
            names = tuple(str(label).split("\n")[0] for label in labels)
            if len(set(names)) != len(names):
                names = ()
    elif rgb and "C" in keep:
        names = ("red", "green", "blue")
    return Image(
        data,
        axes=keep,
        spacing=tuple(per_axis[a] for a in keep),
        unit=unit if calibrated else "pixel",
        channel_names=names,
        name=str(imp.getTitle()),
    )


def mask_from_imageplus(imp: Any) -> np.ndarray:
    """A mask image (any type; nonzero is inside) as a boolean array of its shape."""
    return np.asarray(from_imageplus(imp).data) != 0


def roi_mask(imp: Any) -> np.ndarray | None:
    """The area selection of ``imp`` as a boolean (M, N) array, or None without one."""
    roi = imp.getRoi()
    if roi is None or not bool(roi.isArea()):
        return None
    processor = _jclass("ij.process.ByteProcessor")(int(imp.getWidth()), int(imp.getHeight()))
    processor.setColor(255)
    processor.fill(roi)
    return _plane(processor) != 0


def _cell(value: Any) -> Any:
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return float(value)
    if value is None:
        return math.nan
    return str(value)


def to_results_table(
    rows: pd.DataFrame | Mapping[str, Any] | Iterable[Mapping[str, Any]],
    *,
    table: Any = None,
) -> Any:
    """Append ``rows`` (a DataFrame, one dict or an iterable of dicts) to a ``ResultsTable``.

    Numbers (and booleans, as 0/1) become numeric columns, anything else a string column;
    ``None`` becomes NaN. A new table is made when ``table`` is None. Returns the table.
    """
    if table is None:
        table = _jclass("ij.measure.ResultsTable")()
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        records: Any = rows.to_dict(orient="records")
    elif isinstance(rows, Mapping):
        records = [rows]
    else:
        records = rows
    table.showRowNumbers(False)
    for record in records:
        table.incrementCounter()
        for key, value in record.items():
            table.addValue(str(key), _cell(value))  # a number or a string column
    return table


def from_results_table(table: Any) -> pd.DataFrame:
    """A copy of a ``ResultsTable`` as a pandas DataFrame (numbers as float, text as str)."""
    import pandas as pd

    n = int(table.size())
    headings = [str(h) for h in table.getHeadings() if str(h) not in ("", " ")]
    columns: dict[str, list[Any]] = {}
    for heading in headings:
        if heading == "Label":
            columns[heading] = [str(table.getLabel(i)) for i in range(n)]
            continue
        values: list[Any] = []
        for i in range(n):
            number = float(table.getValue(heading, i))
            text = table.getStringValue(heading, i)
            numeric_cell = not math.isnan(number) or text is None or str(text) in ("NaN", "")
            values.append(number if numeric_cell else str(text))
        numeric = all(isinstance(v, float) for v in values)
        columns[heading] = (
            values if numeric else [str(table.getStringValue(heading, i)) for i in range(n)]
        )
    return pd.DataFrame(columns)


def show_table(
    rows: pd.DataFrame | Mapping[str, Any] | Iterable[Mapping[str, Any]],
    title: str,
    *,
    append: bool = True,
    results: bool = False,
) -> Any:
    """Show ``rows`` in the ImageJ table called ``title`` (appended to it when ``append``).

    The shim's ``Display`` shows it, as it shows the commands' tables: with a display a named
    table window (read from a macro with ``Table.get(column, row, title)``); headless, where
    plain ImageJ 1.x has no named tables, a table kept for :func:`get_table`. With ``results``
    (a command's main table) the rows also go to the system "Results" table headless or in batch
    mode, which macros read with ``getResult`` and save with ``saveAs("Results", path)``.
    Returns the ``ResultsTable``.
    """
    from colocalize.imagej._contract import Response, Table
    from colocalize.imagej._registry import display

    mode = "append" if append else "replace"
    table = Table.from_rows(title, rows, mode=mode, results=results)
    return display(Response(tables=(table,)))[0]


def get_table(title: str) -> Any:
    """The ImageJ table called ``title`` (a ``ResultsTable``), or None when there is none."""
    from colocalize.imagej._jvm import bridge_class

    return bridge_class("Display").table(title)
