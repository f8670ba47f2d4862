"""Writing result files safely: never over an input, never over a file we did not make, atomically.

Every command that writes a file goes through this module:

- :func:`check_output` refuses an output path that is one of the command's inputs (always, even
  with ``overwrite=True``) and an existing file (unless ``overwrite=True``), naming the argument,
  the path and the fix;
- :func:`write_atomic` writes to a temporary file beside the target and renames it into place, so
  a killed or failing write never leaves a half-written file under the target's name and never
  destroys the previous file.

Temporary files are named ``.<target name>.<random>.tmp``; :func:`remove_stale_temporaries`
deletes the ones a killed run left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = [
    "TEMP_SUFFIX",
    "check_output",
    "remove_stale_temporaries",
    "same_file",
    "write_atomic",
]

TEMP_SUFFIX = ".tmp"

PathLike = str | os.PathLike[str]


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (same inode, or the same resolved path)."""
    pa, pb = Path(a), Path(b)
    try:
        return os.path.samefile(pa, pb)
    except OSError:
        return pa.resolve() == pb.resolve()


def check_output(
    path: PathLike,
    *,
    inputs: Iterable[PathLike | None] = (),
    overwrite: bool = False,
    name: str = "--out",
) -> Path:
    """Check that ``path`` may be written; returns it as a :class:`~pathlib.Path`.

    Parameters
    ----------
    path : str or path-like
        The output file.
    inputs : iterable of path-like or None
        The command's input files (None entries are skipped). The output may never be one of
        them, whatever ``overwrite`` says.
    overwrite : bool
        Allow replacing an existing file that is not an input.
    name : str
        The argument's name for messages, e.g. ``"--out"``.

    Raises
    ------
    ValueError
        ``path`` is one of ``inputs``, an existing folder, an existing file without
        ``overwrite``, or its folder does not exist.
    """
    target = Path(path)
    for source in inputs:
        if source is not None and same_file(target, source):
            raise ValueError(
                f"{name} {str(target)!r} is also an input of this command; writing it would "
                f"destroy the input: choose another output path"
            )
    if target.is_dir():
        raise ValueError(f"{name} {str(target)!r} is a folder; give a file path")
    if target.exists() and not overwrite:
        raise ValueError(
            f"{name} {str(target)!r} already exists; choose another path, or pass --overwrite "
            f"to replace it"
        )
    parent = target.parent
    if not parent.is_dir():
        raise ValueError(
            f"{name} {str(target)!r}: the folder {str(parent)!r} does not exist; create it first"
        )
    return target


def write_atomic(
    path: PathLike,
    data: str | bytes | None = None,
    *,
    writer: Callable[[Path], None] | None = None,
) -> None:
    """Write ``data`` (text or bytes), or call ``writer(tmp_path)``, then rename onto ``path``.

    The temporary file lives in the target's folder (so the rename is atomic on POSIX and
    Windows) and is removed when writing fails; its permissions follow the umask, as a file
    opened for writing would.
    """
    if (data is None) == (writer is None):
        raise TypeError("write_atomic needs exactly one of data and writer")
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX
    )
    tmp = Path(tmp_name)
    try:
        if writer is not None:
            os.close(fd)
            writer(tmp)
        elif isinstance(data, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(data or "")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def remove_stale_temporaries(folder: PathLike, names: Iterable[str]) -> list[Path]:
    """Delete the temporaries that :func:`write_atomic` left for ``names`` in ``folder``."""
    removed = []
    for name in names:
        for tmp in Path(folder).glob(f".{name}.*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
