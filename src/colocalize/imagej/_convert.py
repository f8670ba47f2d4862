"""numpy <-> ImageJ 1.x conversions for Python scripts: images (stacks, hyperstacks,
calibration), masks, labels and tables (``ResultsTable``, including named tables).

Images and tables go through the shim's ``Inputs`` and ``Display``, the code that reads the
commands' inputs and shows their outputs, so a script sees exactly what a command sees. Pixels
are always copied; nothing here modifies the caller's array or ImagePlus.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from colocalize._image import Image

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
    from colocalize.imagej._contract import ImageData
    from colocalize.imagej._jvm import bridge_class
    from colocalize.imagej._protocol import Buffers, encode_image
    from colocalize.imagej._registry import to_message

    named = dataclasses.replace(image, name=title or image.name or "image")
    interval = dict(zip(image.axes, image.spacing)).get("T", 0.0)
    buffers = Buffers()
    spec = encode_image(ImageData(named, interval, show=False), buffers)
    message = to_message(json.dumps(spec, allow_nan=False), buffers.arrays)
    return bridge_class("Display").toImagePlus(message)  # the arrays live until it returns


def _read(imp: Any) -> tuple[dict[str, Any], list[np.ndarray]]:
    """The shim's reading of ``imp``: IMAGE JSON and its buffers, copied out of Java."""
    from colocalize.imagej._jvm import bridge_class

    message = bridge_class("Inputs").image(imp)
    buffers = [
        np.array(memoryview(message.buffer(i)), np.uint8) for i in range(int(message.bufferCount()))
    ]
    return json.loads(str(message.json())), buffers


def from_imageplus(imp: Any) -> Image:
    """Return a copy of an ``ij.ImagePlus`` as a colocalize :class:`~colocalize.Image`.

    Axes are the ones with more than one position, in colocalize's order ``TCZYX``; RGB images
    get a ``C`` axis of 3 channels. Calibration: pixel width/height/depth and unit, frame
    interval in seconds; channel names from the slice labels of a hyperstack's channels. The
    shim's ``Inputs`` reads the image, as it does for the commands.
    """
    from colocalize.imagej._protocol import decode_image

    spec, buffers = _read(imp)
    return decode_image(spec, buffers).image


def mask_from_imageplus(imp: Any) -> np.ndarray:
    """A mask image (any type; nonzero is inside) as a boolean array of its shape."""
    return np.asarray(from_imageplus(imp).data) != 0


def roi_mask(imp: Any) -> np.ndarray | None:
    """The area selection of ``imp`` as a boolean (M, N) array, or None without one."""
    from colocalize.imagej._jvm import bridge_class

    inputs = bridge_class("Inputs")
    reader = inputs(inputs.DIRECT)
    found = json.loads(str(bridge_class("Json").write(reader.selection(imp))))
    if not found:
        return None
    (buffer,) = reader.buffers()
    data = np.array(memoryview(buffer), np.uint8).reshape(found[0]["data"]["shape"])
    return data != 0


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
        import jpype

        table = jpype.JClass("ij.measure.ResultsTable")()
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
