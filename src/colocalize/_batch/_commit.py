"""A batch's output folder: one lock per folder, outputs committed as a unit, checked by readers.

The outputs of a run (``coefficients.csv``, ``summary.csv``, ``errors.csv``,
``provenance.json``, the Parquet files and, with objects, ``objects.csv``,
``objects_summary.csv`` and ``objects_conditions.csv``, with the CCF ``ccf.csv`` and
``ccf_summary.csv``) are committed together:

1. every output is written into the staging folder ``OUT/.commit/`` (each atomically);
2. ``OUT/.commit/outputs.json`` is written last: the run id and each output's SHA-256. From
   this moment the run is committed: whatever happens next, the run is completed, never undone;
3. each staged output is renamed into ``OUT``, outputs of an earlier run that this run does not
   write (a Parquet file) are removed, and ``outputs.json`` is renamed into ``OUT`` last.

A run killed before step 2 leaves ``OUT`` untouched (the staging folder is discarded by the
next run); a run killed during step 3 leaves a complete journal that the next run replays
(:func:`repair`). Readers (``colocalize report``, the histogram panel) call
:func:`check_outputs`, which refuses a folder whose files do not match its ``outputs.json``,
so a mixture of two runs is never read.

Two runs never write one folder at once: :func:`output_lock` holds ``OUT/.lock``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from colocalize._batch._worker import process_alive, sha256_file
from colocalize._output import remove_stale_temporaries, write_atomic

__all__ = [
    "LOCK",
    "OUTPUTS",
    "OUTPUT_NAMES",
    "STAGING",
    "check_outputs",
    "commit",
    "output_lock",
    "read_json",
    "repair",
]

OUTPUTS = "outputs.json"
STAGING = ".commit"
LOCK = ".lock"
OUTPUT_NAMES = (
    "coefficients.csv",
    "summary.csv",
    "errors.csv",
    "provenance.json",
    "coefficients.parquet",
    "summary.parquet",
    "objects.csv",
    "objects_summary.csv",
    "objects_conditions.csv",
    "ccf.csv",
    "ccf_summary.csv",
)
# A lock file still empty after this long belongs to a process killed while creating it.
_EMPTY_LOCK_SECONDS = 10.0

_rename = os.replace  # every rename of a commit (tests inject failures here)


def read_json(path: Path, what: str) -> Any:
    """Parse a JSON file; a missing, unreadable or broken file is a one-line ValueError."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(
            f"{what} {str(path)!r} is not valid JSON ({exc}); it was damaged after the batch "
            f"wrote it: rerun 'colocalize batch' with the same options to rebuild it"
        ) from None


# ---------------------------------------------------------------- commit


def commit(out: Path, run_id: str, writers: dict[str, Callable[[Path], None]]) -> None:
    """Write the outputs ``{name: writer(path)}`` of run ``run_id`` into ``out`` as a unit."""
    staging = out / STAGING
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    for name, writer in writers.items():
        write_atomic(staging / name, writer=writer)
    record = {
        "run_id": run_id,
        "files": {name: sha256_file(staging / name) for name in writers},
    }
    write_atomic(staging / OUTPUTS, json.dumps(record, indent=1))  # the commit point
    _install(out, record)


def _install(out: Path, record: dict[str, Any]) -> None:
    """Move the staged outputs of a committed run into place (idempotent, so replayable)."""
    staging = out / STAGING
    for name in record["files"]:
        if (staging / name).exists():
            _rename(staging / name, out / name)
    for name in OUTPUT_NAMES:
        if name not in record["files"]:
            with contextlib.suppress(FileNotFoundError):
                (out / name).unlink()
    _rename(staging / OUTPUTS, out / OUTPUTS)
    shutil.rmtree(staging, ignore_errors=True)


def repair(out: Path) -> str | None:
    """Finish or discard what a killed run left in ``out``; returns what was done, or None.

    A complete journal (``.commit/outputs.json``) is replayed, so the folder holds that run;
    an incomplete staging folder is removed (the folder keeps the previous run). Temporary
    files of killed writes are deleted.
    """
    staging = out / STAGING
    done = None
    if (staging / OUTPUTS).is_file():
        record = read_json(staging / OUTPUTS, "the commit journal")
        _install(out, record)
        done = f"completed the interrupted commit of run {record['run_id']}"
    elif staging.exists():
        shutil.rmtree(staging)
        done = "discarded the outputs of a run killed before its commit"
    remove_stale_temporaries(out, (*OUTPUT_NAMES, OUTPUTS))
    return done


def check_outputs(out: Path) -> dict[str, Any]:
    """Check that the outputs in ``out`` are one committed run; returns its ``outputs.json``.

    Raises
    ------
    FileNotFoundError
        ``out`` holds no committed batch.
    ValueError
        A commit was interrupted, or a file differs from the one its run wrote (changed,
        truncated, or from another run).
    """
    record_file = out / OUTPUTS
    rebuild = "rerun 'colocalize batch' with the same options to complete or rebuild it"
    if (out / STAGING / OUTPUTS).is_file():
        raise ValueError(
            f"the batch folder {str(out)!r} holds an interrupted commit (a batch was killed "
            f"while renaming its outputs): {rebuild}"
        )
    if not record_file.is_file():
        if (out / "coefficients.csv").is_file():
            raise FileNotFoundError(
                f"{str(out)!r} has no {OUTPUTS} (written by an older colocalize, or by a "
                f"batch that never committed): {rebuild}"
            )
        raise FileNotFoundError(
            f"{str(out)!r} is not a finished batch folder (no {OUTPUTS}); run 'colocalize "
            f"batch' first"
        )
    record = read_json(record_file, "the batch's list of outputs")
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict):
        raise ValueError(f"{str(record_file)!r} has no 'files' entry: {rebuild}")
    for name, digest in files.items():
        path = out / name
        if not path.is_file():
            raise ValueError(f"{str(path)!r} of run {record.get('run_id')} is missing: {rebuild}")
        if sha256_file(path) != digest:
            raise ValueError(
                f"{str(path)!r} is not the file run {record.get('run_id')} wrote (changed, "
                f"truncated or left by another run; its SHA-256 differs from {OUTPUTS}): "
                f"{rebuild}"
            )
    return record


# ---------------------------------------------------------------- lock


def _describe(holder: dict[str, Any]) -> str:
    return f"PID {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}"


def _holder(lock: Path) -> dict[str, Any] | None:
    """The lock's content, ``{}`` when unreadable, None when the lock is gone."""
    try:
        text = lock.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _stale(lock: Path, holder: dict[str, Any]) -> bool:
    if not holder:  # empty or broken: its writer was killed while creating it
        try:
            return time.time() - lock.stat().st_mtime > _EMPTY_LOCK_SECONDS
        except FileNotFoundError:
            return False
    pid = holder.get("pid")
    return (
        holder.get("host") == socket.gethostname()
        and isinstance(pid, int)
        and pid != os.getpid()
        and not process_alive(pid)
    )


def _break(lock: Path, holder: dict[str, Any]) -> None:
    """Remove a stale lock unless another process replaced it meanwhile."""
    aside = lock.with_name(f"{LOCK}.stale-{os.getpid()}")
    try:
        _rename(lock, aside)
    except FileNotFoundError:
        return
    if _holder(aside) == holder:
        aside.unlink()
    else:  # a live lock taken between our look and the rename: give it back
        with contextlib.suppress(OSError):
            os.link(aside, lock)
        aside.unlink()


@contextlib.contextmanager
def output_lock(out: Path, *, wait: bool = False, poll: float = 0.5) -> Iterator[None]:
    """Hold ``out/.lock`` (PID, host and start time) for the block.

    The lock file is created with ``O_CREAT | O_EXCL`` (atomic on every file system colocalize
    supports). A lock whose process is dead on this host is stale and taken over. A live one
    raises :class:`BlockingIOError` naming its holder, or with ``wait`` is waited for.
    """
    lock = out / LOCK
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is None:
                continue
            if _stale(lock, holder):
                _break(lock, holder)
                continue
            if not holder:  # being written by its owner this very moment
                time.sleep(0.05)
                continue
            if not wait:
                raise BlockingIOError(
                    f"another batch is writing to {str(out)!r} ({_describe(holder)}); wait "
                    f"for it to finish, pass --wait (wait=True) to queue behind it, or "
                    f"choose another output folder"
                ) from None
            time.sleep(poll)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(me))
        break
    try:
        yield
    finally:
        if _holder(lock) == me:
            lock.unlink()
