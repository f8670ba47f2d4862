"""The Python worker behind a plain ImageJ/Fiji launch: ``python -m colocalize.imagej._worker``
(or ``colocalize imagej-worker``), started and reused by the Java shim.

Protocol (``docs/bridge-protocol.md``): one JSON object per line on stdin and stdout; a
message's buffers are files named in its ``"buffers"`` list (``{"path", "size"}``), response
buffers are written as new files into ``--buffer-dir``. The first line is READY. Requests run one
at a time on the main thread; a reader thread takes CANCEL lines while a command runs, and the
end of stdin (ImageJ quit or died) ends the process. The real stdout is reserved for the
protocol: ``sys.stdout`` is redirected to stderr, so a stray ``print`` cannot corrupt it.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["main"]


def _read_buffers(message: dict[str, Any]) -> list[Any]:
    """The buffers of a request: read-only memory maps of its files (empty files as b"")."""
    buffers: list[Any] = []
    for entry in message.get("buffers") or []:
        size = int(entry["size"])
        if size == 0:
            buffers.append(b"")
            continue
        with open(entry["path"], "rb") as file:
            buffers.append(mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ))
    return buffers


def _write_buffers(arrays: Sequence[np.ndarray], folder: Path, task: Any) -> list[dict[str, Any]]:
    entries = []
    for i, array in enumerate(arrays):
        handle, name = tempfile.mkstemp(prefix=f"r{task}-{i}-", suffix=".bin", dir=folder)
        with os.fdopen(handle, "wb") as file:
            file.write(np.ascontiguousarray(array).data)
        entries.append({"path": name, "size": int(array.nbytes)})
    return entries


class _Connection:
    """stdin/stdout of the worker: a reader thread queues requests and flags CANCELs."""

    def __init__(self, stdin: IO[str], stdout: IO[str]) -> None:
        self.stdout = stdout
        self.requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, args=(stdin,), daemon=True).start()

    def _read(self, stdin: IO[str]) -> None:
        for line in stdin:
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError as exc:
                print(
                    f"colocalize worker: unreadable line ignored ({exc}): {line[:200]}",
                    file=sys.stderr,
                )
                continue
            if message.get("requestType") == "CANCEL":
                self.cancel.set()
            else:
                self.requests.put(message)
        self.requests.put(None)  # end of stdin: ImageJ is gone

    def send(self, text: str) -> None:
        with self.lock:
            self.stdout.write(text + "\n")
            self.stdout.flush()


def _warm_up() -> None:
    """Import what the first command needs (pandas, the table code, the handlers) while ImageJ
    prepares its first request: the first call of a session is then not slowed by imports."""
    import colocalize

    tiny = np.arange(32, dtype=np.uint16).reshape(2, 4, 4)
    colocalize.coefficient_table(tiny, channel_axis=0)


def serve_forever(stdin: IO[str], stdout: IO[str], folder: Path) -> None:
    """Answer requests until stdin ends."""
    from colocalize.imagej._protocol import serve, version

    connection = _Connection(stdin, stdout)
    connection.send(json.dumps({"responseType": "READY", "version": version(), "pid": os.getpid()}))
    threading.Thread(target=_warm_up, daemon=True).start()
    while True:
        message = connection.requests.get()
        if message is None:
            return
        connection.cancel.clear()
        task = message.get("task")
        try:
            buffers = _read_buffers(message)
        except OSError as exc:
            connection.send(
                json.dumps(
                    {
                        "task": task,
                        "responseType": "FAILURE",
                        "error": f"the colocalize worker could not read the request's pixels: "
                        f"{exc}",
                        "detail": "",
                    }
                )
            )
            continue
        text, arrays = serve(
            json.dumps({k: v for k, v in message.items() if k != "buffers"}),
            buffers,
            update=connection.send,
            cancelled=connection.cancel.is_set,
        )
        if arrays:
            reply = json.loads(text)
            reply["buffers"] = _write_buffers(arrays, folder, task)
            text = json.dumps(reply, allow_nan=False)
        del buffers  # the memory maps close once no array uses them
        connection.send(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="colocalize imagej-worker",
        description="The Python worker of colocalize's ImageJ shim (started by ImageJ).",
    )
    parser.add_argument(
        "--buffer-dir", type=Path, help="folder for response buffers (default: a temp folder)"
    )
    args = parser.parse_args(argv)
    folder = args.buffer_dir or Path(tempfile.mkdtemp(prefix="colocalize-worker-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    protocol = sys.stdout
    sys.stdout = sys.stderr  # print() from anywhere must not reach the protocol stream
    serve_forever(sys.stdin, protocol, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
