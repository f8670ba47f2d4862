"""File > Import > colocalize TIFF...: open a TIFF with colocalize's reader (:func:`read_image`).

ImageJ 1.x opens ImageJ TIFFs and plain TIFFs itself, but not BigTIFF (such as the OME BigTIFF
of the neuron-4Ch sample, ``colocalize.data.sample_path("neuron_4ch")``) and it ignores OME
metadata. This command reads the file as colocalize does and shows it as a hyperstack with
the file's calibration (pixel sizes, unit, frame interval) and channel names (the slice labels,
which ImageJ shows in the window's subtitle); several channels open as a composite image
coloured as ImageJ colours a composite (red, green, blue, gray, cyan, magenta, yellow), each
channel's display range set to its minimum and maximum. Registered by importing this module
(``_catalog`` does).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np

from colocalize.imagej._contract import ImageData, Progress, Request, Response
from colocalize.imagej._spec import command, string

# CompositeImage's default channel colours in ImageJ 1.x
_COMPOSITE_COLORS = ("#ff0000", "#00ff00", "#0000ff", "#ffffff", "#00ffff", "#ff00ff", "#ffff00")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # TIFF and BigTIFF


def _checked_file(text: str) -> Path:
    """The file to open, or a ValueError in ImageJ's terms (no Python exception text)."""
    if not text.strip():
        raise ValueError("open= is empty; choose a TIFF file (open=[/path/to/image.tif])")
    path = Path(text).expanduser()
    if not path.exists():
        raise ValueError(f"File not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; choose a TIFF file in it")
    try:
        with path.open("rb") as file:
            head = file.read(4)
    except OSError as exc:
        raise ValueError(f"Cannot read {path}: {exc.strerror or 'permission denied'}") from None
    if head not in _TIFF_MAGIC:
        raise ValueError(
            f"{path.name} is not a TIFF file; colocalize TIFF opens TIFF, OME-TIFF and BigTIFF "
            f"files (use File > Open for other formats)"
        )
    return path


def _in_imagej_terms(message: str, path: Path) -> str:
    """A reader error without what only Python users read: read_image's name, the Python
    exception quoted in parentheses, series numbers (the command reads the first series)."""
    if "has 0 image series" in message or "as a TIFF file" in message:
        # the file starts like a TIFF (checked before reading), so its structure is broken
        return (
            f"its TIFF structure is damaged or cut short ({path.stat().st_size} bytes); copy "
            f"or export the file again from the original"
        )
    message = message.removeprefix("read_image: ")
    return re.sub(r" \((?:\w+\.)*\w*(?:Error|Exception)\b[^)]*\)", "", message)


@command("import_tiff", "colocalize TIFF...", string("Open", kind="file"))
def import_tiff_command(request: Request, progress: Progress) -> Response:
    """Open a TIFF, OME-TIFF or BigTIFF file with colocalize's reader, as a hyperstack."""
    from colocalize._io import read_image_and_interval

    path = _checked_file(request.values["open"])
    progress(f"colocalize TIFF: reading {path.name}...")
    try:
        image, frame_interval = read_image_and_interval(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot open {path.name}: {_in_imagej_terms(str(exc), path)}") from None
    image = dataclasses.replace(image, name=path.name)
    n_channels = image.n_channels
    luts: tuple[dict[str, object], ...] = ()
    ranges: tuple[tuple[float, float], ...] = ()
    if n_channels > 1:
        luts = tuple(
            {"color": _COMPOSITE_COLORS[c % len(_COMPOSITE_COLORS)], "inverted": False}
            for c in range(n_channels)
        )
        ranges = tuple(_display_range(image.channel(c)) for c in range(n_channels))
    return Response(images=(ImageData(image, frame_interval, luts, ranges),))


def _display_range(channel: np.ndarray) -> tuple[float, float]:
    """ImageJ's default display range of a channel: its minimum and maximum (0-255 for 8-bit)."""
    if channel.dtype == np.uint8:
        return 0.0, 255.0
    finite = channel[np.isfinite(channel)] if channel.dtype.kind == "f" else channel
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())
