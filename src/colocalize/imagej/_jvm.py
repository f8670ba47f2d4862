"""Finding ImageJ 1.x and starting the JVM in this process (JPype).

The JVM always gets ``ij.jar`` and colocalize's shim jar (``plugins/Colocalize_Bridge.jar``) on its
class path, because a JVM's class path is fixed when it starts and there is one JVM per process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["bridge_jar", "display_available", "find_ij_jar", "is_headless", "start_jvm"]

_DEBIAN_IJ_JAR = Path("/usr/share/java/ij.jar")
_PACKAGE_DIR = Path(__file__).resolve().parent
BRIDGE_JAR_NAME = "Colocalize_Bridge.jar"


def bridge_jar() -> Path:
    """The shim jar shipped in this package (built from ``plugin/`` by ``plugin/build.py``)."""
    return _PACKAGE_DIR / "plugins" / BRIDGE_JAR_NAME


def display_available() -> bool:
    """True when AWT windows can be opened (always on Windows and macOS; ``DISPLAY`` on X11)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def find_ij_jar(ij_dir: Path | None = None) -> Path | None:
    """Return the path of an ImageJ 1.x ``ij.jar``, or None when there is none.

    Looked up in order: ``ij_dir`` (an ImageJ or Fiji.app folder: ``ij.jar`` or ``jars/ij-*.jar``),
    the ``COLOCALIZE_IJ_JAR`` environment variable, Debian's ``libij-java`` package
    (``/usr/share/java/ij.jar``).
    """
    if ij_dir is not None:
        candidates = [ij_dir / "ij.jar", *sorted((ij_dir / "jars").glob("ij-*.jar"))]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(
            f"no ij.jar in {ij_dir} (looked for ij.jar and jars/ij-*.jar); pass an ImageJ or "
            f"Fiji.app folder."
        )
    env = os.environ.get("COLOCALIZE_IJ_JAR")
    if env:
        path = Path(env)
        if not path.is_file():
            raise FileNotFoundError(
                f"COLOCALIZE_IJ_JAR is {env!r}, which is not a file; point it at an ij.jar "
                f"or unset it."
            )
        return path
    if _DEBIAN_IJ_JAR.is_file():
        return _DEBIAN_IJ_JAR
    return None


def start_jvm(
    *,
    classpath: list[Path] | None = None,
    headless: bool | None = None,
    ij_dir: Path | None = None,
    max_heap: str = "4g",
) -> None:
    """Start a JVM in this process with ``ij.jar``, the shim jar and ``classpath``.

    Parameters
    ----------
    classpath : list of Path, optional
        More jars.
    headless : bool, optional
        Start AWT headless; by default headless exactly when no display is available.
    ij_dir : Path, optional
        An ImageJ or Fiji.app folder: its ij.jar, ``jars/*.jar`` and ``plugins/`` are used
        (``-Dplugins.dir``). Without it, Debian's or ``COLOCALIZE_IJ_JAR``'s ij.jar with this
        package's ``plugins/`` folder.

    A running JVM (started by PyImageJ, Fiji's Python mode or an earlier call) is reused as it is.
    """
    import jpype

    if jpype.isJVMStarted():
        return
    ij_jar = find_ij_jar(ij_dir)
    if ij_jar is None:
        raise RuntimeError(
            "no ImageJ found: install Debian's libij-java (apt-get install libij-java), set "
            "COLOCALIZE_IJ_JAR to an ij.jar, or pass the folder of an ImageJ or Fiji.app"
        )
    jars = [str(ij_jar), str(bridge_jar())]
    if ij_dir is not None:
        jars += [str(p) for p in sorted((ij_dir / "jars").glob("**/*.jar")) if p != ij_jar]
    jars += [str(p) for p in classpath or []]
    if headless is None:
        headless = not display_available()
    plugins_dir = ij_dir if ij_dir is not None else _PACKAGE_DIR
    jpype.startJVM(
        f"-Djava.awt.headless={'true' if headless else 'false'}",
        f"-Dplugins.dir={plugins_dir}",
        f"-Xmx{max_heap}",
        classpath=jars,
        convertStrings=False,
    )


def is_headless() -> bool:
    """True when the running JVM has no display (``GraphicsEnvironment.isHeadless()``)."""
    import jpype

    return bool(jpype.JClass("java.awt.GraphicsEnvironment").isHeadless())


def bridge_class(name: str) -> Any:
    """A class of the shim (``Registry``, ``Dispatch``, ...), from the class path or ImageJ's
    plugin class loader (the jar only in Fiji.app/plugins)."""
    import jpype

    qualified = f"colocalize.bridge.{name}"
    try:
        return jpype.JClass(qualified)
    except TypeError:
        loader = jpype.JClass("ij.IJ").getClassLoader()
        try:
            return jpype.JClass(qualified, loader=loader)
        except TypeError:
            raise RuntimeError(
                f"the colocalize shim ({BRIDGE_JAR_NAME}) is not loaded in this ImageJ; install "
                f"it with 'colocalize install-fiji /path/to/Fiji.app' and restart Fiji."
            ) from None
