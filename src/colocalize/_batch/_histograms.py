"""Pooled bivariate histograms per condition of a finished batch (the seed paper's panels)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._batch._commit import OUTPUTS, check_outputs, read_json
from colocalize._batch._worker import CORRECTING, ImageTask, load_channels
from colocalize._histogram import BivariateHistogram

__all__ = ["PanelCell", "check_histogram_options", "condition_histograms", "read_batch_folder"]

MAX_BINS = 1024  # a 1024 x 1024 int64 histogram is 8 MiB per panel cell


@dataclass(frozen=True)
class PanelCell:
    """One panel of a batch figure: a channel pair, a condition, a threshold source."""

    channel0: str
    channel1: str
    condition: str
    threshold_source: str
    histogram: BivariateHistogram
    n_images: int


def check_histogram_options(nbins: Any, max_images: Any) -> None:
    """Refuse ``nbins`` outside 2..MAX_BINS and ``max_images`` below 1 (before any work)."""
    if (
        isinstance(nbins, bool)
        or not isinstance(nbins, (int, np.integer))
        or not (2 <= nbins <= MAX_BINS)
    ):
        raise ValueError(
            f"nbins must be a whole number of bins per channel from 2 to {MAX_BINS}, got "
            f"{nbins!r}; 64 (the default) or 256 suit most images"
        )
    if max_images is not None and (
        isinstance(max_images, bool)
        or not isinstance(max_images, (int, np.integer))
        or max_images < 1
    ):
        raise ValueError(
            f"max_images must be a positive number of images per condition (or None for all), "
            f"got {max_images!r}"
        )


def _read_table(path: Path, required: Sequence[str]) -> Any:
    from colocalize._batch._outputs import _read_csv, _read_errors

    try:
        table = _read_errors(path) if path.name == "errors.csv" else _read_csv(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} cannot be read as a batch table: {exc}") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(
            f"{str(path)!r} lacks the columns {missing} of a batch table; rerun 'colocalize "
            f"batch' to rebuild it"
        )
    return table


def read_batch_folder(folder: Path) -> tuple[dict[str, Any], Any, Any, Any, list[Path]]:
    """Provenance, coefficients, summary and errors of a committed batch, and every input.

    The inputs are the folder's files and the images, masks and labels of the batch: what a
    report or figure must never be written over.

    Raises
    ------
    FileNotFoundError
        ``folder`` holds no committed batch.
    ValueError
        Its files are not the ones its run committed, or cannot be read (naming the file).
    """
    record = check_outputs(folder)
    prov_file = folder / "provenance.json"
    prov = read_json(prov_file, "provenance")
    if not (
        isinstance(prov, dict)
        and isinstance(prov.get("parameters"), dict)
        and isinstance(prov.get("files"), list)
    ):
        raise ValueError(
            f"provenance {str(prov_file)!r} lacks the 'parameters' and 'files' of a batch; "
            f"rerun 'colocalize batch' to rebuild it"
        )
    pair = ("threshold_source", "channel0", "channel1", "channel2")
    table = _read_table(folder / "coefficients.csv", ("path", *pair))
    summary = _read_table(folder / "summary.csv", (*pair, "n_images"))
    errors = _read_table(folder / "errors.csv", ("path", "threshold_source", "error"))
    root = Path(prov["parameters"].get("root") or folder)
    inputs = [folder / OUTPUTS, *(folder / name for name in record["files"])]
    for f in prov["files"]:
        inputs.append(root / f["path"])
        inputs += [Path(f[k]) for k in ("mask", "labels") if f.get(k)]
    return prov, table, summary, errors, inputs


def _edges(dtype: np.dtype, top: float, nbins: int) -> np.ndarray:
    if dtype.kind in "ui":
        levels = int(np.iinfo(dtype).max) + 1
        if levels <= nbins:
            return np.arange(levels + 1, dtype=np.float64) - 0.5
        return np.linspace(0.0, float(levels), nbins + 1)
    return np.linspace(0.0, top if top > 0 else 1.0, nbins + 1)


def _condition(row: Any, groups: Sequence[str]) -> str:
    return ", ".join(f"{g}={row[g]}" for g in groups) or "all"


def condition_histograms(
    out: str | os.PathLike[str],
    *,
    nbins: int = 256,
    max_images: int | None = None,
    threshold_sources: Sequence[str] | None = None,
) -> list[PanelCell]:
    """Bivariate histograms of every channel pair, pooled over the images of each condition.

    Reads a batch output folder (``coefficients.csv`` and ``provenance.json``) and the images
    again, one at a time. Manual and model thresholds are applied as in the batch
    (:func:`colocalize.remove_background`); pixels zero in both channels and pixels at the dtype
    maximum in either channel (saturated) are left out, as in the seed paper's figures; only
    pixels in the batch's mask are counted.

    Parameters
    ----------
    out : path
        A :func:`colocalize.batch` output folder.
    nbins : int, optional
        Bins per channel (2 to 1024) over the dtype's range (integer images: ``[0, max]``, one
        bin per value when that is at most ``nbins``; float images: ``[0, largest value]``).
    max_images : int, optional
        Use at most this many images per condition (the first by path), for a quick figure.
    threshold_sources : sequence of str, optional
        Which sources to draw (default all in the batch).

    Returns
    -------
    list of PanelCell
        Sorted by pair, condition and source. Conditions are the batch's summary groups.
    """
    check_histogram_options(nbins, max_images)
    prov, table, *_ = read_batch_folder(Path(out))
    groups = list(prov["parameters"].get("group_by") or [])
    table = table[table["channel2"] == ""]
    if threshold_sources is not None:
        table = table[table["threshold_source"].isin(list(threshold_sources))]
    unique = table.drop_duplicates(["path", "threshold_source", "channel0", "channel1"])
    jobs, order = _jobs(unique, groups, max_images)
    cells = _count(jobs, _image_reader(prov), nbins)
    return _ranked(cells, unique, order)


_Job = tuple[str, str, str, str, float, float]  # source, channel0, channel1, condition, t0, t1
_Pixels = tuple[dict[str, np.ndarray], np.ndarray | None, np.dtype]  # by name, mask, dtype


def _image_reader(prov: dict[str, Any]) -> Callable[[str], _Pixels]:
    """A function that reads an image of the batch again as its worker did (by its path
    relative to the root): its channels by name, the batch's mask (or None) and the dtype."""
    params = prov["parameters"]
    files = {f["path"]: f for f in prov["files"]}
    root = Path(params["root"])

    def read(path: str) -> _Pixels:
        task = ImageTask(
            path=str(root / path),
            relpath=path,
            metadata=(),
            variants=(),
            mask_channel=params.get("mask_channel"),
            mask_method=params.get("mask_method", "Otsu"),
            mask_path=files.get(path, {}).get("mask"),
            labels_path=None,
        )
        channels, names, mask, _, _ = load_channels(task)
        return dict(zip(names, channels)), mask, channels[0].dtype

    return read


def _count(
    jobs: dict[str, list[_Job]], read: Callable[[str], _Pixels], nbins: int
) -> dict[tuple[str, str, str, str], list[Any]]:
    """Every panel cell's histogram, by (channel0, channel1, condition, source), as
    ``[counts, edges0, edges1, n_images]``, the images read (by ``read``) in path order.

    The bins of float images span the largest value of every float image: integer images are
    counted as they are read; from the first float image on, images are counted on a second
    reading, once those values are known (same order, so the same cells and bins).
    """
    tops: dict[str, float] = {}
    cells: dict[tuple[str, str, str, str], list[Any]] = {}

    def add(path: str, by_name: dict[str, np.ndarray], mask: Any, dtype: np.dtype) -> None:
        for source, c0, c1, cond, t0, t1 in jobs[path]:
            a, b = _counted_pixels(
                by_name[c0], by_name[c1], source in CORRECTING, (t0, t1), mask, dtype
            )
            key = (c0, c1, cond, source)
            if key not in cells:
                e0 = _edges(dtype, tops.get(c0, 0.0), nbins)
                e1 = _edges(dtype, tops.get(c1, 0.0), nbins)
                cells[key] = [np.zeros((e0.size - 1, e1.size - 1), np.int64), e0, e1, 0]
            _add_counts(cells[key], a, b)

    deferred: list[str] = []
    for path in sorted(jobs):
        by_name, mask, dtype = read(path)
        if dtype.kind == "f":
            for name, ch in by_name.items():
                tops[name] = max(tops.get(name, 0.0), float(np.nanmax(ch)) if ch.size else 0.0)
        if deferred or dtype.kind == "f":
            deferred.append(path)
        else:
            add(path, by_name, mask, dtype)
    for path in deferred:
        add(path, *read(path))
    return cells


def _jobs(
    unique: Any, groups: Sequence[str], max_images: int | None
) -> tuple[dict[str, list[_Job]], dict[str, tuple[Any, ...]]]:
    """What each image adds to the panel: per path, the (source, pair, condition) cells with the
    pair's background thresholds (at most ``max_images`` paths per condition, the first by
    path); and the sort key of each condition (its group values)."""
    jobs: dict[str, list[_Job]] = {}
    order: dict[str, tuple[Any, ...]] = {}
    condition_of: dict[str, str] = {}
    for record in unique.to_dict(orient="records"):
        cond = _condition(record, groups)
        order[cond] = tuple(record[g] for g in groups)
        jobs.setdefault(record["path"], []).append(
            (
                record["threshold_source"],
                str(record["channel0"]),
                str(record["channel1"]),
                cond,
                float(record["background0"]),
                float(record["background1"]),
            )
        )
        condition_of[record["path"]] = cond
    if max_images is not None:
        kept: dict[str, int] = {}
        for path in sorted(jobs):
            cond = condition_of[path]
            kept[cond] = kept.get(cond, 0) + 1
            if kept[cond] > max_images:
                del jobs[path]
    return jobs, order


def _counted_pixels(
    a: np.ndarray,
    b: np.ndarray,
    correcting: bool,
    thresholds: tuple[float, float],
    mask: Any,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray]:
    """The pixel values of one channel pair that a panel cell counts: backgrounds removed for a
    correcting source (as in the batch), then pixels zero in both channels, saturated in either
    or outside the mask left out."""
    from colocalize._threshold._background import remove_background

    t0, t1 = thresholds
    if correcting:
        a = remove_background(a, t0) if math.isfinite(t0) else a
        b = remove_background(b, t1) if math.isfinite(t1) else b
    keep = (a != 0) | (b != 0)
    if dtype.kind in "ui":
        top = np.iinfo(dtype).max
        keep &= (a < top) & (b < top)
    if mask is not None:
        keep &= mask
    return a[keep], b[keep]


def _add_counts(cell: list[Any], a: np.ndarray, b: np.ndarray) -> None:
    """Add the pixels ``a``, ``b`` (and one image) to ``cell`` = [counts, edges0, edges1, n]."""
    counts, e0, e1, _ = cell
    i0 = np.clip(np.searchsorted(e0, a, side="right") - 1, 0, e0.size - 2)
    i1 = np.clip(np.searchsorted(e1, b, side="right") - 1, 0, e1.size - 2)
    counts += np.bincount(i0 * (e1.size - 1) + i1, minlength=counts.size).reshape(counts.shape)
    cell[3] += 1


def _ranked(
    cells: dict[tuple[str, str, str, str], list[Any]],
    unique: Any,
    order: dict[str, tuple[Any, ...]],
) -> list[PanelCell]:
    """The panel cells sorted by pair and source (in the table's order) and condition."""
    pair_order = list(
        dict.fromkeys(zip(unique["channel0"].astype(str), unique["channel1"].astype(str)))
    )
    source_order = list(dict.fromkeys(unique["threshold_source"].astype(str)))
    ranked = sorted(
        cells.items(),
        key=lambda kv: (
            pair_order.index((kv[0][0], kv[0][1])),
            order[kv[0][2]],
            source_order.index(kv[0][3]),
        ),
    )
    return [
        PanelCell(c0, c1, cond, source, BivariateHistogram(v[0], v[1], v[2]), v[3])
        for (c0, c1, cond, source), v in ranked
    ]
