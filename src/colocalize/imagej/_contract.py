"""The command contract: what a command handler receives (:class:`Request`) and returns
(:class:`Response`), as plain frozen dataclasses with numpy pixels.

A handler is a function ``handler(request, progress) -> Response``. It computes only from the
request: no handler touches an ImagePlus, a ResultsTable or a dialog (the Java shim reads
ImageJ's inputs and shows the outputs, in every launch mode). ``docs/bridge-protocol.md``
documents the JSON form of these objects (``_protocol.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._image import Image

__all__ = [
    "Cancelled",
    "ImageData",
    "Overlay",
    "OverlayObject",
    "Plot",
    "Progress",
    "Request",
    "Response",
    "RoiMask",
    "Series",
    "Table",
    "refuse_existing_saves",
]


class Cancelled(Exception):
    """The user cancelled the running command (Esc in ImageJ)."""


@dataclass(frozen=True, eq=False)
class ImageData:
    """An ImageJ image as pixels plus what ImageJ knows about it.

    Attributes
    ----------
    image : Image
        Pixels (never modified), axes, spacing (the ``T`` spacing in seconds, 1.0 when unknown),
        unit and channel names; ``image.name`` is the title.
    frame_interval : float
        ImageJ's frame interval in seconds; 0 when not set.
    luts, display_ranges : tuple
        Per channel, as read from ImageJ (passed back unchanged on outputs that keep them).
    lut : str or None
        Output only: a LUT name for Java to apply ("glasbey", "grays", "inverted").
    show : bool
        Output only: display the image (False: only save it).
    save : str or None
        Output only: a path Java writes the image to (TIFF) after showing it.
    """

    image: Image
    frame_interval: float = 0.0
    luts: tuple[Any, ...] = ()
    display_ranges: tuple[tuple[float, float], ...] = ()
    lut: str | None = None
    show: bool = True
    save: str | None = None

    @property
    def title(self) -> str:
        return self.image.name


@dataclass(frozen=True, eq=False)
class RoiMask:
    """One ROI of a mask field (the selection, or an ROI Manager entry) as a bool (M, N) array."""

    name: str
    data: np.ndarray


def _cell(value: Any) -> float | str | None:
    """A table cell: numbers (and booleans) as float, NaN/None/NA as None, anything else str."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        number = float(value)
        return None if math.isnan(number) else number
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return str(value)


@dataclass(frozen=True)
class Table:
    """A table for ImageJ: ``columns`` are ``(name, values)`` pairs of equal length.

    ``mode`` "replace" shows exactly these rows, "append" adds them to an open table of the same
    title. ``results`` marks a command's main table: Java also appends its rows to the system
    Results table headless or in batch mode, where macros read ``getResult``.
    """

    title: str
    columns: tuple[tuple[str, tuple[float | str | None, ...]], ...]
    mode: str = "append"
    results: bool = False
    save: str | None = None

    @classmethod
    def from_rows(
        cls,
        title: str,
        rows: Any,
        *,
        mode: str = "append",
        results: bool = False,
        save: str | None = None,
    ) -> Table:
        """A table from a DataFrame, one mapping, or an iterable of mappings (one per row)."""
        if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
            records: list[Mapping[str, Any]] = rows.to_dict(orient="records")
        elif isinstance(rows, Mapping):
            records = [rows]
        else:
            records = list(rows)
        names: list[str] = []
        for record in records:
            names += [str(k) for k in record if str(k) not in names]
        columns = tuple(
            (name, tuple(_cell(record.get(name)) for record in records)) for name in names
        )
        return cls(title, columns, mode, results, save)


@dataclass(frozen=True)
class Series:
    """One data set of a plot: ``style`` "line", "connected", "circle", "dot" or "bar"."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    style: str = "line"
    color: str = "#000000"
    width: float = 1.0


@dataclass(frozen=True)
class Plot:
    """A plot as data; Java draws it as an ``ij.gui.Plot``. ``limits`` (xmin, xmax, ymin, ymax),
    NaN for automatic."""

    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    legend: bool = True
    x_log: bool = False
    y_log: bool = False
    limits: tuple[float, float, float, float] | None = None
    save: str | None = None


@dataclass(frozen=True)
class OverlayObject:
    """One object of an :class:`Overlay`: the pixels of ``label``, drawn in ``color``
    ("#rrggbb") and named ``name`` (one ImageJ Roi per plane it occupies)."""

    label: int
    name: str
    color: str = "#ffff00"


@dataclass(frozen=True, eq=False)
class Overlay:
    """Objects drawn on an open image as elements of its ImageJ Overlay; its pixels never
    change.

    Attributes
    ----------
    image : str
        Title of the image to draw on (a source image of the request).
    name : str
        The group: Java replaces the elements an earlier overlay of this name added to that image
        and keeps every other element (the user's own).
    labels : ndarray of int or bool
        The objects, 0 = background, axes ``axes`` (a mask is the object 1). Its planes are the
        image's: (M, N) is drawn on every plane, (P, M, N) one plane per slice...
    axes : str
        Axes of ``labels``: a subsequence of "TZYX" ending in "YX".
    objects : tuple of OverlayObject
        The labels to draw, with their names and colours (other labels are not drawn).
    fill : float
        0: outlines; in (0, 1]: the objects filled with this opacity (a semi-transparent mask).
    """

    image: str
    name: str
    labels: np.ndarray
    axes: str = "YX"
    objects: tuple[OverlayObject, ...] = ()
    fill: float = 0.0


@dataclass(frozen=True)
class Request:
    """One run of a command: its macro options, dialog values and inputs.

    Attributes
    ----------
    command : str
        The command key (``"coefficients"``...).
    options : str or None
        The raw macro options; None when run from the menu.
    values : mapping
        Every dialog field's value by macro key (image fields: the chosen title).
    images : mapping of str to ImageData
        The image of every image field (and of a mask field set to an image title), by key.
    masks : mapping of str to tuple of RoiMask
        For a mask field set to ``<Selection>``: the selection (empty when there is none).
    """

    command: str
    options: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    images: Mapping[str, ImageData] = field(default_factory=dict)
    masks: Mapping[str, tuple[RoiMask, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """What a command gives back: tables, images and plots to show, overlays to draw on open
    images, log lines, a status line."""

    tables: tuple[Table, ...] = ()
    images: tuple[ImageData, ...] = ()
    plots: tuple[Plot, ...] = ()
    overlays: tuple[Overlay, ...] = ()
    log: tuple[str, ...] = ()
    status: str | None = None


def refuse_existing_saves(saves: Iterable[str | None]) -> None:
    """Refuse files a command would save (``save`` of its outputs; None: not saved) that
    exist already (a save folder of an earlier run, an input): no command writes over one.
    The protocol checks every response; a command checks its saves before its work, too."""
    taken = [path for path in saves if path is not None and Path(path).exists()]
    if taken:
        folder = Path(taken[0]).parent
        names = ", ".join(repr(Path(p).name) for p in taken[:3])
        more = f" and {len(taken) - 3} more" if len(taken) > 3 else ""
        raise ValueError(
            f"the save folder [{folder}] already has {names}{more}, which this run would "
            f"replace: choose another or an empty folder (or delete those files first)"
        )


@dataclass(frozen=True)
class Progress:
    """Progress reporting and cooperative cancellation for a running handler.

    ``progress(message, current, maximum)`` reports (ImageJ's status line and progress bar) and
    raises :class:`Cancelled` when the user asked to stop; so does ``progress.check()``.
    """

    update: Callable[[str, int, int], None] = lambda message, current, maximum: None
    cancelled: Callable[[], bool] = lambda: False

    def __call__(self, message: str, current: int = 0, maximum: int = 0) -> None:
        self.check()
        self.update(message, current, maximum)

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled
