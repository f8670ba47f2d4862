"""A batch checked before any image is read: its option groups, its images and their tasks.

:func:`colocalize._batch._run.batch` gathers its keyword arguments into :class:`_Selection`,
:class:`_Measurement`, :class:`_Objects` and :class:`_Execution`; :func:`_plan` checks every
option, finds the images and returns a :class:`_Plan` (one :class:`ImageTask` per image and
the parameters ``provenance.json`` records). Bad options are refused here, before anything
is written.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import numbers
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colocalize._batch._commit import OUTPUT_NAMES, OUTPUTS
from colocalize._batch._inputs import ImageEntry, find_images, read_manifest, read_manual
from colocalize._batch._worker import ImageTask, ObjectSpec, Variant
from colocalize._coefficients import (
    check_costes_method,
    resolve_measures,
    resolve_threshold_method,
    top_percent,
)
from colocalize._output import same_file


@dataclass(frozen=True)
class _Selection:
    """Which images a batch measures and how its summary groups them, as :func:`batch` got
    them (checked by :func:`_plan`)."""

    root: str | os.PathLike[str]
    out: str | os.PathLike[str]
    pattern: str | None
    manifest: str | os.PathLike[str] | None
    group_by: Sequence[str] | None
    replicate: str | None


@dataclass(frozen=True)
class _Measurement:
    """What a batch measures in every image: the threshold sources and the options of
    :func:`colocalize.coefficient_table` and of the CCF, as :func:`batch` got them."""

    thresholds: str | os.PathLike[str] | None
    model: Any
    method: str | Sequence[str] | None
    channels: Sequence[str | int] | None
    mask_channel: str | int | None
    mask_method: str
    exclude_zero_zero: bool
    saturated: bool
    triples: bool
    rank_coefficients: bool
    measures: Sequence[str] | None
    costes_method: str
    ccf: bool
    ccf_max_shift: int


@dataclass(frozen=True)
class _Objects:
    """The object-based colocalization options of a batch (``objects=True``), as
    :func:`batch` got them."""

    pairs: Sequence[Sequence[str | int]] | None
    method: str | None
    min_overlap: float
    max_distance: float | None
    randomizations: int
    seed: int


@dataclass(frozen=True)
class _Execution:
    """How a batch runs: on which workers, reusing which earlier results, with a progress bar
    or not."""

    workers: int | None
    scheduler: str | None
    client: Any
    resume: bool
    verify: bool
    progress: bool | None

    def parameters(self) -> dict[str, Any]:
        """The execution options as ``provenance.json`` records them."""
        return {
            "workers": self.workers,
            "scheduler": self.scheduler or (None if self.client is None else "dask client"),
            "resume": self.resume,
            "verify": self.verify,
        }


@dataclass(frozen=True)
class _Plan:
    """A batch checked before any image is read or any output written.

    ``tasks`` are the images' :class:`ImageTask` in the order of ``entries``; ``fields`` the
    metadata fields, ``groups`` those of the summary; ``parameters`` every option as
    ``provenance.json`` records it; ``started`` and ``t0`` the run's start (wall clock, and
    :func:`time.perf_counter` for its duration).
    """

    root: Path
    out: Path
    entries: tuple[ImageEntry, ...]
    tasks: tuple[ImageTask, ...]
    fields: tuple[str, ...]
    groups: tuple[str, ...]
    parameters: dict[str, Any]
    execution: _Execution
    started: _dt.datetime
    t0: float


def _plan(
    selection: _Selection,
    measurement: _Measurement,
    objects: _Objects | None,
    execution: _Execution,
) -> _Plan:
    """Check every option of a batch, find its images and make their tasks.

    Parameters
    ----------
    selection : _Selection
        Which images (``root`` and ``pattern`` or ``manifest``), where the outputs go, and the
        summary's groups.
    measurement : _Measurement
        The threshold sources and the measuring options.
    objects : _Objects or None
        The object options (None: no objects measured).
    execution : _Execution
        How the batch runs (recorded in the parameters).

    Returns
    -------
    _Plan

    Raises
    ------
    ValueError, TypeError, FileNotFoundError
        A bad option or input, named with the fix, before anything is written.
    """
    started = _dt.datetime.now(_dt.timezone.utc)
    t0 = time.perf_counter()
    pattern, manifest = selection.pattern, selection.manifest
    if (pattern is None) == (manifest is None):
        raise ValueError(
            "pass exactly one of pattern (e.g. '{organelle}/{time}min/series{series}/*.tif') "
            f"and manifest (a CSV with a path column); got pattern={pattern!r}, "
            f"manifest={manifest!r}"
        )
    root = Path(selection.root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(
            f"root folder {str(selection.root)!r} does not exist or is not a folder"
        )
    mask_method = _mask_method(measurement.mask_method)
    entries = (
        find_images(root, pattern) if pattern is not None else read_manifest(manifest, root)  # type: ignore[arg-type]
    )
    out = Path(selection.out)
    _check_out(out, root, entries, pattern, (manifest, measurement.thresholds, measurement.model))
    fields = [name for name, _ in entries[0].metadata]
    replicate = _replicate(selection.replicate, fields)
    groups = _group_fields(selection.group_by, fields, replicate)

    sources, manual = _sources(
        measurement.thresholds, measurement.model, measurement.method, entries, root
    )
    options = _task_options(measurement, mask_method, sources, objects)
    return _Plan(
        root=root,
        out=out,
        entries=tuple(entries),
        tasks=tuple(_task(e, sources, manual, options) for e in entries),
        fields=tuple(fields),
        groups=tuple(groups),
        parameters={
            "root": str(root),
            "pattern": pattern,
            "manifest": None if manifest is None else str(Path(manifest).resolve()),
            "thresholds": (
                None
                if measurement.thresholds is None
                else str(Path(measurement.thresholds).resolve())
            ),
            "model": _model_description(measurement.model),
            "method": _as_list(measurement.method),
            **{k: _parameter(v) for k, v in options.items()},
            "group_by": groups,
            "replicate": replicate,
            **execution.parameters(),
        },
        execution=execution,
        started=started,
        t0=t0,
    )


def _task_options(
    measurement: _Measurement,
    mask_method: str,
    sources: list[Variant],
    objects: _Objects | None,
) -> dict[str, Any]:
    """The options every image's :class:`ImageTask` shares, checked (``mask_method`` is
    already resolved)."""
    rank_coefficients = bool(measurement.rank_coefficients)
    object_spec = _object_spec(sources, objects) if objects is not None else None
    return {
        "channels": (tuple(str(c) for c in measurement.channels) if measurement.channels else None),
        "mask_channel": (
            None if measurement.mask_channel is None else str(measurement.mask_channel)
        ),
        "mask_method": mask_method,
        "exclude_zero_zero": bool(measurement.exclude_zero_zero),
        "saturated": bool(measurement.saturated),
        "triples": bool(measurement.triples),
        "rank_coefficients": rank_coefficients,
        "measures": (
            None
            if measurement.measures is None
            else resolve_measures(measurement.measures, rank_coefficients=rank_coefficients)
        ),
        "costes_method": check_costes_method(measurement.costes_method),
        "objects": object_spec,
        "ccf_max_shift": _ccf_max_shift(measurement.ccf_max_shift) if measurement.ccf else 0,
    }


def _parameter(value: Any) -> Any:
    """An option as JSON: tuples as lists, the object options as a dict."""
    if isinstance(value, ObjectSpec):
        return {k: _parameter(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, tuple):
        return [_parameter(v) for v in value]
    return value


def _ccf_max_shift(value: Any) -> int:
    """``ccf_max_shift`` checked up front (each image checks it against its width)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"ccf_max_shift must be an integer >= 1 (pixels), got {value!r}; e.g. 20")
    return int(value)


def _object_spec(sources: list[Variant], objects: _Objects) -> ObjectSpec:
    """The object options of a batch, checked up front (not once per image)."""
    from colocalize._objects._puncta import check_criteria
    from colocalize._threshold._auto import resolve_method

    checked = []
    for pair in objects.pairs or ():
        if isinstance(pair, (str, bytes)) or len(pair) != 2:
            raise ValueError(
                f"object_pairs must be pairs of channels (name or index), got {pair!r}; e.g. "
                f"[('red', 'green')] (CLI: --object-pairs red:green)"
            )
        checked.append((str(pair[0]), str(pair[1])))
    own = resolve_method(objects.method, name="object_method") if objects.method else ""
    # a method source that thresholds each channel by ImageJ's rules finds objects too; Costes
    # (a pair's thresholds) and top x% (a coefficients-only threshold) do not
    names = tuple(
        s.name
        for s in sources
        if s.kind in ("manual", "model")
        or (s.kind == "method" and s.method != "costes" and top_percent(s.method) is None)
    )
    if not own and not names:
        own = "Otsu"
    min_overlap, max_distance = check_criteria(objects.min_overlap, objects.max_distance)
    for name, value in (("randomizations", objects.randomizations), ("seed", objects.seed)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return ObjectSpec(
        pairs=tuple(checked),
        sources=() if own else names,
        method=own,
        min_overlap=min_overlap,
        max_distance=max_distance,
        randomizations=int(objects.randomizations),
        seed=int(objects.seed),
    )


def _as_list(method: str | Sequence[str] | None) -> list[str]:
    if method is None:
        return []
    return [method] if isinstance(method, str) else [str(m) for m in method]


def _model_description(model: Any) -> Any:
    if model is None:
        return None
    if isinstance(model, (str, os.PathLike)):
        return str(Path(model).resolve())
    return "ThresholdModel object"


def _mask_method(mask_method: str) -> str:
    """The ImageJ name of ``mask_method``, checked up front (not once per image)."""
    from colocalize._threshold._auto import resolve_method

    return resolve_method(mask_method, name="mask_method")


def _replicate(replicate: str | None, fields: list[str]) -> str | None:
    if replicate is None:
        return "series" if "series" in fields else None
    if replicate not in fields:
        raise ValueError(
            f"replicate field {replicate!r} is not a metadata field of the batch ({fields}); "
            f"name a field of the pattern or a column of the manifest"
        )
    return replicate


def _check_out(
    out: Path,
    root: Path,
    entries: list[ImageEntry],
    pattern: str | None,
    others: Iterable[Any],
) -> None:
    """Refuse an output folder whose files would mix with, or be read as, the data."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} is a file; give a folder for the outputs")
    target = out.resolve()
    fix = "choose a folder outside the data, e.g. next to it"
    if target == root:
        raise ValueError(
            f"out {str(out)!r} is the data folder {str(root)!r}; the tables would be written "
            f"among the images: {fix}"
        )
    inside = root in target.parents
    for entry in entries:
        for file in (entry.path, entry.mask, entry.labels):
            if file is not None and (file.parent == target or (inside and target in file.parents)):
                raise ValueError(
                    f"out {str(out)!r} holds the input {str(file)!r}; the tables would be "
                    f"written among the images: {fix}"
                )
    names = (*OUTPUT_NAMES, OUTPUTS, "report.html")
    for other in others:
        if isinstance(other, (str, os.PathLike)) and any(
            same_file(other, target / n) for n in names
        ):
            raise ValueError(
                f"the input {str(other)!r} is one of the outputs a batch writes in {str(out)!r}; "
                f"{fix}"
            )
    if pattern is not None and inside:
        from colocalize._batch._inputs import parse_pattern

        regex = parse_pattern(pattern)[0]
        rel = target.relative_to(root).as_posix()
        taken = [n for n in names if regex.fullmatch(f"{rel}/{n}")]
        if taken:
            raise ValueError(
                f"out {str(out)!r} lies where the pattern {pattern!r} takes files for images: "
                f"the next run would read its {taken[0]} as an image; {fix}, or make the "
                f"pattern stricter (e.g. '*.tif')"
            )


def _group_fields(
    group_by: Sequence[str] | None, fields: list[str], replicate: str | None
) -> list[str]:
    if group_by is None:
        return [f for f in fields if f != replicate]
    unknown = [g for g in group_by if g not in fields]
    if unknown:
        raise ValueError(
            f"group_by fields {unknown} are not metadata fields of the batch ({fields}); name "
            f"fields of the pattern or columns of the manifest"
        )
    return list(group_by)


def _sources(
    thresholds: Any, model: Any, method: Any, entries: list[ImageEntry], root: Path
) -> tuple[list[Variant], dict[str, dict[str, tuple[float, str]]]]:
    from colocalize._threshold._background import ThresholdModel

    sources: list[Variant] = []
    manual: dict[str, dict[str, tuple[float, str]]] = {}
    if thresholds is not None:
        manual = read_manual(thresholds, entries, root)
        sources.append(Variant("manual", "manual"))
    if model is not None:
        loaded = ThresholdModel.load(model) if isinstance(model, (str, os.PathLike)) else model
        if not isinstance(loaded, ThresholdModel):
            raise TypeError(
                f"model must be a ThresholdModel or the path of its JSON file, got "
                f"{type(model).__name__}"
            )
        sources.append(Variant("model", "model", model_json=loaded.to_json()))
    for name in _as_list(method):
        resolved = resolve_threshold_method(name, name="method")
        sources.append(Variant(resolved, "method", method=resolved))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"threshold sources repeat: {names}; give each method once")
    return sources or [Variant("none", "none")], manual


def _task(
    entry: ImageEntry,
    sources: list[Variant],
    manual: dict[str, dict[str, tuple[float, str]]],
    options: dict[str, Any],
) -> ImageTask:
    rows = tuple(sorted((c, v, w) for c, (v, w) in manual.get(entry.relpath, {}).items()))
    variants = tuple(
        Variant(v.name, v.kind, manual=rows) if v.kind == "manual" else v for v in sources
    )
    return ImageTask(
        path=str(entry.path),
        relpath=entry.relpath,
        metadata=entry.metadata,
        variants=variants,
        mask_path=None if entry.mask is None else str(entry.mask),
        labels_path=None if entry.labels is None else str(entry.labels),
        **options,
    )
