"""The input layer: a user's image (an array or a :class:`colocalize.Image`) as channels.

Every entry point that takes an image (the coefficient table, CCC, translocation, object
measurements, the background model, the CLI, the batch worker and the ImageJ commands) turns it
into channels here, so an ``Image``'s axes, calibration and channel names
mean the same everywhere, and so do label images and pixel sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from colocalize._validation import axis_of, channel_index, is_image


@dataclass(frozen=True)
class Channels:
    """An image split into channels.

    Attributes
    ----------
    data : ndarray
        The pixels with the channel axis first, shape (C, ...); a view of the input.
    names : tuple of str
        One name per channel: the given names, an ``Image``'s channel names, or C0, C1...
    spacing : tuple of float or None
        An ``Image``'s spatial pixel sizes, (z, y, x) or (y, x); None for an array.
    unit : str or None
        An ``Image``'s spatial unit; None for an array.
    time_axis : int or None
        The time axis among one channel's axes (``data[c]``), or None.
    """

    data: np.ndarray
    names: tuple[str, ...]
    spacing: tuple[float, ...] | None
    unit: str | None
    time_axis: int | None


_ARGUMENT = {"C": "channel_axis", "T": "time_axis"}
_EXAMPLE = {"C": "channel_axis=0 for (C, M, N)", "T": "time_axis=0 for (T, M, N)"}


def as_channels(
    image: object,
    *,
    channel_axis: int | None = None,
    time_axis: int | None = None,
    channel_names: Sequence[str] | None = None,
    channels: Sequence[int | str] | None = None,
    require: str = "",
    min_channels: int = 1,
) -> Channels:
    """Split ``image`` into channels (see :class:`Channels`).

    For an ``Image`` the channel and time axes come from its ``C`` and ``T`` letters unless
    given; for an array they must be given, and an array without ``channel_axis`` is one
    channel. ``require`` lists the axes (``"C"``, ``"T"``) the caller cannot do without; axes
    are counted in the input's dimensions. ``channel_names`` name every channel of the input;
    ``channels`` keeps some of them, by index or name, in the order given (a copy of those
    channels; default: every channel, a view). ``min_channels`` counts the kept channels.
    """
    if is_image(image):
        axes = str(image.axes)  # type: ignore[attr-defined]
        data = np.asarray(image.data)  # type: ignore[attr-defined]
        if channel_axis is None and "C" not in axes and "C" in require:
            title = getattr(image, "name", "")
            raise ValueError(
                f"the image{f' {title!r}' if title else ''} has axes {axes!r} (shape "
                f"{data.shape}) and no channel axis C; colocalization needs at least two "
                f"channels: pass a multichannel image, or channel_axis= naming the axis that "
                f"holds the channels"
            )
        if channel_axis is None and "C" in axes:
            channel_axis = axis_of(axes, "C", None, name="channel_axis")
        if time_axis is None and ("T" in axes or "T" in require):
            time_axis = axis_of(axes, "T", None, name="time_axis")
        if channel_names is None and getattr(image, "channel_names", None):
            channel_names = list(image.channel_names)  # type: ignore[attr-defined]
        spacing: tuple[float, ...] | None = tuple(
            float(s)
            for a, s in zip(axes, image.spacing)  # type: ignore[attr-defined]
            if a in "ZYX"
        )
        unit: str | None = str(getattr(image, "unit", "pixel"))
    else:
        data = np.asarray(image)
        given = {"C": channel_axis, "T": time_axis}
        missing = [letter for letter in require if given[letter] is None]
        if missing:
            which = " and ".join(_ARGUMENT[letter] for letter in missing)
            examples = ", ".join(_EXAMPLE[letter] for letter in missing)
            raise ValueError(
                f"{which} {'is' if len(missing) == 1 else 'are'} required for an array image "
                f"(shape {data.shape}); pass the index of the axis, e.g. {examples}, or a "
                f"colocalize.Image whose axes name them"
            )
        spacing = unit = None
    c = None
    if channel_axis is not None:
        if not -data.ndim <= channel_axis < data.ndim:
            raise ValueError(f"channel_axis={channel_axis} is out of range for shape {data.shape}")
        c = channel_axis % data.ndim
    t = None
    if time_axis is not None:
        if not -data.ndim <= time_axis < data.ndim:
            raise ValueError(f"time_axis={time_axis} is out of range for shape {data.shape}")
        t = time_axis % data.ndim
        if t == c:
            raise ValueError(
                f"time_axis and channel_axis are the same axis ({t}); they must differ"
            )
        t -= c is not None and c < t  # among one channel's axes
    stacked = data[None] if c is None else np.moveaxis(data, c, 0)
    n = len(stacked)
    if channel_names is None:
        names = tuple(f"C{i}" for i in range(n))
    else:
        names = tuple(str(nm) for nm in channel_names)
        if len(names) != n:
            raise ValueError(
                f"channel_names has {len(names)} names for {n} channels; pass one name per channel"
            )
    if channels is not None:
        index = [channel_index(key, n, names, name="channels") for key in channels]
        if index != list(range(n)):
            stacked = stacked[index]
            names = tuple(names[i] for i in index)
    if len(stacked) < min_channels:
        kept = "" if channels is None else f" ({list(channels)} of {n})"
        raise ValueError(
            f"the image has {len(stacked)} channel(s){kept} along axis {channel_axis}; "
            f"need >= {min_channels}"
        )
    return Channels(stacked, names, spacing, unit, t)


def spacing_of(
    image: object, spacing: float | Sequence[float] | None
) -> float | Sequence[float] | None:
    """``spacing`` when given, else an ``Image``'s spatial pixel sizes (None for an array)."""
    if spacing is not None or not is_image(image):
        return spacing
    return as_channels(image).spacing


def resolve_spacing(spacing: float | Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    """Return one positive pixel size per axis (``None`` is 1.0 everywhere)."""
    if spacing is None:
        return (1.0,) * ndim
    raw = (spacing,) * ndim if np.isscalar(spacing) else tuple(spacing)  # type: ignore[arg-type]
    try:
        values = tuple(float(s) for s in raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        values = ()
    if len(values) != ndim or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(
            f"spacing must be {ndim} positive finite pixel sizes, one per spatial axis in "
            f"(z, y, x) order, or one positive number for all axes; got {spacing!r}. Pass e.g. "
            f"spacing={(1.0,) * ndim}."
        )
    return values


def as_labels(labels: object, name: str = "labels", *, min_ndim: int = 2) -> np.ndarray:
    """Return a non-negative integer label image (0 is background).

    The one label policy of every entry point: integer-valued floats (as ImageJ stores label
    images, and as TIFF files often hold them) are accepted as int64; any other dtype, or a
    fraction, is a TypeError; negative labels are a ValueError.
    """
    arr = np.asarray(labels)
    if arr.dtype == bool:
        arr = arr.astype(np.int32)
    if not np.issubdtype(arr.dtype, np.integer):
        fraction = None
        if np.issubdtype(arr.dtype, np.floating):
            # whole numbers that int64 holds exactly (float64 is exact up to 2**53)
            with np.errstate(invalid="ignore"):
                fraction = (np.mod(arr, 1) != 0) | ~(np.abs(arr) <= 2.0**53)
        if fraction is not None and not fraction.any():
            arr = arr.astype(np.int64)
        else:
            values = "" if fraction is None else f" and values such as {float(arr[fraction][0])}"
            raise TypeError(
                f"{name} must be an integer label image (0 = background), got dtype "
                f"{arr.dtype}{values}; label a mask with scipy.ndimage.label first."
            )
    if arr.ndim < min_ndim or arr.size == 0:
        raise ValueError(f"{name} must be a 2D or 3D label image, got shape {arr.shape}.")
    if arr.min() < 0:
        raise ValueError(
            f"{name} has negative values (minimum {arr.min()}); labels are 0 (background) or "
            f"positive object numbers: relabel it, e.g. with "
            f"skimage.segmentation.relabel_sequential."
        )
    return arr
