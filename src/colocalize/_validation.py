"""Input checks shared by every public function, and colocalize's warning class.

Every check raises ``ValueError`` (or ``TypeError``) with a message that names the argument, the
value seen and the fix; none of them modifies its input.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ColocalizeWarning",
    "as_image",
    "as_mask",
    "axis_of",
    "channel_index",
    "check_same_shape",
    "warn_degenerate",
]


class ColocalizeWarning(UserWarning):
    """Degenerate but legal input: the affected result fields are NaN.

    Raised (as a warning, never an exception) for a constant channel, an empty mask or object,
    nothing above a threshold, or a fit that did not converge. Filter it like any warning::

        import warnings
        warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
    """


def warn_degenerate(message: str, *, stacklevel: int = 3) -> None:
    """Emit a :class:`ColocalizeWarning`."""
    warnings.warn(message, ColocalizeWarning, stacklevel=stacklevel)


def as_image(
    image: object,
    *,
    name: str,
    allow_negative: bool = True,
    min_ndim: int = 1,
) -> np.ndarray:
    """Return ``image`` as a numeric ndarray (no copy when it already is one).

    A :class:`colocalize.Image` (anything with ``data`` and ``axes``) with one channel gives
    its pixels, without its ``C`` axis; one with several channels is refused, naming the fix.

    Raises
    ------
    TypeError
        When ``image`` is not numeric (boolean images are accepted as 0/1).
    ValueError
        When it has NaN or infinite values, too few dimensions, negative values where
        ``allow_negative`` is False, or several channels.
    """
    arr = _one_channel_pixels(image, name) if is_image(image) else np.asarray(image)
    if arr.dtype == bool:
        arr = arr.view(np.uint8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(
            f"{name} must be a real-valued image (integer or float), got dtype {arr.dtype}; "
            f"convert it with np.asarray({name}, dtype=float) or pass a single channel."
        )
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass an image with pixels.")
    if np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(arr)
        if not finite.all():
            n_bad = int(arr.size - np.count_nonzero(finite))
            raise ValueError(
                f"{name} has {n_bad} NaN or infinite value(s); replace them (for example with "
                f"np.nan_to_num) or exclude them with a mask of finite pixels before computing."
            )
    if not allow_negative and arr.dtype.kind in "if":
        low = arr.min()
        if low < 0:
            raise ValueError(
                f"{name} has negative intensities (minimum {low!r}); this coefficient needs "
                f"non-negative intensities: subtract the background offset so the minimum is >= 0."
            )
    return arr


def is_image(image: object) -> bool:
    """True for a :class:`colocalize.Image` (or an object with its ``data`` and ``axes``)."""
    return hasattr(image, "axes") and hasattr(image, "data")


def _one_channel_pixels(image: object, name: str) -> np.ndarray:
    """The pixels of a one-channel ``Image`` without its ``C`` axis (a view)."""
    axes = str(image.axes)  # type: ignore[attr-defined]
    data = np.asarray(image.data)  # type: ignore[attr-defined]
    if "C" not in axes:
        return data
    c = axes.index("C")
    if data.shape[c] != 1:
        raise ValueError(
            f"{name} has {data.shape[c]} channels (axes {axes!r}); pass one channel per image, "
            f"e.g. {name}.channel(0), or the whole image to a function that takes several "
            f"channels, such as coefficient_table"
        )
    return np.take(data, 0, axis=c)


def check_same_shape(arrays: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Raise ``ValueError`` unless all arrays have the same shape."""
    first = arrays[0].shape
    for arr, nm in zip(arrays[1:], names[1:]):
        if arr.shape != first:
            raise ValueError(
                f"{nm} has shape {arr.shape} but {names[0]} has shape {first}; "
                f"the images must cover the same pixels (crop or resample one of them)."
            )


def as_mask(mask: object, shape: tuple[int, ...], *, name: str = "mask") -> np.ndarray:
    """Return ``mask`` as a boolean array of ``shape`` (non-zero is inside).

    A mask with the shape of the image's last axes (for example a 2D ``(M, N)`` mask for a
    ``(P, M, N)`` stack) applies to every plane, as in Coloc 2.
    """
    arr = np.asarray(mask)
    if arr.dtype != bool:
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise TypeError(f"{name} must be boolean or numeric, got dtype {arr.dtype}.")
        arr = arr != 0
    if arr.shape == shape:
        return arr
    if arr.ndim < len(shape) and arr.shape == shape[len(shape) - arr.ndim :]:
        return np.broadcast_to(arr, shape)
    planes = (
        f" (or of its last {len(shape) - 1} axes, {shape[1:]}, to use it on every plane)"
        if len(shape) > 2
        else ""
    )
    raise ValueError(
        f"{name} has shape {arr.shape} but the image has shape {shape}; pass a mask of the "
        f"image's shape{planes}."
    )


def channel_index(key: object, n: int, names: Sequence[str] = (), *, name: str) -> int:
    """The index (0..n-1) of the channel ``key``: a name, or an index (negative from the end).

    Strings are looked up as names first, then read as an index (``"1"``, ``"-1"``), so a
    channel may be named ``"1"``. The one place that resolves channel keys for the Python API,
    the command line and batch manifests.
    """
    index: int | None = None
    if isinstance(key, str):
        if key in names:
            return list(names).index(key)
        try:
            index = int(key)
        except ValueError:
            index = None
    elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        index = int(key)
    else:
        raise TypeError(f"{name} must be a channel name or index, got {key!r}.")
    if index is not None and -n <= index < n:
        return index % n
    choices = f" or one of the names {list(names)}" if names else ""
    raise ValueError(
        f"{name}={key!r} is not a channel of the image: use an index from {-n} to {n - 1}{choices}."
    )


def axis_of(axes: str, letter: str, given: int | None, *, name: str) -> int:
    """``given``, else the position of ``letter`` (``"C"``, ``"T"``...) in an Image's ``axes``.

    Raises a ValueError naming the argument ``name`` to pass when ``axes`` has no such letter.
    """
    if given is not None:
        return given
    if letter not in axes:
        kind = {"C": "channel", "T": "time", "Z": "z"}.get(letter, letter)
        raise ValueError(f"the image has axes {axes!r} with no {kind} axis {letter}; pass {name}.")
    return axes.index(letter)


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number (not a bool, string or array)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def at_least(values: np.ndarray, t: float, *, strict: bool = False) -> np.ndarray:
    """``values >= t`` (or ``> t``), exact for every dtype (no rounding of 64-bit integers)."""
    if values.dtype.kind in "iu" and math.isfinite(t):
        # for integers, x >= t <=> x >= ceil(t) and x > t <=> x >= floor(t) + 1
        bound = math.floor(t) + 1 if strict else math.ceil(t)
        info = np.iinfo(values.dtype)
        if bound <= info.min:
            return np.ones(values.shape, dtype=bool)
        if bound > info.max:
            return np.zeros(values.shape, dtype=bool)
        return values >= values.dtype.type(bound)
    wide = values.astype(np.float64, copy=False)
    return wide > np.float64(t) if strict else wide >= np.float64(t)
