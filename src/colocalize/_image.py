"""The :class:`Image` type: pixels with their axes, calibration and channel names."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Image"]

CANONICAL_AXES = "TCZYX"
_UNCALIBRATED = "pixel"

# Spellings of a unit that mean the same thing; everything is compared lower-case.
_UNIT_ALIASES = {
    "um": "um",
    "µm": "um",  # micro sign U+00B5
    "μm": "um",  # Greek mu U+03BC
    "\\u00b5m": "um",  # ImageJ's escaped micro sign in TIFF descriptions
    "micron": "um",
    "microns": "um",
    "micrometer": "um",
    "micrometers": "um",
    "micrometre": "um",
    "micrometres": "um",
    "nm": "nm",
    "nanometer": "nm",
    "nanometers": "nm",
    "nanometre": "nm",
    "mm": "mm",
    "millimeter": "mm",
    "millimetre": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "centimetre": "cm",
    "m": "m",
    "meter": "m",
    "metre": "m",
    "inch": "inch",
    "inches": "inch",
    "pixel": _UNCALIBRATED,
    "pixels": _UNCALIBRATED,
    "": _UNCALIBRATED,
}


def normalize_unit(unit: str) -> str:
    """Return the canonical spelling of a spatial unit ("µm", "micron" -> "um")."""
    text = unit.strip()
    return _UNIT_ALIASES.get(text.lower(), text)


@dataclass(frozen=True, eq=False)
class Image:
    """A microscopy image with its axes, calibration and channel names.

    Parameters
    ----------
    data : ndarray
        The pixels, with one dimension per letter of ``axes``. Never copied or modified.
    axes : str
        One letter per dimension of ``data``, a subsequence of ``"TCZYX"`` in that order and
        always ending in ``"YX"``: ``"YX"``, ``"ZYX"``, ``"CYX"``, ``"CZYX"``, ``"TCZYX"``...
        (time, channel, z, y, x; colocalize's axis order is (t, z, y, x) with the channel axis
        after time). Readers transpose files to this order; RGB samples become a ``C`` axis.
    spacing : tuple of float, optional
        One positive value per axis: the pixel size in ``unit`` for ``Z``, ``Y`` and ``X``; the
        frame interval in seconds for ``T`` (1.0 when unknown); always 1.0 for ``C``.
        Default: 1.0 for every axis.
    unit : str, optional
        The spatial unit of the ``Z``, ``Y``, ``X`` spacing, normalised (``"um"`` for µm,
        micron...); ``"pixel"`` (the default) when the image is not calibrated.
    channel_names : tuple of str, optional
        One name per channel when there is a ``C`` axis (default ``"C0"``, ``"C1"``...); empty
        when there is none.
    name : str, optional
        A short name, such as the file name without its extension.

    Notes
    -----
    Two ``Image`` objects compare equal only when they are the same object (the array makes
    field-wise ``==`` ambiguous); compare ``data`` with ``np.array_equal`` and the other fields
    one by one.

    Examples
    --------
    >>> import numpy as np
    >>> img = Image(np.zeros((2, 5, 6), np.uint16), axes="CYX", spacing=(1.0, 0.2, 0.2),
    ...             unit="micron", channel_names=("GFP", "RFP"))
    >>> img.unit, img.n_channels, img.spatial_spacing
    ('um', 2, (0.2, 0.2))
    >>> img.channel("RFP").shape
    (5, 6)
    """

    data: np.ndarray
    axes: str
    spacing: tuple[float, ...] = ()
    unit: str = _UNCALIBRATED
    channel_names: tuple[str, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, np.ndarray):
            raise TypeError(
                f"Image data must be a numpy array, got {type(data).__name__}; "
                f"wrap it with np.asarray(data)."
            )
        if data.dtype != bool and data.dtype.kind not in "uif":
            raise TypeError(
                f"Image data must be boolean, integer or float, got dtype {data.dtype}; "
                f"convert it, e.g. with np.abs(data) for complex values."
            )
        axes = self.axes
        if not isinstance(axes, str) or len(axes) != data.ndim:
            raise ValueError(
                f"Image axes {axes!r} must have one letter per dimension of data, which has "
                f"shape {data.shape} ({data.ndim} dimensions)."
            )
        if not _is_canonical(axes):
            raise ValueError(
                f"Image axes {axes!r} must be letters of 'TCZYX' in that order, each at most "
                f"once, ending in 'YX' (e.g. 'YX', 'ZYX', 'CYX', 'TCZYX'); transpose the data "
                f"with np.moveaxis first."
            )
        spacing = self.spacing
        if len(spacing) == 0:
            spacing = (1.0,) * data.ndim
        spacing = tuple(float(s) for s in spacing)
        if len(spacing) != data.ndim:
            raise ValueError(
                f"Image spacing {spacing} must have one value per axis of {axes!r} "
                f"({data.ndim} values)."
            )
        for letter, value in zip(axes, spacing, strict=True):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"Image spacing of axis {letter} is {value}; it must be a positive, finite "
                    f"number (use 1.0 when unknown)."
                )
            if letter == "C" and value != 1.0:
                raise ValueError(f"Image spacing of the channel axis C is {value}; it must be 1.0.")
        if not isinstance(self.unit, str):
            raise TypeError(f"Image unit must be a string, got {self.unit!r}.")
        unit = normalize_unit(self.unit)
        n_c = data.shape[axes.index("C")] if "C" in axes else 0
        names = tuple(str(n) for n in self.channel_names)
        if n_c and not names:
            names = tuple(f"C{i}" for i in range(n_c))
        if len(names) != n_c:
            raise ValueError(
                f"Image channel_names {names} must have one name per channel: axes {axes!r} "
                f"with shape {data.shape} have {n_c} channel(s)."
            )
        object.__setattr__(self, "spacing", spacing)
        object.__setattr__(self, "unit", unit)
        object.__setattr__(self, "channel_names", names)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of :attr:`data`."""
        return tuple(self.data.shape)

    @property
    def n_channels(self) -> int:
        """The number of channels: the size of the ``C`` axis, 1 when there is none."""
        return self.data.shape[self.axes.index("C")] if "C" in self.axes else 1

    @property
    def spatial_axes(self) -> str:
        """The spatial axes, ``"ZYX"`` or ``"YX"``."""
        return "".join(a for a in self.axes if a in "ZYX")

    @property
    def spatial_spacing(self) -> tuple[float, ...]:
        """The pixel size along the spatial axes, (z, y, x) or (y, x), in :attr:`unit`."""
        return tuple(s for a, s in zip(self.axes, self.spacing, strict=True) if a in "ZYX")

    @property
    def calibrated(self) -> bool:
        """True when the spatial spacing has a physical unit (``unit != "pixel"``)."""
        return self.unit != _UNCALIBRATED

    def channel(self, index: int | str) -> np.ndarray:
        """Return one channel (by index or name) as an array over the other axes (a view).

        An image without a ``C`` axis has one channel, index 0.
        """
        if isinstance(index, str):
            if index not in self.channel_names:
                raise KeyError(
                    f"no channel named {index!r}; the channels are {list(self.channel_names)}."
                )
            index = self.channel_names.index(index)
        n = self.n_channels
        if not -n <= index < n:
            raise IndexError(
                f"channel index {index} is out of range for an image with {n} channel(s)."
            )
        if "C" not in self.axes:
            return self.data
        return np.take(self.data, index, axis=self.axes.index("C"))


def _is_canonical(axes: str) -> bool:
    if not axes.endswith("YX") or len(set(axes)) != len(axes):
        return False
    positions = [CANONICAL_AXES.find(a) for a in axes]
    return all(p >= 0 for p in positions) and positions == sorted(positions)
