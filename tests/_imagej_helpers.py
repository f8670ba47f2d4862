"""Helpers shared by the ImageJ test modules: waiting for AWT windows, their buttons, test data."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["buttons", "time_lapse", "visible_dialog", "wait"]


def wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` every 50 ms; TimeoutError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def visible_dialog(ij: Any, title: str) -> Any:
    """The visible AWT dialog (a GenericDialog for our commands) called ``title``, or None."""
    for window in ij.JClass("java.awt.Window").getWindows():
        if (
            isinstance(window, ij.JClass("java.awt.Dialog"))
            and window.isVisible()
            and str(window.getTitle()) == title
        ):
            return window
    return None


def buttons(container: Any, ij: Any) -> Iterator[Any]:
    """Every AWT button inside ``container``, depth first."""
    for component in container.getComponents():
        if isinstance(component, ij.JClass("java.awt.Button")):
            yield component
        elif isinstance(component, ij.JClass("java.awt.Container")):
            yield from buttons(component, ij)


def time_lapse(n_t: int = 4, shape: tuple[int, int] = (48, 64)) -> tuple[np.ndarray, np.ndarray]:
    """Two nuclei drifting right; the reporter leaves the nucleus over time: (TCYX, TYX labels)."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    frames, nuclei = [], []
    for t in range(n_t):
        centres = [(16, 16 + t), (32, 44 + t)]
        disks = [((yy - cy) ** 2 + (xx - cx) ** 2) < 36 for cy, cx in centres]
        inside = disks[0] | disks[1]
        nucleus = 20 + 200 * inside + rng.normal(0, 2, shape)
        reporter = np.where(inside, 150.0 - 25 * t, 40.0 + 15 * t) + rng.normal(0, 2, shape)
        frames.append([nucleus, reporter])
        nuclei.append(disks[0] * 1 + disks[1] * 2)
    return np.clip(np.array(frames), 0, None).astype(np.uint16), np.array(nuclei, np.uint16)
