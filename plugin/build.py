"""Build the ImageJ shim jar shipped in the Python package (colocalize/imagej/plugins/).

Usage: python plugin/build.py [--out JAR] [--ij-jar PATH]

Compiles plugin/src with ``javac --release 8`` against ImageJ 1.x's ij.jar and writes a jar with
plugins.config, the classes and the Fiji Python-mode scripts (under ``colocalize-scripts/``, where
Fiji's script scanner does not look; ``colocalize install-fiji`` copies them out). The manifest
records a SHA-256 of the sources (``Colocalize-Source-SHA256``), which the test suite compares with
plugin/ to catch a stale jar whatever the javac version.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PLUGIN = Path(__file__).resolve().parent
DEFAULT_OUT = PLUGIN.parent / "src" / "colocalize" / "imagej" / "plugins" / "Colocalize_Bridge.jar"
DEFAULT_IJ_JAR = Path("/usr/share/java/ij.jar")
SCRIPTS_PREFIX = "colocalize-scripts/"
HASH_ATTRIBUTE = "Colocalize-Source-SHA256"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def source_files() -> list[Path]:
    """The files the jar is built from, sorted: Java sources, plugins.config and scripts."""
    files = [*PLUGIN.glob("src/**/*.java"), PLUGIN / "plugins.config"]
    files += [
        p for p in PLUGIN.glob("scripts/**/*") if p.is_file() and "__pycache__" not in p.parts
    ]
    return sorted(files, key=lambda p: p.relative_to(PLUGIN).as_posix())


def source_hash() -> str:
    """SHA-256 over the relative paths and bytes of :func:`source_files`."""
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.relative_to(PLUGIN).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def _write(jar: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    jar.writestr(info, data)


def build(out: Path = DEFAULT_OUT, *, ij_jar: Path = DEFAULT_IJ_JAR) -> Path:
    """Compile and package the shim into ``out``; returns ``out``."""
    javac = shutil.which("javac")
    if javac is None:
        raise RuntimeError("javac not found: install a JDK (apt-get install default-jdk-headless)")
    if not ij_jar.is_file():
        raise FileNotFoundError(f"ij.jar not found at {ij_jar}: apt-get install libij-java")
    with tempfile.TemporaryDirectory() as tmp:
        classes = Path(tmp)
        sources = [str(p) for p in source_files() if p.suffix == ".java"]
        subprocess.run(
            [
                javac,
                "--release",
                "8",
                "-nowarn",
                "-encoding",
                "UTF-8",
                "-cp",
                str(ij_jar),
                "-d",
                str(classes),
                *sources,
            ],
            check=True,
        )
        manifest = (
            "Manifest-Version: 1.0\r\n"
            "Created-By: colocalize plugin/build.py\r\n"
            f"{HASH_ATTRIBUTE}: {source_hash()}\r\n\r\n"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as jar:
            _write(jar, "META-INF/MANIFEST.MF", manifest.encode())
            _write(jar, "plugins.config", (PLUGIN / "plugins.config").read_bytes())
            for path in sorted(classes.rglob("*.class")):
                _write(jar, path.relative_to(classes).as_posix(), path.read_bytes())
            for path in source_files():
                rel = path.relative_to(PLUGIN).as_posix()
                if rel.startswith("scripts/"):
                    _write(jar, SCRIPTS_PREFIX + rel[len("scripts/") :], path.read_bytes())
    return out


def jar_source_hash(jar_path: Path) -> str | None:
    """The source hash recorded in a built jar's manifest (None when absent)."""
    with zipfile.ZipFile(jar_path) as jar:
        for line in jar.read("META-INF/MANIFEST.MF").decode().splitlines():
            key, _, value = line.partition(":")
            if key == HASH_ATTRIBUTE:
                return value.strip()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--ij-jar", type=Path, default=DEFAULT_IJ_JAR)
    args = parser.parse_args(argv)
    print(build(args.out, ij_jar=args.ij_jar))
    return 0


if __name__ == "__main__":
    sys.exit(main())
