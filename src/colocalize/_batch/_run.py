"""Batch analysis of an image repository: every image measured, one tidy table, a summary.

The seed paper (Fenner, SciPy 2013) thresholded and measured 933 three-channel confocal images
across organelles, treatment times and six replicate series and summarised them as mean +/-
standard error per condition. :func:`batch` does that for any folder tree or CSV manifest, in
parallel processes on one machine or on a Dask cluster, resuming where an interrupted run
stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import itertools
import json
import multiprocessing
import numbers
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colocalize._batch._commit import (
    OUTPUT_NAMES,
    OUTPUTS,
    check_outputs,
    commit,
    output_lock,
    read_json,
    repair,
)
from colocalize._batch._inputs import ImageEntry, find_images, read_manifest, read_manual
from colocalize._batch._worker import (
    WORKER_MODULES,
    ImageTask,
    ObjectSpec,
    Variant,
    empty_result,
    init_worker,
    process_image,
    process_images,
    sha256_file,
)
from colocalize._coefficients import (
    ON_REQUEST,
    check_costes_method,
    resolve_measures,
    resolve_threshold_method,
    top_percent,
)
from colocalize._output import remove_stale_temporaries, same_file, write_atomic
from colocalize._validation import warn_degenerate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BatchResult", "batch", "summarize"]

COEFFICIENTS = (
    "pearson", "pearson_below", "pearson_above", "overlap", "k1", "k2", "m1", "m2", "tm1",
    "tm2", "tm1_own", "tm2_own", "spearman", "kendall_tau", "icq", "fraction_colocalized",
)
TRIPLE_COEFFICIENTS = (
    "triple_m0", "triple_m1", "triple_m2", "triple_fraction_colocalized", "triple_overlap",
)
PARTS = ".parts"
# At most this many images per Dask task (see _execute_dask) and per local pool task
# (_execute_processes).
_DASK_CHUNK = 8
_POOL_CHUNK = 4


@dataclass(frozen=True)
class BatchResult:
    """What :func:`batch` wrote and how many images it saw.

    Attributes
    ----------
    out : Path
        The output folder.
    coefficients, summary, errors, provenance : Path
        ``coefficients.csv`` (one row per image x threshold source x channel pair [x object]),
        ``summary.csv`` (mean, standard error and n per condition), ``errors.csv`` (files or
        threshold sources that failed, and why) and ``provenance.json``.
    run_id : str
        This run's id, in ``provenance.json`` and ``outputs.json`` (each output's SHA-256).
    parquet : tuple of Path
        ``coefficients.parquet`` and ``summary.parquet`` when pyarrow is installed, else empty.
    n_images : int
        Images in the batch.
    n_computed, n_resumed, n_failed : int
        Images measured in this run, taken from an earlier run's results, and with at least one
        error (an image can be both computed and failed when one threshold source failed).
    n_rows : int
        Rows of ``coefficients.csv``.
    seconds : float
        Wall time of the run.
    n_pixels : int
        Pixels per channel summed over the images measured in this run.
    removed : tuple of str
        Inputs of the previous run in ``out`` that are not in this one (deleted, or no longer
        selected by the pattern or manifest).
    objects, objects_summary, objects_conditions : Path or None
        With ``objects=True``: ``objects.csv`` (one row per object), ``objects_summary.csv``
        (one row per image x threshold source x channel pair) and ``objects_conditions.csv``
        (mean, standard error and n per condition); None otherwise.
    ccf, ccf_summary : Path or None
        With ``ccf=True``: ``ccf.csv`` (Van Steensel's r per image x channel pair x shift) and
        ``ccf_summary.csv`` (its peak, dip and Gaussian fit per image x pair); None otherwise.
    """

    out: Path
    coefficients: Path
    summary: Path
    errors: Path
    provenance: Path
    run_id: str
    parquet: tuple[Path, ...]
    n_images: int
    n_computed: int
    n_resumed: int
    n_failed: int
    n_rows: int
    seconds: float
    n_pixels: int
    removed: tuple[str, ...]
    objects: Path | None = None
    objects_summary: Path | None = None
    objects_conditions: Path | None = None
    ccf: Path | None = None
    ccf_summary: Path | None = None

    def read_coefficients(self) -> pd.DataFrame:
        """``coefficients.csv`` as a DataFrame (metadata fields keep their types)."""
        return _read_csv(self.coefficients)

    def read_summary(self) -> pd.DataFrame:
        """``summary.csv`` as a DataFrame."""
        return _read_csv(self.summary)

    def read_errors(self) -> pd.DataFrame:
        """``errors.csv`` as a DataFrame (columns path, threshold_source, error)."""
        return _read_errors(self.errors)

    def read_objects(self) -> pd.DataFrame:
        """``objects.csv`` as a DataFrame (needs a batch run with ``objects=True``)."""
        return _read_csv(_objects_file(self.objects, "objects.csv"))

    def read_objects_summary(self) -> pd.DataFrame:
        """``objects_summary.csv`` as a DataFrame (needs ``objects=True``)."""
        return _read_csv(_objects_file(self.objects_summary, "objects_summary.csv"))

    def read_objects_conditions(self) -> pd.DataFrame:
        """``objects_conditions.csv`` as a DataFrame (needs ``objects=True``)."""
        return _read_csv(_objects_file(self.objects_conditions, "objects_conditions.csv"))


def _objects_file(path: Path | None, name: str) -> Path:
    if path is None:
        raise ValueError(f"this batch measured no objects (no {name}); run it with objects=True")
    return path


def _read_errors(path: Path) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(path, keep_default_na=False, dtype=str)


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    table = pd.read_csv(path, keep_default_na=True, na_values=[""])
    text = ("channel0", "channel1", "channel2", "channel", "warnings", "path", "threshold_source")
    for col in text:
        if col in table.columns:
            table[col] = table[col].astype(object).where(table[col].notna(), "").astype(str)
    return table


def batch(
    root: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    pattern: str | None = None,
    manifest: str | os.PathLike[str] | None = None,
    thresholds: str | os.PathLike[str] | None = None,
    model: Any = None,
    method: str | Sequence[str] | None = None,
    channels: Sequence[str | int] | None = None,
    mask_channel: str | int | None = None,
    mask_method: str = "Otsu",
    group_by: Sequence[str] | None = None,
    replicate: str | None = None,
    exclude_zero_zero: bool = False,
    saturated: bool = False,
    triples: bool = False,
    rank_coefficients: bool = True,
    measures: Sequence[str] | None = None,
    costes_method: str = "bisection",
    objects: bool = False,
    object_pairs: Sequence[Sequence[str | int]] | None = None,
    object_method: str | None = None,
    min_overlap: float = 0.0,
    max_distance: float | None = None,
    randomizations: int = 0,
    seed: int = 0,
    ccf: bool = False,
    ccf_max_shift: int = 20,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    resume: bool = True,
    verify: bool = False,
    wait: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
) -> BatchResult:
    """Measure every image of a repository and summarise per condition.

    Each image is read (2-D, z-stack, RGB, multichannel or hyperstack TIFF: every channel pair
    is measured over all its planes and time points), optionally thresholded, and measured with
    :func:`colocalize.coefficient_table`. Writes to ``out``:

    - ``coefficients.csv``: one row per image x threshold source x channel pair (x object
      with labels), with ``path`` (relative to ``root``), the metadata fields,
      ``threshold_source``, the coefficient columns, ``background0``/``background1`` (the
      background thresholds removed, in the image's units) and ``warnings``;
    - ``summary.csv``: rows grouped by ``group_by`` + threshold source + channel pair, with
      ``n_images`` and ``<coef>_mean``, ``<coef>_sem`` (standard error, ``sd / sqrt(n)`` with
      ``ddof=1``) and ``<coef>_n`` (non-NaN values) for every coefficient;
    - ``errors.csv`` (``path``, ``threshold_source``, ``error``): files that could not be read
      (``threshold_source`` empty) or a threshold source that failed on an image. A bad file is
      reported and skipped, never fatal;
    - ``provenance.json``: package and Python versions, parameters, start and end time, and
      every input file's size and SHA-256;
    - ``coefficients.parquet`` and ``summary.parquet`` when pyarrow is installed;
    - ``outputs.json``: the run id and each output's SHA-256, written last.

    The outputs are committed as a unit (staged in ``out/.commit/``, then renamed into place,
    ``outputs.json`` last; a run killed meanwhile is completed by the next one) and only one
    run at a time writes ``out`` (the lock ``out/.lock``). Per-image results are kept in
    ``out/.parts/``: a rerun with the same parameters takes every image whose file size and
    modification time are unchanged from there and measures the rest (images that failed are
    retried). Inputs of the previous run that are gone are named in a
    :class:`~colocalize.ColocalizeWarning` and in ``provenance.json``.

    Parameters
    ----------
    root : path
        The repository's top folder.
    out : path
        The output folder (created). It may not be ``root``, a folder of ``root`` that holds
        images, a folder that directly holds an input, or lie where the pattern would take
        its files for images (e.g. ``ROOT/results`` is fine for ``"{condition}/*.tif"``, not
        for ``"{condition}/*"``).
    pattern : str, optional
        Which files to take and the metadata in their paths, relative to ``root``, e.g.
        ``"{organelle}/{time}min/series{series}/*.tif"`` (``{name}`` captures a field, ``*``
        and ``?`` match within a name, ``**/`` any folders). Exactly one of ``pattern`` and
        ``manifest`` is required.
    manifest : path, optional
        A CSV with a ``path`` column (relative to ``root``), optional ``mask`` and ``labels``
        columns (per-image mask or label TIFFs: one row per object with labels) and any other
        columns as metadata fields.
    thresholds : path, optional
        Manual (expert) thresholds: a CSV with columns ``image``, ``channel`` and ``threshold``
        (or ``low`` and ``high``: the midpoint is used), as written by ``colocalize
        threshold-model predict``. ``image`` is relative to the CSV's folder or to ``root`` (or
        a unique file name); ``channel`` is a channel name or 0-based index. Source
        ``"manual"``.
    model : ThresholdModel or path, optional
        The seed paper's learned background threshold (a :class:`colocalize.ThresholdModel` or
        its JSON file), predicted per image and channel from the channel names. Source
        ``"model"``.
    method : str or sequence of str, optional
        ImageJ auto-threshold method(s) (``"Otsu"``...), ``"costes"`` or ``"top<x>%"`` (each
        channel's brightest x%, EzColocalization's FT), each its own source (named by its
        canonical spelling: ``"Otsu"``, ``"top10%"``). Without ``thresholds``, ``model`` and
        ``method`` the source is ``"none"``.
    channels : sequence of str or int, optional
        The channels whose pairs are measured, by name or index (default all).
    mask_channel : str or int, optional
        Measure only inside this channel's foreground, ``channel > threshold(channel,
        mask_method)`` (e.g. the organelle marker).
    mask_method : str, optional
        The auto-threshold method of ``mask_channel`` (default ``"Otsu"``; any name of
        :func:`colocalize.threshold_methods`).
    group_by : sequence of str, optional
        Summary groups (default: every metadata field except ``replicate``).
    replicate : str, optional
        The replicate field left out of the default groups (a metadata field; default
        ``"series"`` when there is such a field).
    exclude_zero_zero, saturated, triples, rank_coefficients, measures, costes_method
        As in :func:`colocalize.coefficient_table` (``saturated=True`` drops pixels at the
        dtype maximum; ``measures`` computes only those groups, the other columns are NaN,
        checked before any image is read).
    objects : bool, optional
        Also measure object-based colocalization (:func:`colocalize.object_colocalization`) and
        write ``objects.csv``, ``objects_summary.csv`` and ``objects_conditions.csv`` (see
        Notes). Default False.
    object_pairs : sequence of (channel, channel), optional
        The channel pairs of the objects, by name or index (default: the pairs of the
        coefficients, every pair of ``channels``).
    object_method : str, optional
        The auto-threshold method that finds every channel's objects (source named by the
        method). Default: the threshold sources of the batch that threshold each channel
        (``thresholds``, ``model``, each ``method`` but ``"costes"``), or ``"Otsu"`` when
        there is none.
    min_overlap, max_distance : float, optional
        As in :func:`colocalize.object_colocalization` (``max_distance`` in the image's
        calibrated units).
    randomizations : int, optional
        Random placements of the objects per image and pair for the DiAna-style test (default
        0: no test).
    seed : int, optional
        Seed of the randomizations; with the image's path and the pair it seeds each image, so
        the p-values do not depend on the workers or the order images are measured in.
    ccf : bool, optional
        Also compute Van Steensel's cross-correlation function
        (:func:`colocalize.van_steensel_ccf`) of every channel pair inside the image's mask and
        write ``ccf.csv`` (``path``, the metadata fields, ``channel0``, ``channel1``, ``dx`` in
        pixels, ``shift`` in the image's calibrated unit, ``r``, ``n_pairs``, ``fit``) and
        ``ccf_summary.csv`` (one row per image and pair: ``r_max``, ``dx_max``, ``r_min``,
        ``dx_min``, ``fit_a`` ... ``fit_d``, ``fwhm`` in pixels, ``fwhm_calibrated``,
        ``pixel_size``, ``warnings``). An image where it fails is in ``errors.csv`` with
        ``threshold_source`` "ccf". Default False. (Li's ICQ is a column of
        ``coefficients.csv``; the ICA plots are per pixel, see ``colocalize ica``.)
    ccf_max_shift : int, optional
        Largest shift of the CCF in pixels (default 20, as JACoP).
    workers : int, optional
        Local worker processes (default: the CPU count, at most the number of images; 1 runs
        in this process). Ignored with ``scheduler`` or ``client``.
    scheduler : str, optional
        Address of a Dask scheduler (``"tcp://host:8786"``) to run on instead.
    client : dask.distributed.Client, optional
        A Dask client to run on instead.
    resume : bool, optional
        Reuse results of an earlier run in ``out`` (default True); False measures everything.
    verify : bool, optional
        Before reusing a result, check the SHA-256 of the image (and mask, labels) against the
        one measured, instead of trusting size and modification time (default False); changed
        files are measured again. Costs one full read of every input.
    wait : bool, optional
        When another batch holds ``out``, wait for it instead of failing (default False).
    overwrite : bool, optional
        Replace the results a batch of another ``root`` committed in ``out`` (default False:
        refused before any work, so one experiment's results are never replaced by another's).
        Results of the same ``root`` are always updated (and reused with ``resume``).
    progress : bool, optional
        Show a progress bar (tqdm); default: only when standard error is a terminal.

    Returns
    -------
    BatchResult

    Notes
    -----
    Thresholds. Manual and model thresholds remove the background as the seed paper did:
    each channel goes through :func:`colocalize.apply_threshold` (values ``<= t`` become 0,
    the rest is stretched back to the type's range) and the coefficients are then computed
    without further thresholds: ``m1``/``m2`` are the seed paper's M1/M2 (the intensity of one
    channel where the other is above its background), ``threshold0``/``threshold1``, ``tm1``
    and ``tm2`` are NaN and the background thresholds are in ``background0``/``background1``
    (in the image's units). Auto-threshold
    methods and ``"costes"`` leave the intensities alone and are passed to
    :func:`colocalize.coefficient_table`, each field counting the pixels its source selects
    (docs/coefficients.md, "Threshold comparisons"); the thresholds are in
    ``threshold0``/``threshold1``. ``summary.csv`` summarises the coefficients of
    :data:`COEFFICIENTS`, plus ``tos_linear`` and ``tos_log2`` when ``measures`` names
    ``"tos"``, plus the triple ones with ``triples``.

    Standard errors are over the rows of a group (images, or objects with labels), the seed
    paper's Table 1 convention of one value per image.

    Objects. Each channel's objects are its pixels above the source's threshold (manual and
    model: the background threshold of the channel, in the image's units; a method: computed
    per channel inside the mask), inside the batch's mask; ``labels`` of a manifest are not
    used for objects. ``objects.csv`` has ``path``, the metadata fields, ``threshold_source``,
    ``channel0``/``channel1`` (the pair), ``channel`` (the object's channel) and the columns of
    :meth:`colocalize.ObjectColocalization.object_table`; ``objects_summary.csv`` those of
    :meth:`~colocalize.ObjectColocalization.summary_table` (suffix 0 for ``channel0``'s objects,
    1 for ``channel1``'s) with ``warnings``; ``objects_conditions.csv`` summarises every numeric
    column of ``objects_summary.csv`` per ``group_by`` + source + pair as ``summary.csv`` does.

    References
    ----------
    .. [1] Fenner, M. (2013). Colocalization analysis of confocal images with Python.
       Proceedings of the 12th Python in Science Conference (SciPy 2013).
       doi:10.25080/Majora-8b375195-004

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, colocalize
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for cond in ("a", "b"):
    ...     for s in (1, 2):
    ...         img = rng.integers(0, 200, (2, 16, 16), dtype=np.uint8)
    ...         (root / cond).mkdir(exist_ok=True)
    ...         colocalize.write_image(root / cond / f"s{s}.tif", img, axes="CYX")
    >>> res = colocalize.batch(root, pattern="{condition}/s{series}.tif",
    ...                        out=root / "out", workers=1)
    >>> res.n_images, res.n_failed, res.read_summary()["n_images"].tolist()
    (4, 0, [2, 2])
    """
    plan = _plan(
        _Selection(
            root=root, out=out, pattern=pattern, manifest=manifest, group_by=group_by,
            replicate=replicate,
        ),
        _Measurement(
            thresholds=thresholds, model=model, method=method, channels=channels,
            mask_channel=mask_channel, mask_method=mask_method,
            exclude_zero_zero=exclude_zero_zero, saturated=saturated, triples=triples,
            rank_coefficients=rank_coefficients, measures=measures, costes_method=costes_method,
            ccf=ccf, ccf_max_shift=ccf_max_shift,
        ),
        _Objects(
            pairs=object_pairs, method=object_method, min_overlap=min_overlap,
            max_distance=max_distance, randomizations=randomizations, seed=seed,
        ) if objects else None,
        _Execution(
            workers=workers, scheduler=scheduler, client=client, resume=resume, verify=verify,
            progress=progress,
        ),
    )
    plan.out.mkdir(parents=True, exist_ok=True)
    with output_lock(plan.out, wait=wait):
        previous = _take_over(plan, overwrite=overwrite)
        measured = _measure(plan)
        return _write_outputs(plan, measured, previous)


# ---------------------------------------------------------------- plan


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
            "resume": self.resume, "verify": self.verify,
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
        find_images(root, pattern) if pattern is not None
        else read_manifest(manifest, root)  # type: ignore[arg-type]
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
        root=root, out=out, entries=tuple(entries),
        tasks=tuple(_task(e, sources, manual, options) for e in entries),
        fields=tuple(fields), groups=tuple(groups),
        parameters={
            "root": str(root), "pattern": pattern,
            "manifest": None if manifest is None else str(Path(manifest).resolve()),
            "thresholds": (
                None if measurement.thresholds is None
                else str(Path(measurement.thresholds).resolve())
            ),
            "model": _model_description(measurement.model),
            "method": _as_list(measurement.method),
            **{k: _parameter(v) for k, v in options.items()},
            "group_by": groups, "replicate": replicate,
            **execution.parameters(),
        },
        execution=execution, started=started, t0=t0,
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
    object_spec = (
_object_spec(sources, objects) if objects is not None else None
    )
    return {
        "channels": (
            tuple(str(c) for c in measurement.channels) if measurement.channels else None
        ),
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


# ---------------------------------------------------------------- inputs


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
    names = tuple(s.name for s in sources if s.kind in ("manual", "model") or (
        s.kind == "method" and s.method != "costes" and top_percent(s.method) is None))
    if not own and not names:
        own = "Otsu"
    min_overlap, max_distance = check_criteria(objects.min_overlap, objects.max_distance)
    for name, value in (("randomizations", objects.randomizations), ("seed", objects.seed)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return ObjectSpec(
        pairs=tuple(checked), sources=() if own else names, method=own,
        min_overlap=min_overlap, max_distance=max_distance,
        randomizations=int(objects.randomizations), seed=int(objects.seed),
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
            if file is not None and (
                file.parent == target or (inside and target in file.parents)
            ):
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
        path=str(entry.path), relpath=entry.relpath, metadata=entry.metadata,
        variants=variants,
        mask_path=None if entry.mask is None else str(entry.mask),
        labels_path=None if entry.labels is None else str(entry.labels),
        **options,
    )


# ---------------------------------------------------------------- the previous run


def _previous_root(out: Path) -> str | None:
    """The ``root`` of the run committed in ``out`` (None: no committed run there)."""
    try:
        check_outputs(out)
        previous = read_json(out / "provenance.json", "provenance")
        return str(previous["parameters"]["root"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_previous_root(out: Path, root: Path) -> None:
    """Refuse ``out`` when it holds the committed results of a batch of another root."""
    previous = _previous_root(out)
    if previous is not None and previous != str(root):
        raise ValueError(
            f"out {str(out)!r} holds the results of a batch of {previous!r}, not of "
            f"{str(root)!r}: this run would replace them. Choose another out folder, or pass "
            f"overwrite=True (--overwrite) to replace them"
        )


def _removed_inputs(
    out: Path, root: Path, entries: Sequence[ImageEntry]
) -> list[dict[str, str]]:
    """Inputs of the run committed in ``out`` (same root) that are not in ``entries``."""
    try:
        check_outputs(out)
        previous = read_json(out / "provenance.json", "provenance")
        if previous["parameters"]["root"] != str(root):
            return []
        files = [f["path"] for f in previous["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no committed run (or one of another layout): nothing to compare
    current = {e.relpath for e in entries}
    return [
        {"path": p, "reason": "no longer selected" if (root / p).exists() else "deleted"}
        for p in files if p not in current
    ]


@dataclass(frozen=True)
class _Previous:
    """What a run found in ``out`` of the run before it: the interrupted commit it completed
    or discarded (``repaired``, as :func:`colocalize._batch._commit.repair` says) and that run's
    inputs missing from this one (``removed``: path and reason)."""

    repaired: str | None
    removed: tuple[dict[str, str], ...]


def _take_over(plan: _Plan, *, overwrite: bool) -> _Previous:
    """Make ``plan.out`` this run's (the lock held): complete or discard an interrupted commit,
    refuse another root's results unless ``overwrite``, and warn of inputs gone since the
    previous run."""
    repaired = repair(plan.out)
    if not overwrite:
        _check_previous_root(plan.out, plan.root)
    removed = _removed_inputs(plan.out, plan.root, plan.entries)
    if removed:
        listed = ", ".join(f"{r['path']} ({r['reason']})" for r in removed[:5])
        more = f" and {len(removed) - 5} more" if len(removed) > 5 else ""
        warn_degenerate(
            f"{len(removed)} input(s) of the previous run in {str(plan.out)!r} are not in "
            f"this run: {listed}{more}; they are listed under 'removed' in provenance.json",
            stacklevel=4,
        )
    return _Previous(repaired=repaired, removed=tuple(removed))


# ---------------------------------------------------------------- resume


def _task_key(task: ImageTask) -> str:
    """Hash of everything that determines an image's rows except its pixels."""
    from colocalize._version import __version__

    extra = []
    for p in (task.mask_path, task.labels_path):
        if p:
            st = Path(p).stat() if Path(p).exists() else None
            extra.append([p, st.st_size if st else -1, st.st_mtime_ns if st else -1])
    # where a manual threshold was read (file:line) does not change the results
    variants = tuple(
        dataclasses.replace(v, manual=tuple(m[:2] for m in v.manual))  # type: ignore[misc]
        for v in task.variants
    )
    text = json.dumps(
        [__version__, repr(dataclasses.replace(task, variants=variants)), extra], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _part_name(relpath: str, key: str) -> str:
    """The file of an image's results under ``.parts``: its path's and task key's hashes."""
    path_hash = hashlib.sha256(relpath.encode()).hexdigest()[:16]
    return f"{path_hash}-{key[:16]}.json"


def _load_part(
    parts: Path, entry: ImageEntry, key: str, *, verify: bool = False
) -> dict[str, Any] | None:
    """The saved results of ``entry`` when its task ``key`` and file are unchanged, else None.

    Unchanged means same size and modification time, and with ``verify`` also the same
    SHA-256 of the image, mask and labels files.
    """
    file = parts / _part_name(entry.relpath, key)
    try:
        part = json.loads(file.read_text(encoding="utf-8"))
        st = entry.path.stat()
        same = (
            part.get("key") == key
            and part.get("size") == st.st_size
            and part.get("mtime_ns") == st.st_mtime_ns
            and not part.get("errors")
        )
        if same and verify:
            same = all(
                part.get(field, "") == (sha256_file(path) if path is not None else "")
                for field, path in (
                    ("sha256", entry.path), ("mask_sha256", entry.mask),
                    ("labels_sha256", entry.labels),
                )
            )
    except (OSError, ValueError):
        return None
    if not same:
        return None
    part.pop("key", None)
    return part


# ---------------------------------------------------------------- execution


@dataclass(frozen=True)
class _Measured:
    """Every image's results by path (measured in this run or resumed from ``.parts``) and the
    run's counts."""

    results: dict[str, dict[str, Any]]
    n_resumed: int
    n_computed: int
    n_pixels: int


def _measure(plan: _Plan) -> _Measured:
    """Take every image's results from an earlier run where they still hold (with
    ``resume``), measure the others, and keep each new result under ``.parts``."""
    parts_dir = plan.out / PARTS
    parts_dir.mkdir(exist_ok=True)
    remove_stale_temporaries(parts_dir, ["*"])
    run = plan.execution
    results: dict[str, dict[str, Any]] = {}
    todo: list[ImageTask] = []
    keys: dict[str, str] = {}  # task key of every image to measure, by path
    for task, entry in zip(plan.tasks, plan.entries):
        key = _task_key(task)
        part = _load_part(parts_dir, entry, key, verify=run.verify) if run.resume else None
        if part is not None:
            results[task.relpath] = part
        else:
            todo.append(task)
            keys[task.relpath] = key
    n_resumed = len(results)

    bar = _progress_bar(run.progress, len(plan.tasks), n_resumed)
    n_pixels = 0
    try:
        for res in _execute(todo, workers=run.workers, scheduler=run.scheduler, client=run.client):
            relpath = res["relpath"]
            results[relpath] = res
            n_pixels += int(res.get("n_pixels", 0))
            if not res["errors"]:
                key = keys[relpath]
                write_atomic(parts_dir / _part_name(relpath, key), json.dumps({"key": key, **res}))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return _Measured(
        results=results, n_resumed=n_resumed, n_computed=len(todo), n_pixels=n_pixels
    )


def _progress_bar(progress: bool | None, total: int, initial: int) -> Any:
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="image", desc="colocalize batch")


def _execute(
    tasks: list[ImageTask], *, workers: int | None, scheduler: str | None, client: Any
) -> Iterator[dict[str, Any]]:
    if not tasks:
        return iter(())
    if client is not None or scheduler is not None:
        return _execute_dask(tasks, scheduler, client)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1
    ):
        raise ValueError(
            f"workers must be a positive number of processes or None (the CPU count), got "
            f"{workers!r}; use workers=1 to run in this process."
        )
    n = min(workers or os.cpu_count() or 1, len(tasks))
    if n == 1:
        return (process_image(t) for t in tasks)
    return _execute_processes(tasks, n)


def _mp_context() -> Any:
    """forkserver with the workers' modules preloaded; spawn where there is no forkserver.

    Never fork: the parent may hold a JVM (Fiji) or threads. forkserver starts workers from a
    clean server process; that server imports what :func:`process_image` needs (about 0.2 s
    of CPU: pandas, tifffile, scipy.ndimage...) once, so every worker starts warm instead of
    importing it again (the preload takes effect when this process starts its fork server,
    i.e. at its first batch).
    """
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", *WORKER_MODULES])
    _start_forkserver()
    return context


# One BLAS/OpenMP thread per worker: N workers already keep N cores busy, and a BLAS call on a
# long vector (np.dot in the coefficients) otherwise starts a thread per core in every worker,
# which spin for a core while they wait: 2 workers on 2 cores took 3-4x the CPU per image.
WORKER_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _start_forkserver() -> None:
    """Start the fork server (once per process) with :data:`WORKER_THREADS` set to 1 unless
    the user set them: libraries read them when the server imports numpy, and every worker
    forks from it. This process's own environment is left as it was."""
    from multiprocessing import forkserver

    saved = {name: os.environ.get(name) for name in WORKER_THREADS}
    os.environ.update({name: "1" for name, value in saved.items() if value is None})
    try:
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


def _pool(n: int) -> ProcessPoolExecutor:
    """``n`` worker processes that end when this process dies (even by ``kill -9``) and keep
    freed arrays for the next image (see :func:`colocalize._batch._worker.keep_freed_memory`)."""
    return ProcessPoolExecutor(
        max_workers=n, mp_context=_mp_context(), initializer=init_worker,
        initargs=(os.getpid(),),
    )


def _execute_processes(tasks: list[ImageTask], n: int) -> Iterator[dict[str, Any]]:
    """Run on ``n`` processes, up to ``_POOL_CHUNK`` images per pool task, with at most
    ``2 n`` pool tasks queued.

    A queued task is only paths and options; a worker reads each image when it starts it, so
    at most ``n`` images are in memory whatever the size of the batch. A pool task costs this
    process about 1 ms of CPU (pickling, the pipe, the executor's thread), a tenth of measuring
    a 512 x 512 image, on the cores the workers use: images go a few at a time, with at least
    4 tasks per worker so that the last ones end together.

    When a worker dies (out of memory, a crash in a codec) every task in flight fails with the
    pool; their images are run again one at a time in a fresh pool, so the image that kills its
    worker alone is reported and the others are measured.
    """
    size = max(1, min(_POOL_CHUNK, len(tasks) // (4 * n)))
    pending = iter([tasks[i : i + size] for i in range(0, len(tasks), size)])
    suspects: list[ImageTask] = []
    pool = _pool(n)
    running: dict[Future, list[ImageTask]] = {}
    solo = False
    try:
        while True:
            if suspects:
                if not running:
                    suspect = suspects.pop(0)
                    running[pool.submit(process_images, [suspect])] = [suspect]
                    solo = True
            else:
                solo = False
                while len(running) < 2 * n:
                    chunk = next(pending, None)
                    if chunk is None:
                        break
                    running[pool.submit(process_images, chunk)] = chunk
            if not running:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            lost: list[ImageTask] = []
            for future in done:
                chunk = running.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool:
                    lost += chunk
                    continue
                except Exception as exc:  # pickling and other transport errors
                    results = [_failure(task, f"{type(exc).__name__}: {exc}") for task in chunk]
                yield from results
            if not lost:
                continue
            for chunk in running.values():
                lost += chunk
            running.clear()
            pool.shutdown(wait=False, cancel_futures=True)
            pool = _pool(n)
            if solo:
                yield _failure(lost[0], "the worker process died while measuring this image")
            else:
                suspects += lost
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(
    tasks: list[ImageTask], scheduler: str | None, client: Any
) -> Iterator[dict[str, Any]]:
    """Run on a Dask cluster, a few images per Dask task.

    Each Dask task costs the client and the scheduler a few milliseconds of CPU (about 5 ms on
    a LocalCluster), as much as measuring a small image: images go in chunks of up to 8, with
    at least 4 chunks per worker thread so that every thread stays busy until the end. A chunk
    whose worker is lost reports each of its images as failed (retried by the next run).
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError(
            "running on a Dask cluster needs dask.distributed; pip install 'colocalize[batch]'"
        ) from None
    own = client is None
    if own:
        client = Client(scheduler)
    try:
        threads = max(sum(client.nthreads().values()), 1)
        size = max(1, min(_DASK_CHUNK, len(tasks) // (4 * threads)))
        chunks = iter([tasks[i : i + size] for i in range(0, len(tasks), size)])
        by_key: dict[str, list[ImageTask]] = {}

        def submit(chunk: list[ImageTask]) -> Any:
            future = client.submit(process_images, chunk, pure=False)
            by_key[future.key] = chunk
            return future

        # queued chunks hold no pixels (each image is read when it runs): keep every worker
        # thread busy despite the scheduler's round trips
        queue = as_completed([submit(c) for c in itertools.islice(chunks, 2 * threads)])
        for future in queue:
            chunk = by_key.pop(future.key)
            try:
                results = future.result()
            except Exception as exc:  # worker lost, serialisation...
                results = [_failure(task, f"{type(exc).__name__}: {exc}") for task in chunk]
            yield from results
            following = next(chunks, None)
            if following is not None:
                queue.add(submit(following))
    finally:
        if own:
            client.close()


def _failure(task: ImageTask, message: str) -> dict[str, Any]:
    return {**empty_result(task.relpath), "errors": [["", message]]}


# ---------------------------------------------------------------- outputs


def _write_outputs(plan: _Plan, measured: _Measured, previous: _Previous) -> BatchResult:
    """Write the tables and ``provenance.json`` of a run and commit them as one unit.

    Parameters
    ----------
    plan : _Plan
        The batch: its images (in the tables' order), metadata fields, summary groups and
        parameters.
    measured : _Measured
        Every image's results and the run's counts.
    previous : _Previous
        What the run found of the previous one in ``plan.out`` (recorded in
        ``provenance.json``).

    Returns
    -------
    BatchResult
        The committed files and the counts.

    Notes
    -----
    The files are staged and renamed into place by :func:`colocalize._batch._commit.commit`,
    ``outputs.json`` (the run id and each file's SHA-256) last.
    """
    rows = _collect_rows(plan.entries, measured.results)
    writers, n_rows = _table_writers(plan, rows)
    run_id = f"{plan.started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    failed = {e["path"] for e in rows.errors}
    seconds = time.perf_counter() - plan.t0
    text = _provenance(
        plan, measured, previous, run_id=run_id, seconds=seconds, n_failed=len(failed),
        n_rows=n_rows,
    )

    def write_provenance(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    writers["provenance.json"] = write_provenance
    commit(plan.out, run_id, writers)
    out = plan.out
    with_objects = "objects.csv" in writers
    with_ccf = "ccf.csv" in writers
    return BatchResult(
        out=out, coefficients=out / "coefficients.csv", summary=out / "summary.csv",
        errors=out / "errors.csv", provenance=out / "provenance.json", run_id=run_id,
        parquet=tuple(out / n for n in writers if n.endswith(".parquet")),
        n_images=len(plan.entries), n_computed=measured.n_computed,
        n_resumed=measured.n_resumed, n_failed=len(failed), n_rows=n_rows, seconds=seconds,
        n_pixels=measured.n_pixels, removed=tuple(r["path"] for r in previous.removed),
        **{
            key: out / f"{name}.csv" if with_objects else None
            for key, name in (
                ("objects", "objects"), ("objects_summary", "objects_summary"),
                ("objects_conditions", "objects_conditions"),
            )
        },
        ccf=out / "ccf.csv" if with_ccf else None,
        ccf_summary=out / "ccf_summary.csv" if with_ccf else None,
    )


@dataclass(frozen=True)
class _Rows:
    """The rows of every table of a run, each led by the image's path and metadata."""

    coefficients: list[dict[str, Any]]
    objects: list[dict[str, Any]]
    object_summary: list[dict[str, Any]]
    ccf: list[dict[str, Any]]
    ccf_summary: list[dict[str, Any]]
    errors: list[dict[str, str]]


def _collect_rows(
    entries: Sequence[ImageEntry], results: dict[str, dict[str, Any]]
) -> _Rows:
    """The images' results as table rows, in the order of ``entries`` (images without a
    result are left out)."""
    coefficients: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    object_summary: list[dict[str, Any]] = []
    ccf: list[dict[str, Any]] = []
    ccf_summary: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for entry in entries:
        res = results.get(entry.relpath)
        if res is None:
            continue
        lead = {"path": entry.relpath, **dict(entry.metadata)}
        warn = "; ".join(res.get("warnings", []))
        coefficients += [{**lead, **row, "warnings": warn} for row in res["rows"]]
        objects += [{**lead, **row} for row in res.get("objects", [])]
        object_summary += [
            {**lead, **row, "warnings": warn} for row in res.get("object_summary", [])
        ]
        ccf += [{**lead, **row} for row in res.get("ccf", [])]
        ccf_summary += [{**lead, **row, "warnings": warn} for row in res.get("ccf_summary", [])]
        errors += [
            {"path": entry.relpath, "threshold_source": source, "error": message}
            for source, message in res["errors"]
        ]
    return _Rows(coefficients, objects, object_summary, ccf, ccf_summary, errors)


def _table_writers(plan: _Plan, rows: _Rows) -> tuple[dict[str, Callable[[Path], None]], int]:
    """A writer of every table of the run by file name (objects and CCF tables when the batch
    measured them, parquet copies when pyarrow is installed), and the rows of
    ``coefficients.csv``."""
    import pandas as pd

    fields, groups, parameters = list(plan.fields), list(plan.groups), plan.parameters
    table = _coefficient_frame(rows.coefficients, fields)
    summary = summarize(table, group_by=groups, coefficients=_summarized(table, parameters))
    error_table = pd.DataFrame(rows.errors, columns=["path", "threshold_source", "error"])
    writers: dict[str, Callable[[Path], None]] = {
        "coefficients.csv": lambda tmp: table.to_csv(tmp, index=False),
        "summary.csv": lambda tmp: summary.to_csv(tmp, index=False),
        "errors.csv": lambda tmp: error_table.to_csv(tmp, index=False),
    }
    if parameters.get("objects") is not None:
        objects = _object_frame(rows.objects, fields, ["channel"])
        per_image = _object_frame(rows.object_summary, fields, [])
        conditions = _object_conditions(per_image, fields, groups)
        writers["objects.csv"] = lambda tmp: objects.to_csv(tmp, index=False)
        writers["objects_summary.csv"] = lambda tmp: per_image.to_csv(tmp, index=False)
        writers["objects_conditions.csv"] = lambda tmp: conditions.to_csv(tmp, index=False)
    if parameters.get("ccf_max_shift"):
        curves = _object_frame(rows.ccf, fields, []).drop(columns="threshold_source")
        ccf_summary = _object_frame(rows.ccf_summary, fields, []).drop(
            columns="threshold_source"
        )
        writers["ccf.csv"] = lambda tmp: curves.to_csv(tmp, index=False)
        writers["ccf_summary.csv"] = lambda tmp: ccf_summary.to_csv(tmp, index=False)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        writers["coefficients.parquet"] = lambda tmp: table.to_parquet(tmp, index=False)
        writers["summary.parquet"] = lambda tmp: summary.to_parquet(tmp, index=False)
    return writers, len(table)


def _provenance(
    plan: _Plan,
    measured: _Measured,
    previous: _Previous,
    *,
    run_id: str,
    seconds: float,
    n_failed: int,
    n_rows: int,
) -> str:
    """``provenance.json`` of a run: versions, times, parameters, counts and every input's
    size and SHA-256."""
    from colocalize._version import __version__

    results = measured.results
    provenance = {
        "package": "colocalize",
        "version": __version__,
        "run_id": run_id,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": _library_versions(),
        "started": plan.started.isoformat(timespec="seconds"),
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "parameters": plan.parameters,
        "metadata_fields": list(plan.fields),
        "counts": {
            "n_images": len(plan.entries), "n_failed": n_failed, "n_rows": n_rows,
            "n_resumed": measured.n_resumed, "n_computed": measured.n_computed,
            "n_pixels": measured.n_pixels,
        },
        "files": [
            {
                "path": e.relpath,
                "sha256": results.get(e.relpath, {}).get("sha256", ""),
                "size": results.get(e.relpath, {}).get("size", -1),
                **({"mask": str(e.mask)} if e.mask else {}),
                **({"labels": str(e.labels)} if e.labels else {}),
            }
            for e in plan.entries
        ],
        "removed": list(previous.removed),
        "repaired": previous.repaired,
    }
    return json.dumps(provenance, indent=1, allow_nan=False, default=str)


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("numpy", "scipy", "tifffile", "pandas", "scikit-image", "dask", "distributed"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _coefficient_frame(rows: list[dict[str, Any]], fields: list[str]) -> pd.DataFrame:
    import pandas as pd

    from colocalize._table import PAIR_FIELDS, TRIPLE_FIELDS

    has_label = any("label" in r for r in rows)
    columns = [
        "path", *fields, "threshold_source", *(["label"] if has_label else []),
        "channel0", "channel1", "channel2", *PAIR_FIELDS, *TRIPLE_FIELDS,
        "background0", "background1", "warnings",
    ]
    table = pd.DataFrame(rows, columns=columns)
    for field in fields:
        table[field] = _typed(table[field])
    for col in ("n_pixels", "triple_n_pixels", *(["label"] if has_label else [])):
        table[col] = table[col].astype("Int64")
    return table


def _object_frame(rows: list[dict[str, Any]], fields: list[str], lead: list[str]) -> pd.DataFrame:
    """Object rows (or per-image object summaries) with the key columns first."""
    import pandas as pd

    keys = ["path", *fields, "threshold_source", "channel0", "channel1", *lead]
    rest: dict[str, None] = {}
    for row in rows:
        rest.update(dict.fromkeys(k for k in row if k not in keys))
    table = pd.DataFrame(rows, columns=[*keys, *rest])
    for field in fields:
        table[field] = _typed(table[field])
    return table


def _object_conditions(
    per_image: pd.DataFrame, fields: list[str], groups: list[str]
) -> pd.DataFrame:
    """Mean, standard error and n of every numeric object summary per condition and pair."""
    keys = {"path", *fields, "min_overlap", "max_distance", "randomizations"}
    numeric = [c for c in per_image.columns if c not in keys and per_image[c].dtype.kind in "biuf"]
    summary = summarize(per_image.assign(channel2=""), group_by=groups, coefficients=numeric)
    return summary.drop(columns="channel2")


def _typed(column: pd.Series) -> pd.Series:
    """Metadata as numbers when every value is one (so 5 < 30 min sorts right), else text."""
    import pandas as pd

    text = column.astype(str)
    try:
        numbers = pd.to_numeric(text)
    except (ValueError, TypeError):
        return text
    return numbers


def _summarized(table: pd.DataFrame, parameters: dict[str, Any]) -> list[str]:
    """The coefficients of ``summary.csv``: :data:`COEFFICIENTS`, the TOS fields when the batch
    asked for ``"tos"`` (computed on request only), the triple ones when there are triples."""
    asked = parameters.get("measures") or ()
    triple = bool((table["channel2"] != "").any()) if len(table) else False
    return [
        *COEFFICIENTS,
        *(ON_REQUEST["tos"] if "tos" in asked else ()),
        *(TRIPLE_COEFFICIENTS if triple else ()),
    ]


def summarize(
    table: pd.DataFrame, *, group_by: Sequence[str], coefficients: Iterable[str] | None = None
) -> pd.DataFrame:
    """Mean, standard error and n of every coefficient per group of a batch table.

    Groups are ``group_by`` + ``threshold_source`` + the channels (+ nothing else: images and
    objects of a group are pooled), sorted by ``group_by``; within a group, sources and pairs
    keep the table's order. ``<coef>_sem`` is ``std(ddof=1) / sqrt(n)`` over the
    non-NaN values (NaN when n < 2).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"cond": ["a", "a", "b"], "threshold_source": "none",
    ...                   "channel0": "x", "channel1": "y", "channel2": "",
    ...                   "pearson": [0.2, 0.4, 0.9]})
    >>> s = summarize(t, group_by=["cond"], coefficients=["pearson"])
    >>> s[["cond", "n_images", "pearson_mean", "pearson_n"]].values.tolist()
    [['a', 2, 0.3, 2], ['b', 1, 0.9, 1]]
    """
    import numpy as np
    import pandas as pd

    keys = [*group_by, "threshold_source", "channel0", "channel1", "channel2"]
    if coefficients is None:
        triple = (table["channel2"] != "").any() if len(table) else False
        coefficients = [*COEFFICIENTS, *(TRIPLE_COEFFICIENTS if triple else ())]
    coefs = [c for c in coefficients if c in table.columns]
    columns = [*keys, "n_images"] + [f"{c}_{s}" for c in coefs for s in ("mean", "sem", "n")]
    if table.empty:
        return pd.DataFrame(columns=columns)
    out = []
    # each column converted once, not once per group (that was most of the outputs' time)
    table = table.reset_index(drop=True)
    numeric = {c: pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in coefs}
    # groups sorted by their metadata; sources and pairs in the table's order within a group
    ordered = table.sort_values(list(group_by), kind="stable") if group_by else table
    for key, group in ordered.groupby(keys, sort=False, dropna=False):
        row: dict[str, Any] = dict(zip(keys, key))
        row["n_images"] = int(group["path"].nunique()) if "path" in group else len(group)
        at = group.index.to_numpy()
        for c in coefs:
            values = numeric[c][at]
            values = values[np.isfinite(values)]
            n = values.size
            row[f"{c}_mean"] = float(values.mean()) if n else float("nan")
            row[f"{c}_sem"] = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
            row[f"{c}_n"] = n
        out.append(row)
    return pd.DataFrame(out, columns=columns)
