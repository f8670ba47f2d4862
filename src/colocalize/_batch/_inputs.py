"""Batch inputs: file patterns with metadata fields, CSV manifests and manual threshold CSVs."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ImageEntry", "find_images", "parse_pattern", "read_manifest", "read_manual"]

# Column names of the coefficient table that metadata fields may not take.
RESERVED = frozenset(
    {"path", "label", "channel0", "channel1", "channel2", "threshold_source", "warnings"}
)
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ImageEntry:
    """One input image: absolute path, path relative to the root, metadata, mask, labels."""

    path: Path
    relpath: str
    metadata: tuple[tuple[str, str], ...]
    mask: Path | None = None
    labels: Path | None = None


def parse_pattern(pattern: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """Compile a path pattern such as ``"{organelle}/{time}min/series{series}/*.tif"``.

    ``{name}`` captures one metadata field (any characters except ``/``, as few as possible);
    ``*`` matches within one folder or file name, ``**/`` any number of folders, ``?`` one
    character. The pattern must match the whole path relative to the root, with ``/``
    separators.

    Examples
    --------
    >>> regex, fields = parse_pattern("{organelle}/{time}min/series{series}/*.tif")
    >>> fields
    ('organelle', 'time', 'series')
    >>> regex.fullmatch("golgi/30min/series2/a.tif").groupdict()
    {'organelle': 'golgi', 'time': '30', 'series': '2'}
    """
    if not pattern or pattern.startswith("/"):
        raise ValueError(
            f"pattern must be a path relative to the root, such as "
            f"'{{organelle}}/{{time}}min/series{{series}}/*.tif', got {pattern!r}"
        )
    fields: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _FIELD.finditer(pattern):
        out.append(_glob(pattern[pos : match.start()]))
        name = match.group(1)
        if name in fields:
            raise ValueError(f"pattern {pattern!r} names the field {name!r} twice")
        if name in RESERVED:
            raise ValueError(
                f"pattern field {{{name}}} clashes with a column of the results "
                f"({sorted(RESERVED)}); rename it"
            )
        fields.append(name)
        out.append(f"(?P<{name}>[^/]+?)")
        pos = match.end()
    out.append(_glob(pattern[pos:]))
    if "{" in _FIELD.sub("", pattern) or "}" in _FIELD.sub("", pattern):
        raise ValueError(f"pattern {pattern!r} has a malformed field; write fields as {{name}}")
    return re.compile("".join(out)), tuple(fields)


def _glob(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        if text.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif text[i] == "*":
            out.append("[^/]*")
            i += 1
        elif text[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(text[i]))
            i += 1
    return "".join(out)


def find_images(root: str | Path, pattern: str) -> list[ImageEntry]:
    """Every file under ``root`` whose relative path matches ``pattern``, sorted by path."""
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"root folder {str(base)!r} does not exist or is not a folder")
    regex, fields = parse_pattern(pattern)
    entries = []
    for file in sorted(base.rglob("*")):
        rel = file.relative_to(base).as_posix()
        match = regex.fullmatch(rel)
        if match and file.is_file() and not _hidden(rel):
            meta = tuple((f, match.group(f)) for f in fields)
            entries.append(ImageEntry(file.resolve(), rel, meta))
    if not entries:
        raise ValueError(
            f"no file under {str(base)!r} matches the pattern {pattern!r}; patterns are "
            f"relative to the root, e.g. '{{condition}}/*.tif'"
        )
    return entries


def _hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def read_manifest(path: str | Path, root: str | Path | None = None) -> list[ImageEntry]:
    """Images listed in a CSV manifest.

    Columns: ``path`` (required; relative to ``root``, or to the manifest's folder when
    ``root`` is None, unless absolute), optional ``mask`` and ``labels`` (image files, same
    rule), and any other column as a metadata field.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"manifest {str(file)!r} does not exist")
    base = Path(root) if root is not None else file.parent
    with open(file, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        if "path" not in header:
            raise ValueError(
                f"manifest {str(file)!r} needs a 'path' column (found {header}); other "
                f"columns become metadata fields, 'mask' and 'labels' name per-image files"
            )
        fields = [h for h in header if h not in ("path", "mask", "labels")]
        clash = sorted(set(fields) & RESERVED)
        if clash:
            raise ValueError(f"manifest columns {clash} clash with result columns; rename them")
        entries = []
        for line, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            if not row.get("path"):
                raise ValueError(f"{file}:{line}: empty path")
            target = _resolve(base, row["path"])
            rel = _relative(target, base)
            entries.append(
                ImageEntry(
                    target,
                    rel,
                    tuple((f, row.get(f, "")) for f in fields),
                    _resolve(base, row["mask"]) if row.get("mask") else None,
                    _resolve(base, row["labels"]) if row.get("labels") else None,
                )
            )
    if not entries:
        raise ValueError(f"manifest {str(file)!r} lists no images")
    return entries


def _resolve(base: Path, text: str) -> Path:
    p = Path(text)
    return (p if p.is_absolute() else base / p).resolve()


def _relative(target: Path, base: Path) -> str:
    try:
        return target.relative_to(base.resolve()).as_posix()
    except ValueError:
        return target.as_posix()


def read_manual(
    path: str | Path, entries: list[ImageEntry], root: str | Path | None = None
) -> dict[str, dict[str, tuple[float, str]]]:
    """Manual thresholds per image: ``{relpath: {channel: (threshold, "file:line")}}``.

    The CSV has a header with ``image``, ``channel`` and either ``threshold`` or ``low`` and
    ``high`` (an expert's acceptable range; its midpoint is used), the format of
    ``colocalize threshold-model``. ``image`` is a path relative to the CSV's folder (or to the
    batch root) or absolute, or a file name when that is unique in the batch; ``channel`` is a
    channel name or a 0-based index. Images without rows have no manual thresholds. A row
    with ``low > high`` and a second row for one image and channel are errors naming the line.
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"thresholds CSV {str(file)!r} does not exist")
    by_path = {e.path: e.relpath for e in entries}
    names: dict[str, list[str]] = {}
    for e in entries:
        names.setdefault(e.path.name, []).append(e.relpath)
    bases = [file.parent] + ([Path(root)] if root is not None else [])
    out: dict[str, dict[str, tuple[float, str]]] = {}
    with open(file, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().lower() for h in reader.fieldnames or []]
        ranged = "low" in header and "high" in header
        if (
            "image" not in header
            or "channel" not in header
            or not ("threshold" in header or ranged)
        ):
            raise ValueError(
                f"thresholds CSV {str(file)!r} needs columns image, channel and threshold "
                f"(or low and high), found {reader.fieldnames}"
            )
        for line, raw in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            rel = _match_image(row["image"], bases, by_path, names)
            if rel is None:
                continue  # thresholds for images outside this batch are ignored
            where = f"{file}:{line}"
            value = _row_threshold(row, where)
            seen = out.setdefault(rel, {})
            if row["channel"] in seen:
                raise ValueError(
                    f"{where}: a second threshold for image {row['image']!r}, channel "
                    f"{row['channel']!r} (the first is at line "
                    f"{seen[row['channel']][1].rsplit(':', 1)[1]}); keep one row per image "
                    f"and channel"
                )
            seen[row["channel"]] = (value, where)
    return out


def _row_threshold(row: dict[str, str], where: str) -> float:
    """The threshold of a manual row: ``threshold``, or the midpoint of ``low`` and ``high``."""
    try:
        if row.get("threshold", "") != "":
            low = high = float(row["threshold"])
        else:
            low, high = float(row["low"]), float(row["high"])
    except (KeyError, ValueError):
        raise ValueError(
            f"{where}: the threshold must be a number (or low and high numbers), got {row}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{where}: the threshold must be finite, got {row}")
    if low > high:
        raise ValueError(
            f"{where}: low {low:g} is above high {high:g}; the range of acceptable thresholds "
            f"needs low <= high"
        )
    return low if low == high else 0.5 * (low + high)


def _match_image(
    text: str, bases: list[Path], by_path: dict[Path, str], names: dict[str, list[str]]
) -> str | None:
    for base in bases:
        candidate = _resolve(base, text)
        if candidate in by_path:
            return by_path[candidate]
    found = names.get(Path(text).name, [])
    if "/" not in text and "\\" not in text and len(found) == 1:
        return found[0]
    return None
