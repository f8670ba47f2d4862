"""A synthetic image repository in the seed paper's layout, with known colocalization.

Used by the batch tests and ``scripts/bench_batch.py``: ``{organelle}/{time}min/series{series}/
image{k}.tif`` three-channel 8-bit images whose red-green correlation grows with a known
per-condition mixing weight, and ``{condition}/series{series}.tif`` two-channel images of puncta
that coincide or sit a known distance apart.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["make_puncta_repository", "make_repository", "mixing_weight"]


def mixing_weight(organelle_index: int, time_index: int) -> float:
    """The known share of the red signal in the green channel of a condition (0.1 .. 0.9)."""
    return min(0.1 + 0.3 * organelle_index + 0.15 * time_index, 0.9)


def make_repository(
    root: str | os.PathLike[str],
    *,
    organelles: Sequence[str] = ("er", "golgi"),
    times: Sequence[int] = (5, 30),
    series: Sequence[int] = (1, 2, 3),
    per_series: int = 1,
    shape: tuple[int, ...] = (64, 64),
    seed: int = 0,
) -> dict[tuple[str, int], float]:
    """Write the repository; returns ``{(organelle, time): mixing weight}``.

    Each image has channels ``red`` (random blobs on a dark background), ``green``
    (``w * red + (1 - w) * independent blobs``, so Pearson grows with ``w``) and ``blue``
    (independent blobs), with a little background noise, as an ImageJ ``CYX`` (or ``CZYX``)
    uint8 TIFF.
    """
    from scipy import ndimage

    from colocalize._io import write_image

    rng = np.random.default_rng(seed)
    base = Path(root)
    weights = {}

    def blobs() -> np.ndarray:
        field = ndimage.gaussian_filter(rng.random(shape), 2.0)
        field = (field - field.min()) / (np.ptp(field) or 1.0)
        return np.clip(field - 0.45, 0, None) / 0.55

    for oi, organelle in enumerate(organelles):
        for ti, time in enumerate(times):
            w = mixing_weight(oi, ti)
            weights[(organelle, int(time))] = w
            for s in series:
                folder = base / organelle / f"{time}min" / f"series{s}"
                folder.mkdir(parents=True, exist_ok=True)
                for k in range(per_series):
                    red = blobs()
                    green = w * red + (1 - w) * blobs()
                    blue = blobs()
                    stack = np.stack([red, green, blue]) * 200 + rng.uniform(0, 30, (3, *shape))
                    data = np.clip(np.rint(stack), 0, 255).astype(np.uint8)
                    axes = "CYX" if len(shape) == 2 else "CZYX"
                    write_image(
                        folder / f"image{k}.tif",
                        data,
                        axes=axes,
                        channel_names=["red", "green", "blue"],
                    )
    return weights


def make_puncta_repository(
    root: str | os.PathLike[str],
    *,
    series: Sequence[int] = (1, 2),
    grid: int = 4,
    pitch: int = 16,
    radius: int = 3,
    shift: int = 8,
) -> dict[str, float]:
    """Write puncta images with a known answer; returns ``{condition: nearest distance}``.

    Each image ``{condition}/series{s}.tif`` (``CYX`` uint8, channels ``a`` and ``b``) holds a
    ``grid x grid`` lattice of discs of ``radius`` pixels, ``pitch`` pixels apart, in channel
    ``a`` (intensity 200 on a background of 10 to 19). In condition ``together`` channel ``b``
    has the same discs (every object overlaps its partner, centre distance 0); in ``apart``
    they are moved by ``shift`` pixels along y and x (no overlap for ``shift > 2 radius /
    sqrt 2``, centre distance ``shift sqrt 2`` when ``shift < pitch / 2``).
    """
    from colocalize._io import write_image

    rng = np.random.default_rng(0)
    size = grid * pitch + 2 * pitch
    yy, xx = np.mgrid[:size, :size]

    def discs(offset: int) -> np.ndarray:
        image = np.zeros((size, size), bool)
        for gy in range(grid):
            for gx in range(grid):
                cy, cx = pitch + gy * pitch + offset, pitch + gx * pitch + offset
                image |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
        return image

    answers = {"together": 0.0, "apart": float(np.hypot(shift, shift))}
    for condition, distance in answers.items():
        folder = Path(root) / condition
        folder.mkdir(parents=True, exist_ok=True)
        b = discs(0 if distance == 0 else shift)
        for s in series:
            a = discs(0)
            data = np.stack([np.where(m, 200, 10 + rng.integers(0, 10, m.shape)) for m in (a, b)])
            write_image(
                folder / f"series{s}.tif",
                data.astype(np.uint8),
                axes="CYX",
                channel_names=["a", "b"],
            )
    return answers
