"""What a batch takes over from the run before it in the same output folder.

The previous run's root (a batch of another root is not replaced unless asked) and its inputs
missing from this run (:class:`_Previous`), and the resume store: every image's results are
kept in ``OUT/.parts/`` under a name made of its path's and its task key's hashes
(:func:`_part_name`), and reused while the task key and the file's size and modification
time (and, with ``verify``, its SHA-256) are unchanged (:func:`_load_part`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colocalize._batch._commit import check_outputs, read_json
from colocalize._batch._inputs import ImageEntry
from colocalize._batch._worker import ImageTask, sha256_file

PARTS = ".parts"


def _previous_provenance(out: Path) -> dict[str, Any] | None:
    """The provenance of the run committed in ``out`` (its outputs checked once); None when
    there is no committed run there (or one of another layout)."""
    try:
        check_outputs(out)
        previous = read_json(out / "provenance.json", "provenance")
        str(previous["parameters"]["root"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(previous)


def _check_previous_root(previous: dict[str, Any] | None, out: Path, root: Path) -> None:
    """Refuse ``out`` when it holds the committed results (``previous``, their provenance) of a
    batch of another root."""
    if previous is not None and str(previous["parameters"]["root"]) != str(root):
        raise ValueError(
            f"out {str(out)!r} holds the results of a batch of "
            f"{str(previous['parameters']['root'])!r}, not of {str(root)!r}: this run would "
            f"replace them. Choose another out folder, or pass overwrite=True (--overwrite) to "
            f"replace them"
        )


def _removed_inputs(
    previous: dict[str, Any] | None, root: Path, entries: Sequence[ImageEntry]
) -> list[dict[str, str]]:
    """Inputs of the committed run ``previous`` (its provenance; same root) that are not in
    ``entries``."""
    if previous is None or previous["parameters"]["root"] != str(root):
        return []
    try:
        files = [f["path"] for f in previous["files"]]
    except (KeyError, TypeError):
        return []  # a run of another layout: nothing to compare
    current = {e.relpath for e in entries}
    return [
        {"path": p, "reason": "no longer selected" if (root / p).exists() else "deleted"}
        for p in files
        if p not in current
    ]


@dataclass(frozen=True)
class _Previous:
    """What a run found in ``out`` of the run before it: the interrupted commit it completed
    or discarded (``repaired``, as :func:`colocalize._batch._commit.repair` says) and that run's
    inputs missing from this one (``removed``: path and reason)."""

    repaired: str | None
    removed: tuple[dict[str, str], ...]


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
                    ("sha256", entry.path),
                    ("mask_sha256", entry.mask),
                    ("labels_sha256", entry.labels),
                )
            )
    except (OSError, ValueError):
        return None
    if not same:
        return None
    part.pop("key", None)
    return part
