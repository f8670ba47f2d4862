"""Batch analysis of an image repository: every image measured, one tidy table, a summary.

The seed paper (Fenner, SciPy 2013) thresholded and measured 933 three-channel confocal images
across organelles, treatment times and six replicate series and summarised them as mean +/-
standard error per condition. :func:`batch` does that for any folder tree or CSV manifest, in
parallel processes on one machine or on a Dask cluster, resuming where an interrupted run
stopped.

This module runs the steps; each step's parts live in their own module: :func:`_plan` checks
the options and makes the tasks (``_plan.py``), :func:`_take_over` settles the previous run in
``out`` (``_resume.py``), :func:`_measure` reuses the results kept under ``.parts`` and runs
the rest (``_resume.py``, ``_execute.py``), and :func:`_write_outputs` writes and commits the
tables (``_outputs.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from colocalize._batch._commit import output_lock, repair
from colocalize._batch._execute import _execute, _progress_bar
from colocalize._batch._outputs import BatchResult, _Measured, _write_outputs
from colocalize._batch._plan import _Execution, _Measurement, _Objects, _Plan, _plan, _Selection
from colocalize._batch._resume import (
    PARTS,
    _check_previous_root,
    _load_part,
    _part_name,
    _Previous,
    _previous_provenance,
    _removed_inputs,
    _task_key,
)
from colocalize._batch._worker import ImageTask
from colocalize._output import remove_stale_temporaries, write_atomic
from colocalize._validation import warn_degenerate

__all__ = ["batch"]


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
            root=root,
            out=out,
            pattern=pattern,
            manifest=manifest,
            group_by=group_by,
            replicate=replicate,
        ),
        _Measurement(
            thresholds=thresholds,
            model=model,
            method=method,
            channels=channels,
            mask_channel=mask_channel,
            mask_method=mask_method,
            exclude_zero_zero=exclude_zero_zero,
            saturated=saturated,
            triples=triples,
            rank_coefficients=rank_coefficients,
            measures=measures,
            costes_method=costes_method,
            ccf=ccf,
            ccf_max_shift=ccf_max_shift,
        ),
        _Objects(
            pairs=object_pairs,
            method=object_method,
            min_overlap=min_overlap,
            max_distance=max_distance,
            randomizations=randomizations,
            seed=seed,
        )
        if objects
        else None,
        _Execution(
            workers=workers,
            scheduler=scheduler,
            client=client,
            resume=resume,
            verify=verify,
            progress=progress,
        ),
    )
    plan.out.mkdir(parents=True, exist_ok=True)
    with output_lock(plan.out, wait=wait):
        previous = _take_over(plan, overwrite=overwrite)
        measured = _measure(plan)
        return _write_outputs(plan, measured, previous)


def _take_over(plan: _Plan, *, overwrite: bool) -> _Previous:
    """Make ``plan.out`` this run's (the lock held): complete or discard an interrupted commit,
    refuse another root's results unless ``overwrite``, and warn of inputs gone since the
    previous run."""
    repaired = repair(plan.out)
    previous = _previous_provenance(plan.out)
    if not overwrite:
        _check_previous_root(previous, plan.out, plan.root)
    removed = _removed_inputs(previous, plan.root, plan.entries)
    if removed:
        listed = ", ".join(f"{r['path']} ({r['reason']})" for r in removed[:5])
        more = f" and {len(removed) - 5} more" if len(removed) > 5 else ""
        warn_degenerate(
            f"{len(removed)} input(s) of the previous run in {str(plan.out)!r} are not in "
            f"this run: {listed}{more}; they are listed under 'removed' in provenance.json",
            stacklevel=4,
        )
    return _Previous(repaired=repaired, removed=tuple(removed))


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
    return _Measured(results=results, n_resumed=n_resumed, n_computed=len(todo), n_pixels=n_pixels)
