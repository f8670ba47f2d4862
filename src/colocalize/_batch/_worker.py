"""One image of a batch: read, background-correct or threshold, measure (runs in a worker).

Everything here is a plain top-level function of picklable arguments, so that it runs the same
in-process, in a ``ProcessPoolExecutor`` worker and on a Dask worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import itertools
import math
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colocalize._validation import channel_index

__all__ = [
    "WORKER_MODULES",
    "ImageTask",
    "ObjectSpec",
    "Variant",
    "empty_result",
    "exit_with_parent",
    "init_worker",
    "keep_freed_memory",
    "load_channels",
    "process_alive",
    "process_image",
    "process_images",
    "sha256_file",
]

# What process_image imports, directly or lazily: the fork server of a local batch imports
# these once so that its workers start warm (an absent optional module is skipped).
WORKER_MODULES = (
    "colocalize._batch._worker",
    "pandas",
    "tifffile",
    "imagecodecs",
    "scipy.ndimage",
    "scipy.sparse",
    "scipy.spatial",
)

# The threshold sources whose thresholds remove the background (apply_threshold, seed paper);
# the others gate pixels inside the coefficients (Coloc 2 convention).
CORRECTING = ("manual", "model")


@dataclass(frozen=True)
class Variant:
    """One way of thresholding every image of a batch.

    ``kind`` is ``"none"``, ``"manual"`` (``manual``: ``(channel name or index, threshold,
    "file:line" of the row)`` for this image), ``"model"`` (``model_json`` of a ThresholdModel) or
    ``"method"`` (``method``: an ImageJ auto-threshold name or ``"costes"``).
    """

    name: str
    kind: str
    manual: tuple[tuple[str, float, str], ...] = ()
    model_json: str = ""
    method: str = ""


@dataclass(frozen=True)
class ObjectSpec:
    """What object-based colocalization measures in every image of a batch.

    ``pairs`` are channel pairs by name or index (empty: every pair of the measured channels);
    ``sources`` the names of the task's threshold variants whose per-channel thresholds find
    the objects, or ``method`` an ImageJ method of its own (source ``method``). The other fields
    are those of :func:`colocalize.object_colocalization`; ``seed`` with the image's path and the
    pair seeds the randomizations, so results do not depend on the order images are run in.
    """

    pairs: tuple[tuple[str, str], ...] = ()
    sources: tuple[str, ...] = ()
    method: str = ""
    min_overlap: float = 0.0
    max_distance: float | None = None
    randomizations: int = 0
    seed: int = 0


@dataclass(frozen=True)
class ImageTask:
    """Everything a worker needs to process one image (picklable, small)."""

    path: str
    relpath: str
    metadata: tuple[tuple[str, str], ...]
    variants: tuple[Variant, ...]
    channels: tuple[str, ...] | None = None
    mask_channel: str | None = None
    mask_method: str = "Otsu"
    mask_path: str | None = None
    labels_path: str | None = None
    exclude_zero_zero: bool = False
    saturated: bool = False
    triples: bool = False
    rank_coefficients: bool = True
    measures: tuple[str, ...] | None = None
    costes_method: str = "bisection"
    objects: ObjectSpec | None = None
    ccf_max_shift: int = 0  # Van Steensel's CCF of every pair up to this shift (0: none)


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def process_alive(pid: int) -> bool:
    """True while process ``pid`` exists (POSIX; a process we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_PR_SET_PDEATHSIG = 1


def exit_with_parent(main_pid: int, *, poll: float = 0.25) -> None:
    """Pool initializer: end this worker process as soon as the batch's main process dies.

    Without it a killed batch leaves its workers blocked on their task queue for ever (and
    with them the fork server and the resource tracker, which end with their last client).
    On Linux the kernel kills the worker when its parent dies (``prctl(PR_SET_PDEATHSIG)``;
    with ``forkserver`` the parent is the fork server); a daemon thread also checks every
    ``poll`` seconds that ``main_pid`` is alive and that this process was not re-parented,
    and exits at once otherwise (POSIX; on Windows only the re-parenting check applies).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent or (os.name == "posix" and not process_alive(main_pid)):
                os._exit(1)

    threading.Thread(target=watch, name="colocalize-watch-parent", daemon=True).start()


# glibc mallopt parameters, and the values a worker uses: arrays up to 64 MiB come from the heap
# and up to 128 MiB of freed heap is kept for the next image.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_THRESHOLD, _MMAP_THRESHOLD = 128 << 20, 64 << 20


def keep_freed_memory() -> bool:
    """Let this process's allocator reuse freed arrays instead of returning them (glibc only).

    A fresh process starts with glibc's default thresholds: the arrays of each image (a few
    MiB each) are mapped from the system and unmapped when freed, so the next image faults
    every page in again. On 512 x 512 x 3 images that is 220,000 page faults and about 30%
    more CPU per image than in a process whose thresholds have grown; on Dask workers, whose
    nanny sets ``MALLOC_TRIM_THRESHOLD_`` (which freezes the thresholds), it is 3x. Returns
    whether the thresholds were set (False off glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
            and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
        )
    except (OSError, AttributeError):
        return False


def init_worker(main_pid: int) -> None:
    """Pool initializer: end with the batch's main process, and keep freed arrays for reuse."""
    exit_with_parent(main_pid)
    keep_freed_memory()


def load_channels(
    task: ImageTask,
) -> tuple[list[np.ndarray], list[str], np.ndarray | None, np.ndarray | None, tuple[float, ...]]:
    """Read the image of ``task``: every channel (with its name), the mask, the labels and the
    spatial pixel size (``Z``, ``Y``, ``X`` spacing of the axes present).

    The channels keep every other axis (time, z): a hyperstack is measured as one volume.
    The mask is the intersection of the mask file (non-zero) and the mask channel's
    foreground (``channel > threshold(channel, mask_method)``).
    """
    from colocalize._channels import as_channels, as_labels
    from colocalize._io import read_image, read_mask_file
    from colocalize._threshold._auto import threshold
    from colocalize._validation import as_mask

    split = as_channels(read_image(task.path), require="C")
    channels, names = list(split.data), list(split.names)
    shape = channels[0].shape
    mask: np.ndarray | None = None
    if task.mask_path:
        pixels = read_mask_file(task.mask_path, what="mask")
        mask = as_mask(pixels, shape, name=f"mask {task.mask_path}")
    if task.mask_channel is not None:
        ch = channels[channel_index(task.mask_channel, len(names), names, name="mask channel")]
        fg = ch > threshold(ch, task.mask_method)
        mask = fg if mask is None else mask & fg
    labels = None
    if task.labels_path:
        found = read_mask_file(task.labels_path, what="labels")
        labels = as_labels(found, f"labels {task.labels_path}", min_ndim=1)
    assert split.spacing is not None  # an Image's
    return channels, names, mask, labels, split.spacing


def _selected(task: ImageTask, names: list[str]) -> list[int]:
    if not task.channels:
        return list(range(len(names)))
    return [channel_index(c, len(names), names, name="channel") for c in task.channels]


def _background(variant: Variant, channels: list[np.ndarray], names: list[str]) -> list[float]:
    """Per-channel background thresholds of a correcting variant, in the image's units."""
    if variant.kind == "manual":
        lookup = {channel: (value, where) for channel, value, where in variant.manual}
        unsigned = channels[0].dtype.kind in "ub"
        values = []
        for i, name in enumerate(names):
            value, where = lookup.get(name if name in lookup else str(i), (math.nan, ""))
            if unsigned and value < 0:
                raise ValueError(
                    f"{where}: threshold {value:g} of channel {name!r} is negative, but the "
                    f"image is {channels[0].dtype} (no pixel is below 0); give a threshold "
                    f"of 0 or more"
                )
            values.append(value)
        return values
    from colocalize._threshold._background import ThresholdModel, histogram_deciles

    model = ThresholdModel.from_json(variant.model_json)
    deciles = histogram_deciles(np.stack(channels), channel_axis=0)
    return [float(v) for v in model.predict(deciles, names)]


def measure(
    task: ImageTask,
    variant: Variant,
    channels: list[np.ndarray],
    names: list[str],
    mask: np.ndarray | None,
    labels: np.ndarray | None,
) -> list[dict[str, Any]]:
    """The coefficient-table rows of one image under one threshold variant."""
    from colocalize._table import table_rows
    from colocalize._threshold._background import apply_threshold

    index = _selected(task, names)
    used = [channels[i] for i in index]
    used_names = [names[i] for i in index]
    backgrounds = [math.nan] * len(index)
    thresholds: Any = None
    if variant.kind in CORRECTING:
        every = _background(variant, channels, names)
        backgrounds = [every[i] for i in index]
        missing = [nm for nm, t in zip(used_names, backgrounds) if math.isnan(t)]
        if missing:
            raise ValueError(
                f"no {variant.name} threshold for channel(s) {missing} of this image; add rows "
                f"(image, channel, threshold) for them to the thresholds CSV"
            )
        used = [apply_threshold(ch, t) for ch, t in zip(used, backgrounds)]
    elif variant.kind == "method":
        thresholds = variant.method
    table = table_rows(
        np.stack(used),
        channel_axis=0,
        channel_names=used_names,
        mask=mask,
        labels=labels,
        triples=task.triples,
        thresholds=thresholds,
        exclude_zero_zero=task.exclude_zero_zero,
        saturated=True if task.saturated else None,
        rank_coefficients=task.rank_coefficients,
        measures=task.measures,
        costes_method=task.costes_method,
    )
    by_name = dict(zip(used_names, backgrounds))
    rows = [_full_row(row, table.columns) for row in table.rows]
    for row in rows:
        row["background0"] = by_name.get(row["channel0"], math.nan)
        row["background1"] = by_name.get(row["channel1"], math.nan)
        row["threshold_source"] = variant.name
    return rows


# Columns of a coefficient row that are not floats: integers (None when absent) and names.
_INTEGER_COLUMNS = ("label", "n_pixels", "triple_n_pixels")
_NAME_COLUMNS = ("channel0", "channel1", "channel2")


def _full_row(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """A row of :func:`colocalize._table.table_rows` with every column, in the plain values
    of the table's ``to_dict(orient="records")`` (floats, NaN where absent; integers or None;
    names), without building the DataFrame (a fifth of an image's CPU time)."""
    full: dict[str, Any] = {}
    for col in columns:
        value = row.get(col)
        if col in _NAME_COLUMNS:
            full[col] = value
        elif col in _INTEGER_COLUMNS:
            full[col] = None if value is None else int(value)
        else:
            full[col] = math.nan if value is None else float(value)
    return full


def _object_variants(task: ImageTask, spec: ObjectSpec) -> list[Variant]:
    if spec.method:
        return [Variant(spec.method, "method", method=spec.method)]
    return [v for v in task.variants if v.name in spec.sources]


def _object_pairs(task: ImageTask, spec: ObjectSpec, names: list[str]) -> list[tuple[int, int]]:
    if not spec.pairs:
        return list(itertools.combinations(_selected(task, names), 2))
    return [
        (
            channel_index(a, len(names), names, name="object pair channel"),
            channel_index(b, len(names), names, name="object pair channel"),
        )
        for a, b in spec.pairs
    ]


def measure_objects(
    task: ImageTask,
    variant: Variant,
    channels: list[np.ndarray],
    names: list[str],
    mask: np.ndarray | None,
    spacing: tuple[float, ...],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Object rows and per-pair summary rows of one image under one threshold variant.

    Each channel's objects are its pixels above the variant's threshold: the background
    threshold of a manual or model source (in the image's units), or the auto-threshold method
    computed inside the mask.
    """
    from colocalize._objects._puncta import object_colocalization

    spec = task.objects
    assert spec is not None
    pairs = _object_pairs(task, spec, names)
    per_channel: list[Any]
    if variant.kind in CORRECTING:
        per_channel = _background(variant, channels, names)
    else:
        per_channel = [variant.method] * len(channels)
    if channels[0].ndim != len(spacing):
        raise ValueError(
            f"objects are found in 2-D or 3-D channels, but this image's channels have shape "
            f"{channels[0].shape} with {len(spacing)} spatial axes (a time series?); measure "
            f"one time point per file"
        )
    path_seed = int(hashlib.sha256(task.relpath.encode()).hexdigest()[:12], 16)
    found: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for i, j in pairs:
        missing = [
            names[k]
            for k in (i, j)
            if isinstance(per_channel[k], float) and math.isnan(per_channel[k])
        ]
        if missing:
            raise ValueError(
                f"no {variant.name} threshold for channel(s) {missing} of this image; add rows "
                f"(image, channel, threshold) for them to the thresholds CSV"
            )
        res = object_colocalization(
            channels[i],
            channels[j],
            thresholds=(per_channel[i], per_channel[j]),
            mask=mask,
            spacing=spacing,
            min_overlap=spec.min_overlap,
            max_distance=spec.max_distance,
            randomizations=spec.randomizations,
            rng=np.random.default_rng([spec.seed, path_seed, i, j]),
        )
        keys = {"threshold_source": variant.name, "channel0": names[i], "channel1": names[j]}
        table = res.object_table()
        table["channel"] = [names[i] if c == 0 else names[j] for c in table["channel"]]
        found += [
            {**keys, **{str(k): v for k, v in r.items()}} for r in table.to_dict(orient="records")
        ]
        summaries += [
            {**keys, **{str(k): v for k, v in r.items()}}
            for r in res.summary_table().to_dict(orient="records")
        ]
    return found, summaries


def measure_ccf(
    task: ImageTask,
    channels: list[np.ndarray],
    names: list[str],
    mask: np.ndarray | None,
    spacing: tuple[float, ...],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Van Steensel's CCF of every pair of the measured channels (inside the mask): rows per
    shift and one summary row per pair (shifts and widths calibrated by the x pixel size)."""
    from colocalize._vansteensel import CCF_SUMMARY, van_steensel_ccf

    curves: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for i, j in itertools.combinations(_selected(task, names), 2):
        res = van_steensel_ccf(
            channels[i],
            channels[j],
            mask=mask,
            max_shift=task.ccf_max_shift,
            spacing=spacing[-1],  # only x is used; the channels may have a time axis
        )
        keys = {"channel0": names[i], "channel1": names[j]}
        curves += [
            {**keys, "dx": d, "shift": s, "r": r, "n_pairs": n, "fit": f}
            for d, s, r, n, f in zip(
                res.dx.tolist(),
                res.shift.tolist(),
                res.r.tolist(),
                res.n_pairs.tolist(),
                res.fit.tolist(),
            )
        ]
        summaries.append({**keys, **{name: getattr(res, name) for name in CCF_SUMMARY}})
    return curves, summaries


def empty_result(relpath: str) -> dict[str, Any]:
    """The result of an image with nothing measured yet (the keys of :func:`process_image`)."""
    return {
        "relpath": relpath,
        "sha256": "",
        "size": -1,
        "mtime_ns": -1,
        "n_pixels": 0,
        "mask_sha256": "",
        "labels_sha256": "",
        "rows": [],
        "objects": [],
        "object_summary": [],
        "ccf": [],
        "ccf_summary": [],
        "errors": [],
        "warnings": [],
        "seconds": 0.0,
        "cpu_seconds": 0.0,
    }


def process_image(task: ImageTask) -> dict[str, Any]:
    """Process one image; never raises (failures come back in ``errors``).

    Returns a JSON-able dict: ``relpath``, ``sha256``, ``size``, ``mtime_ns``,
    ``mask_sha256`` and ``labels_sha256`` (empty without those files), ``n_pixels`` (pixels per
    channel), ``seconds`` and ``cpu_seconds`` (wall and CPU time of this process), ``rows``
    (coefficient rows of every variant), ``objects`` and
    ``object_summary`` (rows per object and per pair, with ``task.objects``), ``ccf`` and
    ``ccf_summary`` (rows per shift and per pair, with ``task.ccf_max_shift``),
    ``errors`` (list of ``[variant, message]``) and ``warnings`` (messages).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    result = empty_result(task.relpath)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            stat = Path(task.path).stat()
            result["size"], result["mtime_ns"] = stat.st_size, stat.st_mtime_ns
            result["sha256"] = sha256_file(task.path)
            for kind in ("mask", "labels"):
                extra = getattr(task, f"{kind}_path")
                if extra:
                    result[f"{kind}_sha256"] = sha256_file(extra)
            channels, names, mask, labels, spacing = load_channels(task)
            result["n_pixels"] = int(channels[0].size)
        except Exception as exc:  # a bad file is reported, never fatal
            result["errors"].append(["", _describe(exc)])
            channels = []
        for variant in task.variants if channels else ():
            try:
                result["rows"] += measure(task, variant, channels, names, mask, labels)
            except Exception as exc:
                result["errors"].append([variant.name, _describe(exc)])
        spec = task.objects
        for variant in _object_variants(task, spec) if channels and spec else ():
            try:
                found, summary = measure_objects(task, variant, channels, names, mask, spacing)
            except Exception as exc:
                result["errors"].append([variant.name, f"objects: {_describe(exc)}"])
            else:
                result["objects"] += found
                result["object_summary"] += summary
        if channels and task.ccf_max_shift:
            try:
                result["ccf"], result["ccf_summary"] = measure_ccf(
                    task, channels, names, mask, spacing
                )
            except Exception as exc:
                result["errors"].append(["ccf", _describe(exc)])
    seen: list[str] = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.append(text)
    result["warnings"] = seen
    result["seconds"] = time.perf_counter() - start
    result["cpu_seconds"] = time.process_time() - cpu_start
    return _jsonable(result)


def process_images(tasks: list[ImageTask]) -> list[dict[str, Any]]:
    """:func:`process_image` of each task (one Dask task for a few images)."""
    return [process_image(task) for task in tasks]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


def _jsonable(value: Any) -> Any:
    """Plain Python types (numpy scalars and pandas NA become float/int/None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if value is None or isinstance(value, str):
        return value
    try:  # pandas.NA and friends
        import pandas as pd

        if pd.isna(value):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return str(value)
