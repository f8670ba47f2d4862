"""Fiji integration: installing the shim (and the Python it runs) into a Fiji.app or ImageJ
folder, Fiji's Python mode, and the ``colocalize doctor`` report."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from colocalize.imagej._jvm import BRIDGE_JAR_NAME, bridge_jar, display_available, find_ij_jar

__all__ = ["doctor", "install_fiji", "run_in_python_mode"]

SCRIPTS_PREFIX = "colocalize-scripts/"


PYTHON_FILE = "colocalize-python.txt"


def install_fiji(fiji_dir: str | os.PathLike[str]) -> list[Path]:
    """Install colocalize's ImageJ commands into a Fiji.app or plain ImageJ folder.

    Copies the shim jar into ``plugins/`` (created when a plain ImageJ folder has none), records
    this Python (``sys.executable``) in ``plugins/colocalize-python.txt`` (the shim starts its
    worker with it when ImageJ runs without Python inside) and copies the Fiji Python-mode
    scripts into ``scripts/``. A new folder (for ImageJ's ``-ijpath``) is created when its parent
    exists. Returns the files written; each is written atomically, and only colocalize's own
    files are replaced (an earlier install's).
    """
    from colocalize._output import write_atomic

    root = Path(fiji_dir).expanduser()
    if not root.exists() and root.parent.is_dir():
        root.mkdir()
    if not root.is_dir():
        raise FileNotFoundError(
            f"{str(root)!r} is not a Fiji.app or ImageJ folder (no such folder, and no folder "
            f"{str(root.parent)!r} to create it in); pass the folder that contains Fiji's "
            f"plugins/ folder, or the -ijpath folder of a plain ImageJ."
        )
    written = []
    plugins = root / "plugins"
    plugins.mkdir(exist_ok=True)
    target = plugins / BRIDGE_JAR_NAME
    write_atomic(target, bridge_jar().read_bytes())
    written.append(target)
    python = plugins / PYTHON_FILE
    write_atomic(python, sys.executable + "\n")
    written.append(python)
    with zipfile.ZipFile(bridge_jar()) as jar:
        for name in jar.namelist():
            if name.startswith(SCRIPTS_PREFIX) and not name.endswith("/"):
                path = root / "scripts" / name[len(SCRIPTS_PREFIX) :]
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, jar.read(name))
                written.append(path)
    return written


def run_in_python_mode(key: str) -> None:
    """Entry point of the Fiji Python-mode scripts: register the in-process endpoint in this
    Fiji (once) and run command ``key`` through the shim with the current macro options."""
    from colocalize.imagej._jvm import bridge_class
    from colocalize.imagej._registry import register_all

    if bridge_class("Registry").endpoint() is None:
        register_all()
    bridge_class("Dispatch")().run(key)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _java_version() -> str | None:
    java = shutil.which("java")
    if java is None:
        home = os.environ.get("JAVA_HOME")
        candidate = Path(home, "bin", "java") if home else None
        if candidate is None or not candidate.is_file():
            return None
        java = str(candidate)
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    first = (out.stderr or out.stdout).strip().splitlines()
    return f"{first[0]} ({java})" if first else java


def doctor(fiji: str | os.PathLike[str] | None = None) -> list[tuple[str, bool, str]]:
    """Check what the ImageJ bridge needs; returns ``(item, ok, detail)`` rows.

    Looks at Java, JPype, ImageJ 1.x (ij.jar), the shim jar, a display, PyImageJ/scyjava and,
    when ``fiji`` is given, that Fiji.app and whether the shim is installed in it. Starts no JVM.
    """
    from colocalize.imagej._start import is_fiji

    rows: list[tuple[str, bool, str]] = []
    java = _java_version()
    rows.append(
        ("Java", java is not None, java or "not found: install a JDK/JRE 8+ or set JAVA_HOME")
    )
    jpype_version = _version("jpype1")
    rows.append(
        ("JPype", jpype_version is not None, jpype_version or "not installed: pip install jpype1")
    )
    try:
        ij_jar = find_ij_jar()
    except FileNotFoundError as exc:
        rows.append(("ImageJ 1.x (ij.jar)", False, str(exc)))
    else:
        rows.append(
            (
                "ImageJ 1.x (ij.jar)",
                ij_jar is not None,
                str(ij_jar)
                if ij_jar
                else "not found: apt-get install libij-java, or set COLOCALIZE_IJ_JAR",
            )
        )
    jar = bridge_jar()
    rows.append(("colocalize shim jar", jar.is_file(), str(jar)))
    display = display_available()
    no_display = "none: GUI needs a display (or xvfb-run); macros run headless"
    rows.append(("display", display, "available" if display else no_display))
    pyimagej = _version("pyimagej")
    rows.append(
        (
            "PyImageJ",
            pyimagej is not None,
            f"{pyimagej} (scyjava {_version('scyjava')}); starting Fiji through it needs "
            f"network once (Maven) or a filled ~/.jgo cache"
            if pyimagej
            else "not installed: pip install pyimagej (only needed to start Fiji)",
        )
    )
    if fiji is not None:
        root = Path(fiji).expanduser()
        fiji_ok = root.is_dir() and is_fiji(root)
        rows.append(
            ("Fiji.app", fiji_ok, str(root) if fiji_ok else f"{root}: not a Fiji.app folder")
        )
        installed = root / "plugins" / BRIDGE_JAR_NAME
        if installed.is_file():
            same = installed.read_bytes() == jar.read_bytes()
            detail = (
                str(installed)
                if same
                else f"{installed} differs from this colocalize: run colocalize install-fiji {root}"
            )
            rows.append(("shim in Fiji.app", same, detail))
        else:
            rows.append(
                ("shim in Fiji.app", False, f"not installed: colocalize install-fiji {root}")
            )
        recorded = root / "plugins" / PYTHON_FILE
        python = recorded.read_text(encoding="utf-8").strip() if recorded.is_file() else ""
        if python and Path(python).is_file():
            rows.append(("Python for the worker", True, f"{python} (from {recorded})"))
        else:
            problem = f"{python} does not exist" if python else f"no {recorded}"
            rows.append(
                (
                    "Python for the worker",
                    False,
                    f"{problem}: run 'python -m colocalize install-fiji {root}' with the Python "
                    f"that has colocalize",
                )
            )
    return rows
