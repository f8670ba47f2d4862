"""Starting ImageJ with colocalize's commands, and showing results in it."""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._image import Image
from colocalize.imagej._contract import ImageData, Response, Table
from colocalize.imagej._jvm import BRIDGE_JAR_NAME, bridge_jar, display_available, start_jvm

__all__ = ["Gateway", "is_fiji", "show", "start"]


@dataclass(frozen=True)
class Gateway:
    """A running ImageJ with colocalize's commands registered.

    Attributes
    ----------
    IJ : JClass
        ImageJ 1.x's ``ij.IJ`` (``gateway.IJ.runMacro(...)``, ``gateway.IJ.run(...)``).
    pyimagej : object or None
        The PyImageJ gateway (``imagej.init``) when Fiji was started through PyImageJ.
    headless : bool
        True when the JVM has no display.
    version : str
        ImageJ 1.x's version (``IJ.getFullVersion()``).
    commands : tuple of str
        The registered command keys.
    """

    IJ: Any
    pyimagej: Any
    headless: bool
    version: str
    commands: tuple[str, ...]


def is_fiji(path: Path) -> bool:
    """True when ``path`` looks like a Fiji.app folder (``jars/imagej-legacy-*.jar``)."""
    return any((path / "jars").glob("imagej-legacy-*.jar"))


def _start_pyimagej(fiji: Path, mode: str) -> Any:
    """Fiji through PyImageJ; the shim must be in ``Fiji.app/plugins`` (install-fiji)."""
    import imagej
    import scyjava

    # "auto", not "never": pyimagej 1.8.0 crashes in _guess_java_version with fetch="never"
    scyjava.config.set_java_constraints(fetch="auto")
    if not (fiji / "plugins" / BRIDGE_JAR_NAME).is_file():
        warnings.warn(
            f"colocalize's shim is not installed in {fiji}: its commands run from Python and "
            f"macros but are missing from Fiji's menus; run 'colocalize install-fiji {fiji}'",
            RuntimeWarning,
            stacklevel=3,
        )
        scyjava.config.add_classpath(str(bridge_jar()))
    return imagej.init(str(fiji), mode=mode)


def start(
    fiji: str | os.PathLike[str] | None = None,
    *,
    mode: str | None = None,
    gui: bool = False,
) -> Gateway:
    """Bring up ImageJ in this process and register colocalize's commands.

    Parameters
    ----------
    fiji : path, optional
        A Fiji.app folder (started through PyImageJ, ``imagej.init(fiji, mode=mode)``, when
        PyImageJ is installed) or an ImageJ 1.x folder with ``ij.jar`` (started through JPype).
        Default: Debian's ``/usr/share/java/ij.jar`` or ``$COLOCALIZE_IJ_JAR``, through JPype.
    mode : {"headless", "interactive", "gui"}, optional
        PyImageJ's mode; by default "interactive" with a display, else "headless". For plain
        ImageJ 1.x, "headless" forces a headless JVM.
    gui : bool
        Open the ImageJ main window (plain ImageJ 1.x) or show Fiji's UI.

    Returns
    -------
    Gateway

    An already running JVM (PyImageJ, Fiji's Python mode, an earlier call) is reused.

    Examples
    --------
    >>> import colocalize.imagej
    >>> gateway = colocalize.imagej.start()  # doctest: +SKIP
    >>> gateway.IJ.runMacro('run("Coloc Coefficients...", "image_1=A image_2=B")')  # doctest: +SKIP
    """
    import jpype

    from colocalize.imagej._jvm import is_headless
    from colocalize.imagej._registry import register_all

    path = None if fiji is None else Path(fiji).expanduser()
    if path is not None and not path.is_dir():
        raise FileNotFoundError(
            f"fiji={str(path)!r} is not a folder; pass a Fiji.app or ImageJ folder"
        )
    if mode is None:
        mode = "interactive" if display_available() else "headless"
    if mode not in ("headless", "interactive", "gui"):
        raise ValueError(f"mode={mode!r} is not one of 'headless', 'interactive', 'gui'")
    pyimagej = None
    if path is not None and is_fiji(path) and not jpype.isJVMStarted() and _has_pyimagej():
        pyimagej = _start_pyimagej(path, mode)
    else:
        start_jvm(ij_dir=path, headless=True if mode == "headless" else None)
    keys = register_all()
    ij = jpype.JClass("ij.IJ")
    if gui:
        if pyimagej is not None:
            pyimagej.ui().showUI()
        elif ij.getInstance() is None:
            jpype.JClass("ij.ImageJ")()
    return Gateway(ij, pyimagej, is_headless(), str(ij.getFullVersion()), tuple(keys))


def _has_pyimagej() -> bool:
    try:
        import imagej  # noqa: F401
    except ImportError:
        return False
    return True


def _image_data(value: Image | np.ndarray, title: str) -> ImageData:
    if isinstance(value, Image):
        return ImageData(dataclasses.replace(value, name=title))
    data = np.asarray(value)
    axes = {2: "YX", 3: "ZYX", 4: "TZYX"}.get(data.ndim)
    if axes is None:
        raise ValueError(
            f"show() got an array of shape {data.shape}; wrap it in a colocalize.Image with its "
            f"axes (letters of 'TCZYX') to show it"
        )
    return ImageData(Image(data, axes=axes, name=title))


def show(result: Any, *, title: str | None = None) -> list[Any]:
    """Put a colocalize result into the running ImageJ; returns the ResultsTable/ImagePlus objects.

    The shim's ``Display`` shows it, the same code that shows the commands' outputs.

    Parameters
    ----------
    result : Image, ndarray, DataFrame or result dataclass
        An :class:`~colocalize.Image` or array becomes an image (with calibration); a DataFrame
        a table; a result dataclass (``Coefficients``, ``CrossCorrelation``...) a one-row table of
        its numbers plus an image per array field and a table per DataFrame field.
    title : str, optional
        The image or table title (default: the image name or the result's class name).
    """
    from colocalize.imagej._registry import display

    if isinstance(result, (Image, np.ndarray)):
        name = title or getattr(result, "name", "") or "colocalize image"
        return display(Response(images=(_image_data(result, name),)))
    if hasattr(result, "to_dict") and hasattr(result, "columns"):
        table = Table.from_rows(title or "colocalize results", result, mode="replace")
        return display(Response(tables=(table,)))
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        raise TypeError(
            f"show() takes an Image, an array, a DataFrame or a colocalize result dataclass, got "
            f"{type(result).__name__}"
        )
    name = title or type(result).__name__
    row: dict[str, Any] = {}
    tables: list[Table] = []
    images: list[ImageData] = []
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, (bool, int, float, str, np.generic)) or value is None:
            row[f.name] = value
        elif isinstance(value, (np.ndarray, Image)):
            images.append(_image_data(value, f"{name} {f.name}"))
        elif hasattr(value, "to_dict") and hasattr(value, "columns"):
            tables.append(Table.from_rows(f"{name} {f.name}", value, mode="replace"))
        elif hasattr(value, "to_dataframe"):
            frame = value.to_dataframe().reset_index()
            tables.append(Table.from_rows(f"{name} {f.name}", frame, mode="replace"))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            columns = _columns(value)
            if columns:
                tables.append(Table.from_rows(f"{name} {f.name}", columns, mode="replace"))
    tables.insert(0, Table.from_rows(name, row))
    return display(Response(tables=tuple(tables), images=tuple(images)))


def _columns(value: Any) -> list[dict[str, Any]]:
    """The 1-D array fields of equal length of a dataclass as table rows (e.g. a profile)."""
    arrays = {
        f.name: np.asarray(getattr(value, f.name))
        for f in dataclasses.fields(value)
        if isinstance(getattr(value, f.name), np.ndarray) and getattr(value, f.name).ndim == 1
    }
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) != 1:
        return []
    n = lengths.pop()
    return [{k: a[i].item() for k, a in arrays.items()} for i in range(n)]
