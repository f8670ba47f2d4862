"""Object-based colocalization of puncta: overlaps, centre distances, JACoP's coincidences and a
DiAna-style randomization test.

Each channel's objects come from a threshold plus connected components, or from a label image;
every object is measured against the objects of the other channel (one row per object), and each
channel gets summaries (one row per image). Definitions and the differences from JACoP and DiAna
are in ``docs/objects.md``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from colocalize._channels import as_labels, resolve_spacing, spacing_of
from colocalize._validation import as_image, as_mask, check_same_shape, warn_degenerate

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ChannelObjects",
    "ObjectColocalization",
    "PlacementTest",
    "label_puncta",
    "object_colocalization",
]

Centre = Literal["mass", "geometric"]
Randomize = Literal["shape", "centre"]
_CENTRES = ("mass", "geometric")
_RANDOMIZE = ("shape", "centre")
# Shape placement: random positions tried per object before giving up.
_MAX_TRIES = 1024


@dataclass(frozen=True)
class PlacementTest:
    """Randomization test of one channel's objects against the other channel's (kept fixed).

    Attributes
    ----------
    n_randomizations : int
        Number of random placements ``n``.
    randomize : {"shape", "centre"}
        What was placed at random: each object's whole shape (inside the mask, not overlapping
        the other moved objects) or only its centre (a uniform point of the mask).
    observed_mean_distance, random_mean_distance : float
        Mean centre distance to the nearest object of the fixed channel (calibrated), observed
        and averaged over the randomizations.
    p_distance : float
        ``(k + 1) / (n + 1)`` with ``k`` the randomizations whose mean distance is ``<=`` the
        observed one: small when the objects sit closer to the fixed channel than chance.
    observed_centre_fraction, random_centre_fraction : float
        Fraction of objects whose centre lies inside an object of the fixed channel (JACoP's
        centre-particle coincidence), observed and averaged over the randomizations.
    p_centre : float
        ``(k + 1) / (n + 1)`` with ``k`` the randomizations whose fraction is ``>=`` the observed
        one.
    random_mean_distances, random_centre_fractions : tuple of float
        The statistic of every randomization.
    """

    n_randomizations: int
    randomize: str
    observed_mean_distance: float
    random_mean_distance: float
    p_distance: float
    observed_centre_fraction: float
    random_centre_fraction: float
    p_centre: float
    random_mean_distances: tuple[float, ...]
    random_centre_fractions: tuple[float, ...]


@dataclass(frozen=True)
class ChannelObjects:
    """The objects of one channel measured against the objects of the other channel.

    Per-object fields are tuples with one entry per object, in label order; coordinates and
    distances are calibrated (pixel index times ``spacing``, axis order (z, y, x)).

    Attributes
    ----------
    ndim : int
        Number of spatial axes, 2 or 3 (the length of each centre).
    threshold : float
        The threshold used (foreground ``image > threshold``), in image units; NaN when the
        objects came from a label image.
    labels : tuple of int
        The object labels (1..n in raster order when thresholded).
    n_pixels : tuple of int
        Pixels (voxels) per object.
    size : tuple of float
        Calibrated area (2D) or volume (3D): ``n_pixels * prod(spacing)``.
    centre_of_mass, centroid : tuple of tuple of float
        Intensity-weighted and geometric centres. A centre of mass is NaN (with a
        :class:`~colocalize.ColocalizeWarning`) when the object's total intensity is 0.
    overlap_fraction : tuple of float
        Fraction of the object's pixels inside any object of the other channel.
    partner : tuple of int
        Label of the other channel's object sharing the most pixels (smallest label on ties);
        0 when it overlaps none.
    nearest_distance : tuple of float
        Distance from the object's centre to the nearest centre of the other channel (the
        centre chosen by ``centre``); NaN when the other channel has no object.
    nearest_label : tuple of int
        Label of that nearest object (0 when none).
    centre_in_other : tuple of bool
        The object's centre lies in an object of the other channel (JACoP's centre-particle
        coincidence, centre side).
    contains_other_centre : tuple of bool
        The object contains the centre of at least one object of the other channel (JACoP's
        centre-particle coincidence, particle side).
    n_objects : int
        Number of objects.
    fraction_overlapping : float
        Fraction of objects with ``overlap_fraction > min_overlap``.
    fraction_near : float
        Fraction of objects with ``nearest_distance <= max_distance`` (NaN without
        ``max_distance``).
    fraction_centre_in_other, fraction_containing_other_centre : float
        Fractions of objects with ``centre_in_other`` and ``contains_other_centre``.
    mean_distance, median_distance : float
        Mean and median of ``nearest_distance``.
    test : PlacementTest or None
        The randomization test of these objects against the other channel (None when
        ``randomizations=0``).
    """

    ndim: int
    threshold: float
    labels: tuple[int, ...]
    n_pixels: tuple[int, ...]
    size: tuple[float, ...]
    centre_of_mass: tuple[tuple[float, ...], ...]
    centroid: tuple[tuple[float, ...], ...]
    overlap_fraction: tuple[float, ...]
    partner: tuple[int, ...]
    nearest_distance: tuple[float, ...]
    nearest_label: tuple[int, ...]
    centre_in_other: tuple[bool, ...]
    contains_other_centre: tuple[bool, ...]
    n_objects: int
    fraction_overlapping: float
    fraction_near: float
    fraction_centre_in_other: float
    fraction_containing_other_centre: float
    mean_distance: float
    median_distance: float
    test: PlacementTest | None

    def to_dataframe(self, *, min_overlap: float = 0.0, max_distance: float | None = None) -> Any:
        """One row per object as a ``pandas.DataFrame`` (needs pandas).

        Columns: ``label, n_pixels, size``, the centres (``com_z, com_y, com_x``,
        ``centroid_z, ...``; no ``z`` columns in 2D), ``overlap_fraction, partner,
        nearest_distance, nearest_label, centre_in_other, contains_other_centre``, and the
        per-object decisions ``overlapping`` (``overlap_fraction > min_overlap``) and ``near``
        (``nearest_distance <= max_distance``; missing without ``max_distance``).
        """
        import pandas as pd

        ndim = self.ndim
        axes = "zyx"[3 - ndim :]
        columns: dict[str, Any] = {
            "label": np.asarray(self.labels, dtype=np.int64),
            "n_pixels": np.asarray(self.n_pixels, dtype=np.int64),
            "size": np.asarray(self.size, dtype=float),
        }
        for prefix, centres in (("com", self.centre_of_mass), ("centroid", self.centroid)):
            values = np.asarray(centres, dtype=float).reshape(-1, ndim)
            for k, axis in enumerate(axes):
                columns[f"{prefix}_{axis}"] = values[:, k]
        overlap = np.asarray(self.overlap_fraction, dtype=float)
        distance = np.asarray(self.nearest_distance, dtype=float)
        columns.update(
            overlap_fraction=overlap,
            partner=np.asarray(self.partner, dtype=np.int64),
            nearest_distance=distance,
            nearest_label=np.asarray(self.nearest_label, dtype=np.int64),
            centre_in_other=np.asarray(self.centre_in_other, dtype=bool),
            contains_other_centre=np.asarray(self.contains_other_centre, dtype=bool),
            overlapping=overlap > min_overlap,
        )
        if max_distance is not None:
            columns["near"] = distance <= max_distance
        return pd.DataFrame(columns)


@dataclass(frozen=True)
class ObjectColocalization:
    """Object-based colocalization of two channels (see :func:`object_colocalization`).

    Attributes
    ----------
    objects0, objects1 : ChannelObjects
        Channel 0's objects measured against channel 1's, and the reverse.
    spacing : tuple of float
        Pixel size per axis used for every calibrated value.
    min_overlap : float
        An object counts as overlapping when its overlap fraction is above this.
    max_distance : float or None
        An object counts as near when its nearest centre distance is at most this.
    centre : {"mass", "geometric"}
        The centre used for distances and coincidences.
    """

    objects0: ChannelObjects
    objects1: ChannelObjects
    spacing: tuple[float, ...]
    min_overlap: float
    max_distance: float | None
    centre: str

    def object_table(self) -> pd.DataFrame:
        """One row per object of both channels (a ``channel`` column, 0 or 1, comes first)."""
        import pandas as pd

        frames = []
        for channel, objects in enumerate((self.objects0, self.objects1)):
            frame = objects.to_dataframe(
                min_overlap=self.min_overlap, max_distance=self.max_distance
            )
            frame.insert(0, "channel", channel)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def summary_table(self) -> pd.DataFrame:
        """One row for the image: every per-channel summary with the suffix 0 or 1.

        Columns: ``threshold``, ``n_objects``, ``fraction_overlapping``, ``fraction_near``,
        ``fraction_centre_in_other``, ``fraction_containing_other_centre``, ``mean_distance``,
        ``median_distance`` and, with a randomization test, ``p_distance``, ``p_centre``,
        ``random_mean_distance``, ``random_centre_fraction`` (each with 0 and 1), then
        ``min_overlap``, ``max_distance``, ``centre`` and ``randomizations``.
        """
        import pandas as pd

        row: dict[str, Any] = {}
        keys = (
            "threshold",
            "n_objects",
            "fraction_overlapping",
            "fraction_near",
            "fraction_centre_in_other",
            "fraction_containing_other_centre",
            "mean_distance",
            "median_distance",
        )
        tests = ("p_distance", "p_centre", "random_mean_distance", "random_centre_fraction")
        for key in keys:
            for channel, objects in enumerate((self.objects0, self.objects1)):
                row[f"{key}{channel}"] = getattr(objects, key)
        randomizations = 0
        for key in tests:
            for channel, objects in enumerate((self.objects0, self.objects1)):
                if objects.test is not None:
                    row[f"{key}{channel}"] = getattr(objects.test, key)
                    randomizations = objects.test.n_randomizations
        row.update(
            min_overlap=self.min_overlap,
            max_distance=math.nan if self.max_distance is None else self.max_distance,
            centre=self.centre,
            randomizations=randomizations,
        )
        return pd.DataFrame([row])


# ----------------------------------------------------------------------------------- objects


def _spatial(image: object, name: str) -> np.ndarray:
    arr = as_image(image, name=name, allow_negative=False, min_ndim=2)
    if arr.ndim > 3:
        raise ValueError(
            f"{name} must be a 2D (M, N) or 3D (P, M, N) image, got shape {arr.shape}; pass one "
            f"channel and one time point."
        )
    return arr


def _check_size_range(min_size: float | None, max_size: float | None) -> tuple[float, float]:
    low = 0.0 if min_size is None else float(min_size)
    high = math.inf if max_size is None else float(max_size)
    if not (math.isfinite(low) and low >= 0):
        raise ValueError(
            f"min_size must be a number >= 0 (calibrated area or volume), got {min_size!r}."
        )
    if math.isnan(high) or high < low:
        raise ValueError(
            f"max_size must be a number >= min_size ({low}), got {max_size!r}; omit it for no "
            f"upper limit."
        )
    return low, high


def _resolve_threshold(
    image: np.ndarray, threshold: object, mask: np.ndarray | None, name: str
) -> float:
    from colocalize._threshold._auto import resolve_method
    from colocalize._threshold._auto import threshold as auto_threshold

    if isinstance(threshold, str):
        method = resolve_method(threshold, name=name)
        if mask is not None and not mask.any():
            return math.nan  # nothing to threshold: the caller warns of the empty mask
        return auto_threshold(image, method, mask=mask)
    if isinstance(threshold, (int, float, np.integer, np.floating)) and not isinstance(
        threshold, bool
    ):
        value = float(threshold)
        if math.isfinite(value):
            return value
    raise ValueError(
        f"{name} must be a finite number (foreground: image > threshold) or an ImageJ method "
        f"name such as 'Otsu', got {threshold!r}."
    )


def _filter_sizes(labels: np.ndarray, voxel: float, low: float, high: float) -> np.ndarray:
    """Zero the objects whose calibrated size is outside [low, high] (a new array)."""
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    sizes = counts * voxel
    drop = ids[(sizes < low) | (sizes > high)]
    out = labels.copy()
    if drop.size:
        out[np.isin(labels, drop)] = 0
    return out


def label_puncta(
    image: object,
    *,
    threshold: float | str = "Otsu",
    mask: object | None = None,
    spacing: float | Sequence[float] | None = None,
    min_size: float | None = None,
    max_size: float | None = None,
) -> np.ndarray:
    """Label the objects (puncta) of one channel: threshold, then connected components.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array_like or Image
        Non-negative intensities; a :class:`colocalize.Image` of one channel gives its pixels.
    threshold : float or str
        The foreground is ``image > threshold`` (inside ``mask``); a method name of
        :func:`~colocalize.threshold_methods` (any case) is computed with
        :func:`colocalize.threshold` over the mask. Default ``"Otsu"``.
    mask : array_like of bool, optional
        Only pixels inside the mask can belong to objects (an empty mask gives no objects, with
        a :class:`~colocalize.ColocalizeWarning`).
    spacing : float or sequence of float, optional
        Pixel size per axis, for the size limits (default: an ``Image``'s spatial pixel sizes,
        else 1.0).
    min_size, max_size : float, optional
        Keep objects whose calibrated area (2D) or volume (3D), ``n_pixels * prod(spacing)``, is
        within ``[min_size, max_size]``.

    Returns
    -------
    ndarray of int32, the shape of ``image``
        Objects numbered 1..n in raster order of their first pixel ((z,) y, x), 0 is background.
        Pixels touching by an edge or a corner belong to the same object: 8-connectivity in 2D,
        26-connectivity in 3D (``scipy.ndimage.generate_binary_structure(ndim, ndim)``), as
        JACoP's and ImageJ's 3D Objects Counter.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 7), np.uint8)
    >>> image[1:3, 1:3] = 200
    >>> image[3, 3] = 150  # touches the first square by a corner
    >>> image[1:4, 5] = 90
    >>> label_puncta(image, threshold=50)
    array([[0, 0, 0, 0, 0, 0, 0],
           [0, 1, 1, 0, 0, 2, 0],
           [0, 1, 1, 0, 0, 2, 0],
           [0, 0, 0, 1, 0, 2, 0],
           [0, 0, 0, 0, 0, 0, 0]], dtype=int32)
    """
    arr = _spatial(image, "image")
    sp = resolve_spacing(spacing_of(image, spacing), arr.ndim)
    low, high = _check_size_range(min_size, max_size)
    mask_arr = None if mask is None else as_mask(mask, arr.shape)
    if mask_arr is not None and not mask_arr.any():
        warn_degenerate("label_puncta: the mask is empty (no non-zero pixel): no objects.")
    return _label(arr, threshold, mask_arr, sp, low, high, "threshold")[0]


def _label(
    image: np.ndarray,
    threshold: object,
    mask: np.ndarray | None,
    spacing: tuple[float, ...],
    low: float,
    high: float,
    name: str,
) -> tuple[np.ndarray, float]:
    from scipy import ndimage as ndi

    t = _resolve_threshold(image, threshold, mask, name)
    foreground = image > t if not math.isnan(t) else np.zeros(image.shape, bool)
    if mask is not None:
        foreground &= mask
    structure = ndi.generate_binary_structure(image.ndim, image.ndim)
    labels, _ = ndi.label(foreground, structure=structure, output=np.int32)
    if low > 0 or math.isfinite(high):
        labels = _filter_sizes(labels, float(np.prod(spacing)), low, high)
        labels, _ = ndi.label(labels > 0, structure=structure, output=np.int32)
    return labels, t


# ------------------------------------------------------------------------------ measurements


@dataclass(frozen=True)
class _Objects:
    """One channel's objects in compact form (index k = 0..n-1 for label ids[k])."""

    ids: np.ndarray  # (n,) labels
    dense: np.ndarray  # image of k + 1 (0 = background), int32
    coords: tuple[np.ndarray, ...]  # pixel coordinates of every object pixel
    index: np.ndarray  # k of every object pixel
    n_pixels: np.ndarray
    centroid: np.ndarray  # (n, ndim) in pixels (index units)
    centre_of_mass: np.ndarray  # (n, ndim) in pixels, NaN rows when no intensity

    def centres(self, centre: str) -> np.ndarray:
        return self.centre_of_mass if centre == "mass" else self.centroid


def _objects(labels: np.ndarray, image: np.ndarray) -> _Objects:
    """Centres in pixel units: sums of integer coordinates (times integer intensities) are exact
    in float64, so the pixel holding a centre does not depend on where the object lies."""
    coords = np.nonzero(labels)
    ids, index = np.unique(labels[coords], return_inverse=True)
    index = index.ravel()
    n = ids.size
    dense = np.zeros(labels.shape, np.int32)
    dense[coords] = index + 1
    n_pixels = np.bincount(index, minlength=n)
    weights = image[coords].astype(np.float64)
    mass = np.bincount(index, weights=weights, minlength=n)
    centroid = np.empty((n, labels.ndim))
    com = np.empty((n, labels.ndim))
    with np.errstate(invalid="ignore", divide="ignore"):
        for axis, c in enumerate(coords):
            position = c.astype(np.float64)
            centroid[:, axis] = np.bincount(index, weights=position, minlength=n) / n_pixels
            com[:, axis] = np.bincount(index, weights=position * weights, minlength=n) / mass
    com[mass <= 0] = np.nan
    return _Objects(ids, dense, coords, index, n_pixels, centroid, com)


def _label_at(dense: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``dense`` at the pixel holding each centre (pixel units), ``floor(centre + 1/2)``; 0 for
    NaN centres."""
    out = np.zeros(len(centres), np.int64)
    ok = np.isfinite(centres).all(axis=1)
    if ok.any():
        pixel = np.clip(np.floor(centres[ok] + 0.5), 0, np.asarray(dense.shape) - 1)
        out[ok] = dense[tuple(pixel.astype(np.intp).T)]
    return out


def _nearest(centres: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to and index of the nearest finite row of ``other`` (NaN, -1 when none)."""
    from scipy.spatial import cKDTree

    distance = np.full(len(centres), np.nan)
    index = np.full(len(centres), -1, np.int64)
    valid = np.flatnonzero(np.isfinite(other).all(axis=1))
    ok = np.isfinite(centres).all(axis=1)
    if valid.size and ok.any():
        d, k = cKDTree(other[valid]).query(centres[ok], k=1)
        distance[ok] = d
        index[ok] = valid[k]
    return distance, index


def _overlaps(a: _Objects, b: _Objects) -> tuple[np.ndarray, np.ndarray]:
    """Overlap fraction of each object of ``a`` with ``b``'s objects, and its main partner."""
    n = a.ids.size
    other = b.dense[a.coords]
    inside = other > 0
    overlap = np.bincount(a.index[inside], minlength=n) / np.maximum(a.n_pixels, 1)
    partner = np.zeros(n, np.int64)
    if inside.any():
        key = a.index[inside].astype(np.int64) * (b.ids.size + 1) + other[inside]
        pairs, counts = np.unique(key, return_counts=True)
        first, second = np.divmod(pairs, b.ids.size + 1)
        # per object of a: largest count, then the smallest partner label
        order = np.lexsort((b.ids[second - 1], -counts, first))
        first, second = first[order], second[order]
        keep = np.ones(first.size, bool)
        keep[1:] = first[1:] != first[:-1]
        partner[first[keep]] = b.ids[second[keep] - 1]
    return overlap, partner


def _fraction(flags: np.ndarray) -> float:
    return float(np.mean(flags)) if flags.size else math.nan


def _measure(
    a: _Objects,
    b: _Objects,
    *,
    threshold: float,
    spacing: np.ndarray,
    centre: str,
    min_overlap: float,
    max_distance: float | None,
) -> ChannelObjects:
    centres_a, centres_b = a.centres(centre), b.centres(centre)
    overlap, partner = _overlaps(a, b)
    distance, nearest = _nearest(centres_a * spacing, centres_b * spacing)
    nearest_label = np.zeros(a.ids.size, np.int64)
    nearest_label[nearest >= 0] = b.ids[nearest[nearest >= 0]]
    centre_in = _label_at(b.dense, centres_a) > 0
    hit = _label_at(a.dense, centres_b)
    contains = np.zeros(a.ids.size, bool)
    contains[hit[hit > 0] - 1] = True
    finite = distance[np.isfinite(distance)]
    near = (
        math.nan
        if max_distance is None or not a.ids.size
        else float(np.mean(np.nan_to_num(distance, nan=math.inf) <= max_distance))
    )
    return ChannelObjects(
        ndim=a.dense.ndim,
        threshold=float(threshold),
        labels=tuple(int(v) for v in a.ids),
        n_pixels=tuple(int(v) for v in a.n_pixels),
        size=tuple(float(v) * float(np.prod(spacing)) for v in a.n_pixels),
        centre_of_mass=tuple(tuple(float(x) for x in row) for row in a.centre_of_mass * spacing),
        centroid=tuple(tuple(float(x) for x in row) for row in a.centroid * spacing),
        overlap_fraction=tuple(float(v) for v in overlap),
        partner=tuple(int(v) for v in partner),
        nearest_distance=tuple(float(v) for v in distance),
        nearest_label=tuple(int(v) for v in nearest_label),
        centre_in_other=tuple(bool(v) for v in centre_in),
        contains_other_centre=tuple(bool(v) for v in contains),
        n_objects=int(a.ids.size),
        fraction_overlapping=_fraction(overlap > min_overlap),
        fraction_near=near,
        fraction_centre_in_other=_fraction(centre_in),
        fraction_containing_other_centre=_fraction(contains),
        mean_distance=float(np.mean(finite)) if finite.size else math.nan,
        median_distance=float(np.median(finite)) if finite.size else math.nan,
        test=None,
    )


# ---------------------------------------------------------------------------- randomization


@dataclass(frozen=True)
class _Shapes:
    """The pixels of every object as offsets from its first pixel (its anchor)."""

    owner: np.ndarray  # object index of every pixel
    offsets: np.ndarray  # (pixels, ndim)
    anchors: np.ndarray  # (objects, ndim)

    @classmethod
    def of(cls, a: _Objects) -> _Shapes:
        order = np.argsort(a.index, kind="stable")
        pixels = np.stack(a.coords, axis=1)[order]
        owner = a.index[order]
        starts = np.concatenate(([0], np.cumsum(a.n_pixels)[:-1]))
        anchors = pixels[starts]
        return cls(owner, pixels - anchors[owner], anchors)


def _draw(
    region_flat: np.ndarray, shape: tuple[int, ...], size: Any, rng: np.random.Generator
) -> np.ndarray:
    """Uniform random pixels of the region, as (..., ndim) indices."""
    flat = region_flat[rng.integers(0, region_flat.size, size)]
    return np.stack(np.unravel_index(flat, shape), axis=-1)


def _place_shapes(
    shapes: _Shapes,
    centres: np.ndarray,
    region: np.ndarray,
    region_flat: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """New centres (pixel units) after moving every shape to a uniform random position where it
    lies inside ``region`` and overlaps no other moved shape; None when one finds no place.

    Objects are tried in a random order, all pending ones at once per round: a proposal is kept
    when its pixels are free and no earlier pending object's proposal covers any of them; the
    others draw again (at most ``_MAX_TRIES`` rounds)."""
    shape = np.asarray(region.shape)
    free = region.ravel().copy()
    moved = centres.copy()
    rank = np.empty(len(shapes.anchors), np.intp)
    pending = rng.permutation(len(shapes.anchors))
    for _ in range(_MAX_TRIES):
        if not pending.size:
            return moved
        picks = _draw(region_flat, region.shape, pending.size, rng)
        rank[:] = -1
        rank[pending] = np.arange(pending.size)
        mine = rank[shapes.owner] >= 0
        r_pix = rank[shapes.owner[mine]]
        where = shapes.offsets[mine] + picks[r_pix]
        inside = ((where >= 0) & (where < shape)).all(axis=1)
        flat = np.ravel_multi_index(tuple(np.clip(where, 0, shape - 1).T), region.shape)
        ok = inside & free[flat]
        bad = np.bincount(r_pix[~ok], minlength=pending.size) > 0
        # among the remaining proposals, the lowest rank wins every shared pixel
        keep = ~bad[r_pix]
        vf, vr = flat[keep], r_pix[keep]
        order = np.lexsort((vr, vf))
        vf, vr = vf[order], vr[order]
        shared = np.zeros(vf.size, bool)
        shared[1:] = vf[1:] == vf[:-1]
        bad[vr[shared]] = True
        accept = ~bad
        free[flat[accept[r_pix]]] = False
        done = pending[accept]
        moved[done] = centres[done] + (picks[accept] - shapes.anchors[done])
        pending = pending[~accept]
    return moved if not pending.size else None


def _placement_test(
    a: _Objects,
    b: _Objects,
    *,
    centre: str,
    region: np.ndarray,
    spacing: np.ndarray,
    randomizations: int,
    randomize: str,
    rng: np.random.Generator,
) -> PlacementTest:
    from scipy.spatial import cKDTree

    nan_test = PlacementTest(
        randomizations,
        randomize,
        math.nan,
        math.nan,
        math.nan,
        math.nan,
        math.nan,
        math.nan,
        (),
        (),
    )
    centres_a, centres_b = a.centres(centre), b.centres(centre)
    keep_a = np.isfinite(centres_a).all(axis=1)
    keep_b = np.isfinite(centres_b).all(axis=1)
    if not keep_a.any() or not keep_b.any():
        return nan_test
    tree = cKDTree(centres_b[keep_b] * spacing)
    observed_d = float(np.mean(tree.query(centres_a[keep_a] * spacing, k=1)[0]))
    observed_c = float(np.mean(_label_at(b.dense, centres_a[keep_a]) > 0))
    region_flat = np.flatnonzero(region)
    if randomize == "centre":
        n = int(keep_a.sum())
        picks = _draw(region_flat, region.shape, (randomizations, n), rng)
        jitter = rng.random(picks.shape) - 0.5
        positions = (picks + jitter) * spacing
        distances = tree.query(positions.reshape(-1, positions.shape[-1]), k=1)[0]
        mean_d = distances.reshape(randomizations, n).mean(axis=1)
        hits = b.dense[tuple(np.moveaxis(picks, -1, 0))] > 0
        frac_c = hits.mean(axis=1)
    else:
        mean_d = np.empty(randomizations)
        frac_c = np.empty(randomizations)
        shapes = _Shapes.of(a)
        for r in range(randomizations):
            moved = _place_shapes(shapes, centres_a, region, region_flat, rng)
            if moved is None:
                warn_degenerate(
                    "randomization test: an object of the moved channel found no free place "
                    "inside the mask after "
                    f"{_MAX_TRIES} tries; its p-values are NaN (use "
                    "randomize='centre', or a larger mask).",
                    stacklevel=5,
                )
                return nan_test
            moved = moved[keep_a]
            mean_d[r] = np.mean(tree.query(moved * spacing, k=1)[0])
            frac_c[r] = np.mean(_label_at(b.dense, moved) > 0)
    k_d = int(np.count_nonzero(mean_d <= observed_d))
    k_c = int(np.count_nonzero(frac_c >= observed_c))
    return PlacementTest(
        n_randomizations=randomizations,
        randomize=randomize,
        observed_mean_distance=observed_d,
        random_mean_distance=float(np.mean(mean_d)),
        p_distance=(k_d + 1) / (randomizations + 1),
        observed_centre_fraction=observed_c,
        random_centre_fraction=float(np.mean(frac_c)),
        p_centre=(k_c + 1) / (randomizations + 1),
        random_mean_distances=tuple(float(v) for v in mean_d),
        random_centre_fractions=tuple(float(v) for v in frac_c),
    )


# ------------------------------------------------------------------------------------ main


def _given_labels(
    labels: object, shape: tuple[int, ...], mask: np.ndarray | None, name: str
) -> np.ndarray:
    lab = as_labels(labels, name)
    if lab.shape != shape:
        raise ValueError(
            f"{name} has shape {lab.shape} but the images have shape {shape}; pass a label "
            f"image of the same shape."
        )
    return np.where(mask, lab, 0) if mask is not None else lab


def check_criteria(min_overlap: Any, max_distance: Any) -> tuple[float, float | None]:
    """``min_overlap`` (a fraction in [0, 1)) and ``max_distance`` (>= 0, calibrated, or None)
    of :func:`object_colocalization`, checked; batch checks them with this before any image."""
    try:
        overlap = float(min_overlap)
    except (TypeError, ValueError):
        overlap = math.nan
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"min_overlap must be a fraction in [0, 1), got {min_overlap!r}.")
    if max_distance is None:
        return overlap, None
    try:
        distance = float(max_distance)
    except (TypeError, ValueError):
        distance = math.nan
    if not (math.isfinite(distance) and distance >= 0):
        raise ValueError(
            f"max_distance must be a number >= 0 in calibrated units, got {max_distance!r}; "
            f"omit it for no distance criterion."
        )
    return overlap, distance


def object_colocalization(
    image0: object,
    image1: object,
    *,
    thresholds: float | str | Sequence[float | str] = "Otsu",
    labels0: object | None = None,
    labels1: object | None = None,
    mask: object | None = None,
    spacing: float | Sequence[float] | None = None,
    min_size: float | None = None,
    max_size: float | None = None,
    min_overlap: float = 0.0,
    max_distance: float | None = None,
    centre: Centre = "mass",
    randomizations: int = 0,
    randomize: Randomize = "shape",
    rng: object = None,
) -> ObjectColocalization:
    """Object-based colocalization of two channels: per object and per image.

    Each channel's objects are found with :func:`label_puncta` (threshold, 8-connectivity in
    2D, 26 in 3D) unless a label image is given. Every object of one channel is then measured
    against the objects of the other:

    - overlap fraction ``|O ∩ (objects of the other channel)| / |O|`` and the partner label
      with the largest ``|O ∩ P|``;
    - ``d(O) = min_P ||c(O) - c(P)||``, the calibrated distance between centres
      (``c`` = centre of mass ``Σ I x / Σ I`` or geometric centre ``Σ x / n``), with a k-d tree;
    - JACoP's centre-particle coincidence: ``c(O)`` lies in an object of the other channel
      (the pixel ``floor(c / spacing + 1/2)``), and ``O`` contains the centre of another
      channel's object.

    Per channel: the fractions of objects with ``overlap > min_overlap``, with
    ``d <= max_distance``, with each coincidence, and the mean and median of ``d``. With
    ``randomizations = n > 0``, each channel's objects are placed at random inside the mask
    ``n`` times while the other channel stays fixed (DiAna's shuffle), and the one-sided
    p-values ``(k + 1) / (n + 1)`` count the placements at least as colocalized as observed
    (mean ``d`` ``<=`` observed; fraction of centres inside the other channel ``>=``
    observed).

    Parameters
    ----------
    image0, image1 : (M, N) or (P, M, N) array_like or Image
        The two channels, non-negative intensities (they weight the centres of mass); a
        :class:`colocalize.Image` of one channel gives its pixels.
    thresholds : float or str, or a pair of them
        Per channel (one value for both): foreground ``image > t``, ``t`` a number in image units
        or an ImageJ method name (any case), computed inside ``mask``. Default ``"Otsu"``.
        Ignored for a channel given ``labels0``/``labels1``.
    labels0, labels1 : array_like of int, optional
        Label images (0 = background, same shape as the images) giving a channel's objects.
    mask : array_like of bool, optional
        The region analysed: objects are cut to it and random placements stay in it. Default:
        the whole image. An empty mask gives no objects and NaN fractions and distances.
    spacing : float or sequence of float, optional
        Pixel size per axis, (z, y, x) or (y, x): calibrates sizes, centres and distances.
        Default: the spatial pixel sizes of ``image0`` if it is an ``Image`` (else of
        ``image1``), else 1.0.
    min_size, max_size : float, optional
        Keep objects whose calibrated area/volume is within ``[min_size, max_size]`` (applied
        to label images too).
    min_overlap : float
        Objects with an overlap fraction above this count as overlapping, in [0, 1); default 0:
        at least one pixel in common.
    max_distance : float, optional
        Objects whose nearest centre distance is at most this (calibrated) count as near;
        default: no distance criterion (``fraction_near`` is NaN).
    centre : {"mass", "geometric"}
        The centre used for distances and coincidences (both are reported).
    randomizations : int
        Number of random placements for the test (0, the default, skips it).
    randomize : {"shape", "centre"}
        Place each object's whole shape (inside the mask, no two moved objects overlapping) or
        only its centre (uniform in the mask).
    rng : int or numpy.random.Generator, optional
        Seed or generator for the placements.

    Returns
    -------
    ObjectColocalization
        ``objects0`` (channel 0 against channel 1) and ``objects1`` (the reverse), each a
        :class:`ChannelObjects`; ``object_table()`` and ``summary_table()`` give pandas
        tables (one row per object, one row per image).

    Raises
    ------
    ValueError
        For images of different shapes or with negative values, a bad threshold or method name,
        label images of another shape, or an option out of range.

    Warns
    -----
    ColocalizeWarning
        An empty mask or a channel without objects (the fractions and distances are NaN), or an
        object with no intensity (its centre of mass is NaN).

    Notes
    -----
    Definitions, and every difference from JACoP (Bolte & Cordelières 2006,
    doi:10.1111/j.1365-2818.2006.01706.x) and DiAna (Gilles et al. 2017,
    doi:10.1016/j.ymeth.2016.11.016), are in ``docs/objects.md``.

    Examples
    --------
    >>> import numpy as np
    >>> import colocalize
    >>> yy, xx = np.mgrid[:40, :40]
    >>> a = np.zeros((40, 40)); b = np.zeros((40, 40))
    >>> a[(yy - 10) ** 2 + (xx - 10) ** 2 <= 9] = 100   # disc at (10, 10)
    >>> b[(yy - 10) ** 2 + (xx - 12) ** 2 <= 9] = 100   # shifted by 2 px: overlaps a
    >>> a[(yy - 30) ** 2 + (xx - 30) ** 2 <= 9] = 100   # alone
    >>> res = colocalize.object_colocalization(a, b, thresholds=50, spacing=0.1,
    ...                                         max_distance=0.5)
    >>> res.objects0.n_objects, res.objects1.n_objects
    (2, 1)
    >>> res.objects0.partner, res.objects0.centre_in_other
    ((1, 0), (True, False))
    >>> res.objects0.fraction_near, res.objects1.fraction_near
    (0.5, 1.0)
    >>> round(res.objects1.nearest_distance[0], 6)
    0.2
    """
    return _object_colocalization(
        image0,
        image1,
        thresholds=thresholds,
        labels0=labels0,
        labels1=labels1,
        mask=mask,
        spacing=spacing,
        min_size=min_size,
        max_size=max_size,
        min_overlap=min_overlap,
        max_distance=max_distance,
        centre=centre,
        randomizations=randomizations,
        randomize=randomize,
        rng=rng,
    )[0]


def _object_colocalization(
    image0: object,
    image1: object,
    *,
    thresholds: float | str | Sequence[float | str],
    labels0: object | None,
    labels1: object | None,
    mask: object | None,
    spacing: float | Sequence[float] | None,
    min_size: float | None,
    max_size: float | None,
    min_overlap: float,
    max_distance: float | None,
    centre: Centre,
    randomizations: int,
    randomize: Randomize,
    rng: object,
) -> tuple[ObjectColocalization, tuple[np.ndarray, np.ndarray]]:
    """:func:`object_colocalization`, and each channel's objects as a label image (0 =
    background): its given labels (masked, size-filtered) or :func:`label_puncta`'s."""
    img0 = _spatial(image0, "image0")
    img1 = _spatial(image1, "image1")
    check_same_shape([img0, img1], ["image0", "image1"])
    shape = img0.shape
    sp = np.asarray(resolve_spacing(spacing_of(image1, spacing_of(image0, spacing)), img0.ndim))
    low, high = _check_size_range(min_size, max_size)
    single = isinstance(thresholds, (str, int, float, np.integer, np.floating))
    if single:
        pair: Sequence[Any] = (thresholds, thresholds)
    else:
        pair = list(thresholds)  # type: ignore[arg-type]
        if len(pair) != 2:
            raise ValueError(
                f"thresholds must be one value for both channels or a pair, got {thresholds!r}."
            )
    min_overlap, max_distance = check_criteria(min_overlap, max_distance)
    if centre not in _CENTRES:
        raise ValueError(f"centre must be one of {', '.join(_CENTRES)}, got {centre!r}.")
    if randomize not in _RANDOMIZE:
        raise ValueError(f"randomize must be one of {', '.join(_RANDOMIZE)}, got {randomize!r}.")
    if isinstance(randomizations, bool) or not isinstance(randomizations, (int, np.integer)):
        raise ValueError(f"randomizations must be an integer >= 0, got {randomizations!r}.")
    randomizations = int(randomizations)
    if randomizations < 0:
        raise ValueError(f"randomizations must be an integer >= 0, got {randomizations!r}.")
    mask_arr = None if mask is None else np.array(as_mask(mask, shape))
    empty = mask_arr is not None and not mask_arr.any()
    if empty:
        warn_degenerate(
            "object_colocalization: the mask is empty (no non-zero pixel): no objects in either "
            "channel; every fraction and distance is NaN."
        )

    found = []
    for channel, (img, given, t) in enumerate(((img0, labels0, pair[0]), (img1, labels1, pair[1]))):
        if given is not None:
            lab = _given_labels(given, shape, mask_arr, f"labels{channel}")
            if low > 0 or math.isfinite(high):
                lab = _filter_sizes(lab, float(np.prod(sp)), low, high)
            found.append((lab, math.nan))
        else:
            name = "thresholds" if single else f"thresholds[{channel}]"
            found.append(_label(img, t, mask_arr, tuple(sp), low, high, name))
    objs = [_objects(lab, img) for (lab, _), img in zip(found, (img0, img1))]
    for channel, o in enumerate(objs):
        if o.ids.size == 0 and not empty:  # an empty mask was warned of above, once
            warn_degenerate(
                f"object_colocalization: channel {channel} has no objects; its fractions and "
                f"the other channel's distances are NaN.",
            )
        elif np.isnan(o.centre_of_mass).any():
            warn_degenerate(
                f"object_colocalization: {int(np.isnan(o.centre_of_mass[:, 0]).sum())} object(s) "
                f"of channel {channel} have zero total intensity; their centres of mass are NaN.",
            )
    options = {
        "spacing": sp,
        "centre": centre,
        "min_overlap": min_overlap,
        "max_distance": max_distance,
    }
    result0 = _measure(objs[0], objs[1], threshold=found[0][1], **options)  # type: ignore[arg-type]
    result1 = _measure(objs[1], objs[0], threshold=found[1][1], **options)  # type: ignore[arg-type]
    if randomizations:
        generator = np.random.default_rng(rng)  # type: ignore[arg-type]
        region = mask_arr if mask_arr is not None else np.ones(shape, bool)
        tests = [
            _placement_test(
                a,
                b,
                centre=centre,
                region=region,
                spacing=sp,
                randomizations=randomizations,
                randomize=randomize,
                rng=generator,
            )
            for a, b in ((objs[0], objs[1]), (objs[1], objs[0]))
        ]
        result0 = dataclasses.replace(result0, test=tests[0])
        result1 = dataclasses.replace(result1, test=tests[1])
    result = ObjectColocalization(
        objects0=result0,
        objects1=result1,
        spacing=tuple(float(s) for s in sp),
        min_overlap=min_overlap,
        max_distance=max_distance,
        centre=centre,
    )
    return result, (found[0][0], found[1][0])
