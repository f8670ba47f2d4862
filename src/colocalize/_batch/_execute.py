"""Where a batch's images are measured: in this process, in a local pool or on Dask.

:func:`_execute` yields one result per task (as
:func:`colocalize._batch._worker.process_image` returns it), in the order they finish. The
local pool starts its workers from a fork server (spawn where there is none) with one BLAS
thread each (:data:`WORKER_THREADS`) and isolates an image that kills its worker; a Dask chunk
that fails reports each of its images as failed.
"""

from __future__ import annotations

import itertools
import multiprocessing
import numbers
import os
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from colocalize._batch._worker import (
    WORKER_MODULES,
    ImageTask,
    empty_result,
    init_worker,
    process_image,
    process_images,
)

# At most this many images per Dask task (see _execute_dask) and per local pool task
# (_execute_processes).
_DASK_CHUNK = 8
_POOL_CHUNK = 4


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
        max_workers=n,
        mp_context=_mp_context(),
        initializer=init_worker,
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
