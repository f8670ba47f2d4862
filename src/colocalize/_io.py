"""Reading and writing microscopy TIFF files with their calibration: :class:`Image`.

:func:`read_image` reads ImageJ hyperstacks, OME-TIFF and plain (grey, RGB or palette) TIFF files
with tifffile and returns an :class:`Image`: the pixel array in the canonical axis order
``T, C, Z, Y, X`` (axes that are absent are left out), the spacing of every axis, the spatial unit
and the channel names. :func:`write_image` writes an array or an :class:`Image` as an
ImageJ-compatible TIFF hyperstack that ImageJ/Fiji opens with the same calibration.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._image import _UNCALIBRATED, CANONICAL_AXES, Image, normalize_unit

__all__ = ["Image", "read_image", "write_image"]

_RGB_NAMES = ("red", "green", "blue", "alpha")

# Length of one unit in metres, to express OME sizes given in different units in one unit.
_UNIT_METRES = {"nm": 1e-9, "um": 1e-6, "mm": 1e-3, "cm": 1e-2, "m": 1.0, "inch": 0.0254}
_OME_UNITS = {"Å": 1e-10, "pm": 1e-12, "nm": 1e-9, "µm": 1e-6, "mm": 1e-3, "cm": 1e-2, "m": 1.0}
_TIME_SECONDS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "ms": 1e-3,
    "msec": 1e-3,
    "µs": 1e-6,
    "us": 1e-6,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_MAX_FLOAT32_INTEGER = 2**24  # every integer up to this magnitude is exact in float32
# read_image refuses files whose pixels need more than this fraction of the available memory
# (the rest is left to the system and to the caller's first computation).
MEMORY_FRACTION = 0.9


# ----------------------------------------------------------------------------------- reading


def read_image(path: str | os.PathLike[str], *, series: int = 0) -> Image:
    """Read a TIFF file (ImageJ hyperstack, OME-TIFF, plain, RGB or palette) as an :class:`Image`.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    series : int, optional
        Which image series of a multi-series file (OME-TIFF with several images) to read.

    Returns
    -------
    Image
        The pixels in canonical ``TCZYX`` order (absent axes left out), with calibration and
        channel names.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the file is not a TIFF, is truncated or damaged (its metadata or its pixels cannot
        be decoded), needs the missing ``imagecodecs`` package (LZW, JPEG...), declares more
        pixels than fit in memory, or has a layout colocalize does not support (complex pixels,
        axes other than time, channel, z, y, x, or an ambiguous extra dimension).

    Notes
    -----
    Layout rules:

    - ImageJ hyperstacks and OME-TIFF: the axes stored in the file, transposed to ``TCZYX``.
      Axes of size 1 are dropped (a one-channel file has no ``C`` axis).
    - RGB(A) files (photometric RGB): the samples become a ``C`` axis named ``"red"``,
      ``"green"``, ``"blue"`` (``"alpha"``). Other multi-sample pixels become ``C`` with names
      ``"C0"``...
    - Palette (indexed-colour) files: the raw stored values, not the colours of the lookup table.
    - A plain multi-page TIFF (no ImageJ or OME axes) is read as a z-stack, ``"ZYX"``; a 2-D one
      as ``"YX"``. Use :class:`Image` with your own ``axes`` to reinterpret a stack as channels or
      time points (e.g. ``Image(img.data, axes="CYX")``).

    Calibration: ImageJ's pixel width/height from the TIFF resolution tags, its ``unit``,
    ``spacing`` (z) and ``finterval`` (t); OME's ``PhysicalSizeX/Y/Z`` with their units (default
    µm; sizes in different units are converted to the unit of X) and ``TimeIncrement``; plain
    TIFF resolution tags in centimetres or inches (72 dots per inch, the usual default, and a
    resolution without unit count as uncalibrated, as in ImageJ). Units are normalised
    (``"µm"``, ``"micron"`` -> ``"um"``); an uncalibrated image has spacing 1.0 and unit
    ``"pixel"``. The frame interval is converted to
    seconds. Channel names: OME ``Channel Name``; for ImageJ hyperstacks the slice labels of the
    first plane of each channel, when they are present and distinct.

    Memory: the size of the pixels is computed from the file's header before anything is
    allocated; a file whose pixels need more than ``MEMORY_FRACTION`` (90 %) of the memory
    available (Linux: ``MemAvailable`` in ``/proc/meminfo``, elsewhere the free pages from
    :func:`os.sysconf`; see :func:`available_memory`) is refused. Read a region of such a file
    with ``tifffile.memmap`` or ``tifffile.imread(..., aszarr=True)``.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "stack.tif")
    >>> write_image(path, np.ones((3, 4, 5), np.uint16), axes="CYX",
    ...             spacing=(1.0, 0.1, 0.1), unit="um", channel_names=["a", "b", "c"])
    >>> img = read_image(path)
    >>> img.axes, img.spacing, img.unit, img.channel_names
    ('CYX', (1.0, 0.1, 0.1), 'um', ('a', 'b', 'c'))
    """
    return _read(path, series=series)[0]


def read_image_and_interval(
    path: str | os.PathLike[str], *, series: int = 0
) -> tuple[Image, float]:
    """:func:`read_image`, and the frame interval the file declares, in seconds: 0.0 when it
    declares none or the image has no ``T`` axis (ImageJ's "not set"), whereas the image's
    ``T`` spacing is 1.0 for both a 1 s interval and none."""
    image, calibration = _read(path, series=series)
    if "T" not in image.axes or "t" not in calibration:
        return image, 0.0
    return image, image.spacing[image.axes.index("T")]


def _read(path: str | os.PathLike[str], *, series: int) -> tuple[Image, dict[str, Any]]:
    """:func:`read_image`, and the calibration the file declares (:func:`_calibration`)."""
    import tifffile

    file = Path(os.fspath(path))
    if not file.exists():
        raise FileNotFoundError(f"read_image: no such file: '{file}'")
    if file.is_dir():
        raise ValueError(f"read_image: '{file}' is a directory, not an image file.")
    with _tifffile_messages() as messages:
        try:
            tif = tifffile.TiffFile(file)
        except (
            tifffile.TiffFileError,
            ValueError,
            OSError,
            IndexError,
            KeyError,
            struct.error,  # a file that ends inside the TIFF header
        ) as exc:
            raise ValueError(
                f"read_image: cannot read '{file}' as a TIFF file: {_describe_content(file)} "
                f"({exc}). Convert it to TIFF (e.g. File > Save As > Tiff in ImageJ/Fiji)."
            ) from exc
        with tif:
            try:
                all_series = tif.series
            except Exception as exc:  # tifffile raises KeyError, IndexError... on bad metadata
                kind = "OME-XML" if tif.is_ome else "TIFF"
                raise ValueError(
                    f"read_image: '{file}' has damaged {kind} metadata "
                    f"({type(exc).__name__}: {exc}); re-export it from the original "
                    f"(e.g. File > Save As > Tiff in ImageJ/Fiji)."
                ) from exc
            n_series = len(all_series)
            if not -n_series <= series < n_series:
                raise ValueError(
                    f"read_image: series={series} is out of range: '{file}' has {n_series} "
                    f"image series (0 to {n_series - 1})."
                )
            ser = all_series[series]
            page = ser.keyframe
            _check_memory(file, ser.shape, ser.dtype)
            try:
                data = ser.asarray()
            except MemoryError as exc:
                raise ValueError(
                    f"read_image: not enough memory to read '{file}' "
                    f"({_gib(_nbytes(ser.shape, ser.dtype))} for shape {tuple(ser.shape)} "
                    f"{ser.dtype}); close other programs or read it in parts with tifffile."
                ) from exc
            except Exception as exc:  # codecs raise their own types (imagecodecs.DeflateError...)
                if "imagecodecs" in str(exc):
                    codec = tifffile.COMPRESSION(page.compression).name
                    raise ValueError(
                        f"read_image: '{file}' is compressed with {codec}, which "
                        f"needs the imagecodecs package: pip install imagecodecs "
                        f"(or pip install colocalize[io])."
                    ) from exc
                raise ValueError(
                    f"read_image: cannot decode the pixels of '{file}': "
                    f"{_damage(file, messages, tif)} ({type(exc).__name__}: {exc}). "
                    f"Copy or export the file again from the original."
                ) from exc
            damage = _damage(file, messages)
            if damage is not None:  # tifffile read what it could; the numbers would be wrong
                raise ValueError(
                    f"read_image: cannot read '{file}' completely: {damage}. Copy or export the "
                    f"file again from the original."
                )
            # tifffile's squeezed shape can confuse a 1-pixel-wide Y or X with a dropped axis;
            # take the full shape and drop axes of size 1 ourselves.
            axes = ser.get_axes(False)
            data = data.reshape(ser.get_shape(False))
            rgb = page.photometric == tifffile.PHOTOMETRIC.RGB
            calibration = _calibration(tif, page, series)
    messages.replay()
    image = _build_image(data, axes, rgb=rgb, calibration=calibration, file=file)
    return image, calibration


class _TifffileMessages:
    """tifffile's log messages during one read, held back so that a failed read prints only
    our one-line error; :meth:`replay` passes them on after a successful read."""

    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.records.append(record)
        return False

    def replay(self) -> None:
        logger = logging.getLogger("tifffile")
        for record in self.records:
            logger.handle(record)
        self.records.clear()


@contextlib.contextmanager
def _tifffile_messages() -> Iterator[_TifffileMessages]:
    logger = logging.getLogger("tifffile")
    messages = _TifffileMessages()
    logger.addFilter(messages)
    try:
        yield messages
    finally:
        logger.removeFilter(messages)


def _nbytes(shape: Sequence[int], dtype: Any) -> int:
    return math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def available_memory() -> int | None:
    """Bytes of memory available for new allocations, or None when the system does not say.

    Linux: ``MemAvailable`` from ``/proc/meminfo`` (free memory plus reclaimable caches);
    elsewhere the free physical pages from :func:`os.sysconf`, when it offers them.
    """
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _check_memory(file: Path, shape: Sequence[int], dtype: Any) -> None:
    """Refuse, before allocating, pixels that need more than MEMORY_FRACTION of free memory."""
    needed = _nbytes(shape, dtype)
    available = available_memory()
    if available is not None and needed > MEMORY_FRACTION * available:
        raise ValueError(
            f"read_image: '{file}' declares {tuple(int(n) for n in shape)} {np.dtype(dtype)} "
            f"pixels ({_gib(needed)}), more than {MEMORY_FRACTION:.0%} of the {_gib(available)} of "
            f"memory available; read a part of it with tifffile (tifffile.memmap, or imread "
            f"with aszarr=True), or free memory."
        )


def _damage(file: Path, messages: _TifffileMessages, tif: Any = None) -> str | None:
    """Why a file cannot be trusted, or None: it refers to bytes beyond its end (truncated), a
    page or tag offset is invalid, or tifffile zeroed planes its metadata declare. With ``tif``
    (after a failed read) the data of every page are checked too, and tifffile's first
    complaint is the fallback."""
    size = file.stat().st_size
    end = 0
    texts = [re.sub(r"^<[^>]*> ", "", r.getMessage()) for r in messages.records]  # drop reprs
    broken = []  # a broken chain of pages or tags: "invalid page offset 24800"
    for text in texts:
        for match in re.finditer(r"invalid (?:page|value) offset (\d+)", text):
            end = max(end, int(match.group(1)))
            broken.append(match.group(0))
    if tif is not None:
        with contextlib.suppress(Exception):  # walking the pages of a damaged file may fail
            for page in tif.pages:
                pairs = zip(page.dataoffsets, page.databytecounts, strict=False)
                end = max([end, *(offset + count for offset, count in pairs)])
    if end > size:
        return f"the file is truncated: it has {size} bytes, but refers to byte {end}"
    if broken:  # a tag's value runs past the end, or points into garbage
        return f"the file is truncated or damaged ({broken[0]})"
    zeroed = [t for t in texts if "missing data are zeroed" in t.lower()]
    if zeroed:
        return f"planes its metadata declare are missing ({zeroed[0]})"
    if tif is not None:
        return f"the file is damaged ({texts[0]})" if texts else "the file is damaged"
    return None


def _describe_content(file: Path) -> str:
    """Say what a non-TIFF file looks like, from its first bytes."""
    with file.open("rb") as handle:
        head = handle.read(16)
    if not head:
        return "the file is empty"
    signatures = {
        b"\x89PNG": "a PNG image",
        b"\xff\xd8\xff": "a JPEG image",
        b"GIF8": "a GIF image",
        b"BM": "a BMP image",
        b"%PDF": "a PDF document",
        b"PK\x03\x04": "a ZIP archive (a .zarr/.czi export?)",
        b"\x93NUMPY": "a NumPy .npy file (use np.load)",
        b"\x89HDF": "an HDF5 file",
        b"ZISRAWFILE": "a Zeiss CZI file",
    }
    for magic, what in signatures.items():
        if head.startswith(magic):
            return f"it looks like {what}"
    return f"it starts with {head[:8]!r}, not a TIFF header (b'II*\\x00' or b'MM\\x00*')"


def _build_image(
    data: np.ndarray, axes: str, *, rgb: bool, calibration: dict[str, Any], file: Path
) -> Image:
    if data.dtype.kind not in "buif":
        raise ValueError(
            f"read_image: '{file}' holds {data.dtype} pixels, which colocalize does not "
            f"support (only integer or real-valued images); convert it in ImageJ/Fiji first."
        )
    found = f"axes {axes!r} with shape {data.shape}"
    letters = list(axes)
    # Drop axes of size 1 that are not Y or X.
    keep = [i for i, a in enumerate(letters) if data.shape[i] > 1 or a in "YX"]
    if len(keep) != data.ndim:
        data = data.reshape([data.shape[i] for i in keep])
        letters = [letters[i] for i in keep]
    channel_names: tuple[str, ...] = calibration.get("channel_names", ())
    if "S" in letters:
        if "C" in letters:
            raise ValueError(
                f"read_image: '{file}' has both channels and samples per pixel ({found}); "
                f"colocalize supports one of them. Split the channels in ImageJ/Fiji first."
            )
        n_s = data.shape[letters.index("S")]
        letters[letters.index("S")] = "C"
        if rgb and n_s <= len(_RGB_NAMES):
            channel_names = _RGB_NAMES[:n_s]
    unknown = [a for a in letters if a in "IQ"]
    if unknown:
        if len(unknown) > 1 or "Z" in letters:
            raise ValueError(
                f"read_image: '{file}' has an image sequence whose meaning is not stored "
                f"({found}); save it as an ImageJ hyperstack or OME-TIFF with its axes."
            )
        letters[letters.index(unknown[0])] = "Z"
    bad = [a for a in letters if a not in CANONICAL_AXES]
    if bad or len(set(letters)) != len(letters) or not {"Y", "X"} <= set(letters):
        raise ValueError(
            f"read_image: '{file}' has a layout colocalize does not support ({found}); "
            f"supported axes are time T, channel C, z Z, y Y and x X (at most 5 dimensions)."
        )
    order = sorted(range(len(letters)), key=lambda i: CANONICAL_AXES.index(letters[i]))
    data = np.transpose(data, order)
    canonical = "".join(letters[i] for i in order)
    spacing = []
    for letter in canonical:
        if letter == "C":
            spacing.append(1.0)
        else:
            spacing.append(float(calibration.get(letter.lower(), 1.0)))
    n_c = data.shape[canonical.index("C")] if "C" in canonical else 0
    if len(channel_names) != n_c:
        channel_names = ()
    return Image(
        data,
        axes=canonical,
        spacing=tuple(spacing),
        unit=calibration.get("unit", _UNCALIBRATED),
        channel_names=tuple(channel_names),
        name=file.stem.removesuffix(".ome"),
    )


def _calibration(tif: Any, page: Any, series: int) -> dict[str, Any]:
    """Collect spacing ("t", "z", "y", "x"), "unit" and "channel_names" from the metadata."""
    if tif.is_ome:
        cal = _ome_calibration(tif.ome_metadata, series)
        if cal:
            return cal
    if tif.is_imagej:
        return _imagej_calibration(tif.imagej_metadata or {}, page)
    return _tiff_calibration(page)


def _resolution(page: Any) -> tuple[float, float] | None:
    """Pixels per resolution unit along x and y, or None when not stored."""
    tags = page.tags
    if "XResolution" not in tags:
        return None
    x = _rational(tags["XResolution"].value)
    y = _rational(tags["YResolution"].value) if "YResolution" in tags else x
    if not (x > 0 and y > 0 and math.isfinite(x) and math.isfinite(y)):
        return None
    return x, y


def _rational(value: Any) -> float:
    if isinstance(value, tuple):
        num, den = value
        return num / den if den else math.nan
    return float(value)


def _tiff_calibration(page: Any) -> dict[str, Any]:
    """Plain TIFF: the resolution tags, in centimetres or inches (72 dpi means uncalibrated)."""
    res = _resolution(page)
    unit_code = int(page.tags["ResolutionUnit"].value) if "ResolutionUnit" in page.tags else 2
    if res is None or unit_code not in (2, 3):
        return {}
    xres, yres = res
    if unit_code == 2 and xres == 72 and yres == 72:
        return {}
    return {"x": 1.0 / xres, "y": 1.0 / yres, "unit": "inch" if unit_code == 2 else "cm"}


def _imagej_calibration(meta: dict[str, Any], page: Any) -> dict[str, Any]:
    """ImageJ: unit from the description, pixel size from the resolution tags."""
    raw_unit = meta.get("unit")
    if not raw_unit:
        cal = _tiff_calibration(page)
    else:
        unit = normalize_unit(_unescape(str(raw_unit)))
        cal = {}
        if unit != _UNCALIBRATED:
            cal["unit"] = unit
            res = _resolution(page)
            if res is not None:
                cal["x"], cal["y"] = 1.0 / res[0], 1.0 / res[1]
            if _positive(meta.get("spacing")):
                cal["z"] = float(meta["spacing"])
    if _positive(meta.get("finterval")):
        scale = _TIME_SECONDS.get(_unescape(str(meta.get("tunit", "sec"))).lower(), 1.0)
        cal["t"] = float(meta["finterval"]) * scale
    n_c = int(meta.get("channels", 1))
    labels = meta.get("Labels")
    if n_c > 1 and isinstance(labels, list) and len(labels) >= n_c:
        # ImageJ stores planes channel-fastest, so the first n_c labels are those of (t0, z0).
        names = [str(label).split("\n")[0].strip() for label in labels[:n_c]]
        if all(names) and len(set(names)) == n_c:
            cal["channel_names"] = tuple(names)
    return cal


def _unescape(text: str) -> str:
    """Decode ImageJ's \\uXXXX escapes (it writes "µm" as "\\u00B5m")."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _positive(value: Any) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0


def _ome_calibration(xml: str | None, series: int) -> dict[str, Any]:
    """OME-XML: PhysicalSizeX/Y/Z with units, TimeIncrement and channel names of one Image."""
    if not xml:
        return {}
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    images = [el for el in root if el.tag.rsplit("}", 1)[-1] == "Image"]
    if not -len(images) <= series < len(images):
        return {}
    pixels = next((el for el in images[series] if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return {}
    cal: dict[str, Any] = {}
    sizes: dict[str, tuple[float, float]] = {}  # axis -> (value, metres per unit)
    for axis in "XYZ":
        value = pixels.get(f"PhysicalSize{axis}")
        unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")
        metres = _OME_UNITS.get(unit.replace("μ", "µ"))
        if _positive(value) and metres is not None:
            sizes[axis] = (float(value), metres)  # type: ignore[arg-type]
    if "X" in sizes:
        # Express every spatial size in the unit of X.
        x_metres = sizes["X"][1]
        unit_name = next((name for name, m in _UNIT_METRES.items() if m == x_metres), None)
        if unit_name is None:  # Å or pm: express in nm
            unit_name, x_metres = "nm", 1e-9
        for axis, (size, metres) in sizes.items():
            cal[axis.lower()] = size if metres == x_metres else size * metres / x_metres
        cal["unit"] = unit_name
    increment = pixels.get("TimeIncrement")
    if _positive(increment):
        scale = _TIME_SECONDS.get(pixels.get("TimeIncrementUnit", "s"), 1.0)
        cal["t"] = float(increment) * scale  # type: ignore[arg-type]
    channels = [el for el in pixels if el.tag.rsplit("}", 1)[-1] == "Channel"]
    names = [ch.get("Name", "").strip() for ch in channels]
    if names and all(names) and len(set(names)) == len(names):
        cal["channel_names"] = tuple(names)
    # Report "found OME" even when it carries no calibration, so ImageJ rules do not apply.
    cal.setdefault("unit", _UNCALIBRATED)
    return cal


def read_mask_file(path: str | os.PathLike[str], *, what: str) -> np.ndarray:
    """The pixels of a mask or label image file with its length-1 axes dropped.

    The one reader of mask and label files for the command line and batch; ``what`` names the
    file in the error for a single-pixel image.
    """
    data = np.squeeze(np.asarray(read_image(path).data))
    if data.ndim == 0:
        raise ValueError(f"{what} {path} holds a single pixel; pass a mask or label image.")
    return data


# ----------------------------------------------------------------------------------- writing


def write_image(
    path: str | os.PathLike[str],
    image: Image | np.ndarray,
    *,
    axes: str | None = None,
    spacing: Sequence[float] | None = None,
    unit: str | None = None,
    channel_names: Sequence[str] | None = None,
) -> None:
    """Write an image, mask or label image as an ImageJ-compatible TIFF with its calibration.

    Parameters
    ----------
    path : str or path-like
        The file to write (overwritten if it exists).
    image : Image or ndarray
        The pixels. An :class:`Image` brings its axes, spacing, unit and channel names; the
        keyword arguments below replace them.
    axes : str, optional
        The axes of an array, letters of ``"TCZYX"`` in that order ending in ``"YX"``. Default:
        ``"YX"`` for 2-D and ``"ZYX"`` for 3-D arrays; required for 4-D and 5-D arrays.
    spacing : sequence of float, optional
        One value per axis (as :attr:`Image.spacing`), or one per spatial axis (z, y, x or y, x).
        Default: 1.0.
    unit : str, optional
        The spatial unit, e.g. ``"um"``. Default: the image's, or ``"pixel"`` (uncalibrated).
    channel_names : sequence of str, optional
        One name per channel; stored as ImageJ slice labels.

    Notes
    -----
    ImageJ stores only 8-bit, 16-bit and 32-bit float pixels, so data are converted:

    - ``bool`` masks -> ``uint8`` with 0 and 255 (ImageJ's binary-mask convention; read back, a
      mask is ``image > 0``).
    - ``uint8``, ``uint16``, ``float32``: unchanged.
    - other integers (``int64`` labels...): ``uint16`` when all values lie in 0..65535, otherwise
      ``float32``, which holds every integer up to 2**24 = 16,777,216 exactly; larger magnitudes
      raise ``ValueError`` rather than be rounded.
    - ``float64`` (and ``float16``): ``float32``, rounding each value to 24 significant bits
      (relative error at most 6e-8); values beyond the float32 range raise ``ValueError``.

    The file is a TZCYX hyperstack: pixel width and height go to the TIFF resolution tags, the
    unit, z spacing and frame interval (``finterval``, seconds) to ImageJ's description, and
    channel names to the slice labels. Axes of size 1 other than Y and X are dropped when the
    file is read back (ImageJ does not tell a single z plane from none).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "mask.tif")
    >>> write_image(path, np.eye(4, dtype=bool), spacing=(0.5, 0.5), unit="um")
    >>> img = read_image(path)
    >>> img.data.dtype, int(img.data.max()), img.spacing
    (dtype('uint8'), 255, (0.5, 0.5))
    """
    import tifffile

    if isinstance(image, Image):
        if axes is not None and axes != image.axes:
            raise ValueError(
                f"write_image: axes={axes!r} differs from the Image's axes {image.axes!r}; "
                f"leave axes out, or pass image.data to reinterpret the array."
            )
        data = image.data
        axes = image.axes
        full_spacing = image.spacing if spacing is None else None
        unit = image.unit if unit is None else unit
        if channel_names is None:
            channel_names = image.channel_names
    else:
        data = np.asarray(image)
        full_spacing = None
        if axes is None:
            if data.ndim not in (2, 3):
                raise ValueError(
                    f"write_image: pass axes for a {data.ndim}-D array (shape {data.shape}), "
                    f"e.g. axes='CZYX' or 'TCZYX'; only 2-D ('YX') and 3-D ('ZYX') arrays have "
                    f"a default."
                )
            axes = "ZYX"[3 - data.ndim :]
    if full_spacing is None:
        full_spacing = _full_spacing(axes, spacing, data.ndim)
    img = Image(
        data,
        axes=axes,
        spacing=full_spacing,
        unit=_UNCALIBRATED if unit is None else unit,
        channel_names=tuple(channel_names or ()),
    )
    pixels = imagej_pixels(img.data)
    sizes = dict(zip(img.axes, img.spacing, strict=True))
    # ImageJ hyperstacks are TZCYX: swap C and Z from our TCZYX order.
    ij_axes = "".join(a for a in "TZCYX" if a in img.axes)
    pixels = np.transpose(pixels, [img.axes.index(a) for a in ij_axes])
    # Pass all six ImageJ dimensions so that tifffile does not squeeze Y or X of size 1.
    full_shape = [pixels.shape[ij_axes.index(a)] if a in ij_axes else 1 for a in "TZCYX"]
    pixels = pixels.reshape([*full_shape, 1])
    metadata: dict[str, Any] = {"axes": "TZCYXS"}
    if img.calibrated:
        metadata["unit"] = img.unit
        if "Z" in sizes:
            metadata["spacing"] = sizes["Z"]
    if "T" in sizes:
        metadata["finterval"] = sizes["T"]
    if "C" in img.axes:
        n_planes = int(np.prod(full_shape[:3]))
        n_c = img.n_channels
        metadata["Labels"] = [img.channel_names[i % n_c] for i in range(n_planes)]
    finite = pixels[np.isfinite(pixels)] if pixels.dtype == np.float32 else pixels[:0]
    if finite.size:  # ImageJ's display range for 32-bit images
        metadata["min"] = float(finite.min())
        metadata["max"] = float(finite.max())
    x = sizes["X"] if img.calibrated else 1.0
    y = sizes["Y"] if img.calibrated else 1.0
    tifffile.imwrite(
        os.fspath(path),
        pixels,
        imagej=True,
        resolution=(1.0 / x, 1.0 / y),
        metadata=metadata,
    )


def _full_spacing(axes: str, spacing: Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    values = tuple(float(s) for s in spacing)
    if len(values) == len(axes):
        return values
    spatial = [a for a in axes if a in "ZYX"]
    if len(values) != len(spatial):
        raise ValueError(
            f"write_image: spacing {values} must have one value per axis of {axes!r} "
            f"({len(axes)} values) or per spatial axis ({len(spatial)} values)."
        )
    per_axis = dict(zip(spatial, values, strict=True))
    return tuple(per_axis.get(a, 1.0) for a in axes)


def imagej_pixels(data: np.ndarray, *, name: str = "write_image") -> np.ndarray:
    """``data`` in a pixel type ImageJ stores: uint8, uint16 or float32.

    bool becomes 0/255 uint8; uint8, uint16 and float32 are unchanged; other integers become
    uint16 when they fit, else float32 (exact up to 2**24, beyond which this raises); other
    floats become float32 (values outside its range raise). Used by :func:`write_image` and by
    the ImageJ bridge, so files and ImageJ windows hold the same pixels.
    """
    if data.dtype == bool:
        return data.astype(np.uint8) * np.uint8(255)
    if data.dtype in (np.uint8, np.uint16, np.float32):
        return data
    if data.dtype.kind in "ui":
        if data.size == 0:
            return data.astype(np.uint16)
        low, high = int(data.min()), int(data.max())
        if low >= 0 and high <= np.iinfo(np.uint16).max:
            return data.astype(np.uint16)
        if max(abs(low), abs(high)) > _MAX_FLOAT32_INTEGER:
            raise ValueError(
                f"{name}: integer values range over {low}..{high}; ImageJ stores them as "
                f"float32, exact only up to +-{_MAX_FLOAT32_INTEGER}. Relabel (e.g. "
                f"skimage.segmentation.relabel_sequential) or rescale first."
            )
        return data.astype(np.float32)
    if data.dtype.kind != "f":
        raise TypeError(
            f"{name}: dtype {data.dtype} cannot be stored by ImageJ; pass a boolean, integer "
            f"or float array."
        )
    finite = data[np.isfinite(data)]
    if finite.size and np.abs(finite).max() > np.finfo(np.float32).max:
        raise ValueError(
            f"{name}: values up to {np.abs(finite).max():g} exceed the float32 range "
            f"(+-{np.finfo(np.float32).max:g}) ImageJ stores; rescale first."
        )
    return data.astype(np.float32)
