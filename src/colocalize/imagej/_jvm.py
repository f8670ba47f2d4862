"""Finding ImageJ 1.x and starting the JVM in this process (JPype)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["find_ij_jar", "start_jvm"]

_DEBIAN_IJ_JAR = Path("/usr/share/java/ij.jar")


def find_ij_jar() -> Path | None:
    """Return the path of an ImageJ 1.x ``ij.jar``, or None when there is none.

    Looked up in order: the ``COLOCALIZE_IJ_JAR`` environment variable, Debian's ``libij-java``
    package (``/usr/share/java/ij.jar``).
    """
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


def start_jvm(*, classpath: list[Path] | None = None, headless: bool = True) -> None:
    """Start a JVM in this process with ``ij.jar`` (and ``classpath``), unless one runs already.

    A running JVM (started by PyImageJ, Fiji's Python mode or an earlier call) is reused as it is.
    """
    import jpype

    if jpype.isJVMStarted():
        return
    ij_jar = find_ij_jar()
    if ij_jar is None:
        raise RuntimeError(
            "no ImageJ found: install Debian's libij-java (apt-get install libij-java) or set "
            "COLOCALIZE_IJ_JAR to an ij.jar"
        )
    jars = [str(ij_jar), *(str(p) for p in classpath or [])]
    jpype.startJVM(
        f"-Djava.awt.headless={'true' if headless else 'false'}",
        "-Xmx4g",
        classpath=jars,
        convertStrings=False,
    )
