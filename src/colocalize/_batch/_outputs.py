"""A batch's outputs: the tables, their summaries, ``provenance.json`` and :class:`BatchResult`.

:func:`_write_outputs` turns every image's results into the tables (in the order of the
images), summarises them per condition with :func:`summarize` and commits the files as one
unit (:func:`colocalize._batch._commit.commit`). :class:`BatchResult` names the files and
reads them back (:func:`_read_csv` keeps the text columns text).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import platform
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colocalize._batch._commit import commit
from colocalize._batch._inputs import ImageEntry
from colocalize._batch._plan import _Plan
from colocalize._batch._resume import _Previous
from colocalize._coefficients import MEASURES, ON_REQUEST

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BatchResult", "summarize"]

#: The pair coefficients that ``summary.csv`` summarizes: every field of :data:`MEASURES`, in its
#: order (the table's other columns are counts and thresholds).
COEFFICIENTS = tuple(name for group in MEASURES.values() for name in group)
TRIPLE_COEFFICIENTS = (
    "triple_m0",
    "triple_m1",
    "triple_m2",
    "triple_fraction_colocalized",
    "triple_overlap",
)


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


@dataclass(frozen=True)
class _Measured:
    """Every image's results by path (measured in this run or resumed from ``.parts``) and the
    run's counts."""

    results: dict[str, dict[str, Any]]
    n_resumed: int
    n_computed: int
    n_pixels: int


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
        plan,
        measured,
        previous,
        run_id=run_id,
        seconds=seconds,
        n_failed=len(failed),
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
        out=out,
        coefficients=out / "coefficients.csv",
        summary=out / "summary.csv",
        errors=out / "errors.csv",
        provenance=out / "provenance.json",
        run_id=run_id,
        parquet=tuple(out / n for n in writers if n.endswith(".parquet")),
        n_images=len(plan.entries),
        n_computed=measured.n_computed,
        n_resumed=measured.n_resumed,
        n_failed=len(failed),
        n_rows=n_rows,
        seconds=seconds,
        n_pixels=measured.n_pixels,
        removed=tuple(r["path"] for r in previous.removed),
        **{
            key: out / f"{name}.csv" if with_objects else None
            for key, name in (
                ("objects", "objects"),
                ("objects_summary", "objects_summary"),
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


def _collect_rows(entries: Sequence[ImageEntry], results: dict[str, dict[str, Any]]) -> _Rows:
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
        ccf_summary = _object_frame(rows.ccf_summary, fields, []).drop(columns="threshold_source")
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
            "n_images": len(plan.entries),
            "n_failed": n_failed,
            "n_rows": n_rows,
            "n_resumed": measured.n_resumed,
            "n_computed": measured.n_computed,
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
        "path",
        *fields,
        "threshold_source",
        *(["label"] if has_label else []),
        "channel0",
        "channel1",
        "channel2",
        *PAIR_FIELDS,
        *TRIPLE_FIELDS,
        "background0",
        "background1",
        "warnings",
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
