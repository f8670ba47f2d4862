"""Radial profile of a cross-correlation image, binned by exact distance as CCC 2.2.3 does.

The plugin (``utils/RadialProfiler``) measures every voxel's distance from the image centre
``(N - 1) / 2`` per axis as ``sqrt(sum_i ((x_i - c_i) * s_i) ** 2)`` (float64, summed in X, Y, Z
order) and averages the correlation over the voxels that share exactly the same double value. We
get the same bins without a loop over voxels:

1. *Fold*: distances are symmetric about the centre on every axis, so the values at the ``2 ** d``
   mirror positions are summed first (array slicing); the per-axis multiplicities are 1 or 2.
2. *Key*: for isotropic spacing the squared distance in half pixels,
   ``sum_i (2 x_i - N_i + 1) ** 2``, is an integer and the bins come from ``np.bincount``. The
   plugin's float keys can split one integer key into a few bins when different decompositions
   round differently (spacing 0.1, for example); those few keys are split again by their exact
   float value. For anisotropic spacing the float keys are grouped with ``np.unique``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ProfileBins", "fold", "profile_bins", "window"]


def _axis_window(n: int, spacing: float, max_distance: float | None) -> tuple[int, int]:
    """Index range ``[lo, hi]`` of one axis within ``max_distance`` of ``(n - 1) / 2``."""
    if max_distance is None:
        return 0, n - 1
    # |x - (n-1)/2| * s <= R  <=>  |2x - n + 1| <= 2R/s
    half = int(np.floor(2.0 * max_distance / spacing + 1e-9))
    # 2x - n + 1 has the parity of n + 1; keep at least the central position(s)
    if (half - (n + 1)) % 2:
        half -= 1
    half = max(half, (n + 1) % 2)
    lo = max(0, (n - 1 - half) // 2)
    return lo, n - 1 - lo


def window(shape: Sequence[int], spacing: Sequence[float], max_distance: float | None):
    """Per-axis ``(lo, hi)`` index ranges (inclusive) of the correlation image that are needed."""
    return tuple(_axis_window(n, s, max_distance) for n, s in zip(shape, spacing))


def fold(values: np.ndarray, full_shape: Sequence[int], lows: Sequence[int]) -> np.ndarray:
    """Sum ``values`` over mirror positions.

    ``values`` is a window of an image of ``full_shape`` starting at ``lows``.

    The window must be symmetric about the centre. The result has index ``j`` on each axis for the
    positions at distance ``j`` from the centre (odd size ``2k + 1``: ``k - j`` and ``k + j``; even
    size ``2k``: ``k - 1 - j`` and ``k + j``), accumulated in float64.
    """
    out = values
    for axis, (n, lo) in enumerate(zip(full_shape, lows)):
        split = n // 2 - lo  # window index of the first position of the upper half
        upper_index = [slice(None)] * out.ndim
        upper_index[axis] = slice(split, None)
        lower_index = [slice(None)] * out.ndim
        lower_index[axis] = slice(0, split)
        upper = np.array(out[tuple(upper_index)], dtype=np.float64)  # half-size float64 copy
        lower = np.flip(out[tuple(lower_index)], axis=axis)  # a view
        if n % 2:  # odd: the centre is counted once, lower pairs with upper[1:]
            upper_index[axis] = slice(1, None)
            upper[tuple(upper_index)] += lower
        else:
            upper += lower
        out = upper
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class ProfileBins:
    """The exact-distance bins of a correlation window (read-only arrays, shared by every call
    with the same shape, spacing and ``max_distance``: see :func:`profile_bins`)."""

    distance: np.ndarray  # (K,) sorted distinct distances
    count: np.ndarray  # (K,) voxels per distance (in the full window)
    index: np.ndarray  # bin index of each folded-grid cell within max_distance
    inside: np.ndarray | None  # the folded-grid cells within max_distance (None: every cell)
    full_shape: tuple[int, ...]
    lows: tuple[int, ...]

    def mean(self, image: np.ndarray) -> np.ndarray:
        """Mean of ``image`` (the correlation window) over the voxels of each bin."""
        return self.mean_folded(fold(image, self.full_shape, self.lows))

    def mean_folded(self, folded: np.ndarray) -> np.ndarray:
        """:meth:`mean` of a window that is already folded."""
        folded = folded.ravel()
        if self.inside is not None:
            folded = folded[self.inside]
        sums = np.bincount(self.index, weights=folded, minlength=self.distance.size)
        return sums / self.count

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        arrays = (self.distance, self.count, self.index, self.inside)
        return sum(a.nbytes for a in arrays if a is not None)


# Bins of recent shapes are kept up to this many bytes in all (about 13 MiB for 2048 x 2048):
# they take 10-25 ms to compute at that size, and a batch or a time series repeats its shape.
_CACHE_BYTES = 64 << 20
_cache: OrderedDict[tuple, ProfileBins] = OrderedDict()
_cache_lock = threading.Lock()


def profile_bins(
    shape: Sequence[int], spacing: Sequence[float], max_distance: float | None = None
) -> ProfileBins:
    """The plugin's exact-distance bins for an image of ``shape`` (axis order z, y, x).

    The bins of the last few shapes are cached (up to ``_CACHE_BYTES``); their arrays are
    read-only.
    """
    key = (
        tuple(int(n) for n in shape),
        tuple(float(s) for s in spacing),
        None if max_distance is None else float(max_distance),
    )
    with _cache_lock:
        bins = _cache.get(key)
        if bins is not None:
            _cache.move_to_end(key)
            return bins
    bins = _compute_bins(*key)
    for array in (bins.distance, bins.count, bins.index, bins.inside):
        if array is not None:
            array.flags.writeable = False
    if bins.nbytes <= _CACHE_BYTES:
        with _cache_lock:
            _cache[key] = bins
            while sum(b.nbytes for b in _cache.values()) > _CACHE_BYTES:
                _cache.popitem(last=False)
    return bins


def _axis_tables(n: int, hi: int, s: float):
    """Folded values of one axis up to index ``hi``: half-pixel offsets ``u = 2x - n + 1``, the
    plugin's float terms ``((x - c) s)²`` and the multiplicities (1 at the centre, else 2)."""
    c = (n - 1.0) / 2.0
    first = n // 2  # first position of the upper half
    x = np.arange(first, hi + 1)
    u = 2 * x - n + 1
    term = ((x - c) * s) ** 2
    mult = np.where(u == 0, 1.0, 2.0)  # float64: the weights of np.bincount
    return u.astype(np.int64), term, mult


def _compute_bins(
    shape: tuple[int, ...], spacing: tuple[float, ...], max_distance: float | None
) -> ProfileBins:
    """:func:`profile_bins` without the cache."""
    lims = window(shape, spacing, max_distance)
    tables = [_axis_tables(n, hi, s) for n, (_, hi), s in zip(shape, lims, spacing)]
    ndim = len(shape)

    # broadcast per-axis vectors to the folded grid, summing in the plugin's order X, Y, Z
    def grid(vectors, op):
        views = [
            v.reshape([-1 if i == axis else 1 for i in range(ndim)])
            for axis, v in enumerate(vectors)
        ]
        acc = views[-1]
        for view in reversed(views[:-1]):
            acc = op(acc, view)
        return np.broadcast_to(acc, tuple(v.size for v in vectors))

    # voxels of the full window per folded cell: 2 ** ndim everywhere when no axis has a centre
    # position (even sizes), which saves a full-size table and lets np.bincount count unweighted
    mults = [t[2] for t in tables]
    counts: int | np.ndarray = (
        2**ndim if all((m == 2).all() for m in mults) else grid(mults, np.multiply).ravel()
    )
    isotropic = len(set(spacing)) == 1
    # with a power-of-two pixel size every float key is exact: equal integers, equal keys
    exact = isotropic and math.frexp(spacing[0])[0] == 0.5
    fkey = None
    if max_distance is not None or not exact:
        # the plugin's float distance, squares summed X then Y then Z
        fkey = np.sqrt(grid([t[1] for t in tables], np.add).ravel())
    # the cells within max_distance (every cell without one: a slice, which indexes without a copy)
    inside = slice(None) if fkey is None or max_distance is None else fkey <= max_distance
    weights = counts if isinstance(counts, int) else counts[inside]
    if isotropic:
        # integer keys: the squared half-pixel offsets shifted to start at 0 and divided by their
        # common factor (8 for even sizes), which keeps the order and the key table small
        lowest = [int((t[0] ** 2).min()) for t in tables]
        squares = [t[0] ** 2 - low for t, low in zip(tables, lowest)]
        step = int(np.gcd.reduce(np.concatenate(squares))) or 1
        ikey = grid([v // step for v in squares], np.add).ravel()
        if exact:
            index, keys, count = _bins_exact(ikey, weights, inside)
            # the distance of key k: sqrt of (k * step + sum(lowest)) half-pixels², times
            # (spacing / 2)², exact in float64 as each of the plugin's terms and sums is
            distance = np.sqrt((keys * step + sum(lowest)) * (spacing[0] / 2) ** 2)
        else:
            assert fkey is not None
            index, distance, count = _bins_integer(ikey, fkey, weights, inside)
    else:
        assert fkey is not None
        index, distance, count = _bins_float(fkey, weights, inside)
    return ProfileBins(
        distance=distance,
        count=count,
        index=index,
        inside=None if isinstance(inside, slice) or inside.all() else inside,
        full_shape=shape,
        lows=tuple(lo for lo, _ in lims),
    )


def _voxels(ids, weights, size):
    """Voxels per id (``0 .. size - 1``) of the cells ``ids``: ``weights`` are the cells'
    multiplicities, or one int when every cell has the same."""
    if isinstance(weights, int):
        return np.bincount(ids, minlength=size) * weights
    return np.bincount(ids, weights=weights, minlength=size).astype(np.int64)


def _bins_float(fkey, weights, inside):
    """Group the cells ``inside`` by their float key: ``(bin of each, distances, counts)``;
    ``weights`` as for :func:`_voxels`."""
    distance, index = np.unique(fkey[inside], return_inverse=True)
    index = index.ravel()
    return index, distance, _voxels(index, weights, distance.size)


def _bins_exact(ikey, weights, inside):
    """Group the cells ``inside`` by integer key (keys with exact float distances):
    ``(bin of each, the keys present, counts)``; ``weights`` as for :func:`_voxels`."""
    ik = ikey[inside]
    # voxels per integer key, counted over the int64 keys (a bincount over the int32 bin indices
    # would first copy them to intp); every present key has a positive count
    per_key = _voxels(ik, weights, 0)
    present = per_key > 0
    keys = np.flatnonzero(present)
    # bin of each present key: the number of present keys below it
    group_of_key = np.zeros(present.size, dtype=np.int32)
    np.cumsum(present[:-1], dtype=np.int32, out=group_of_key[1:])
    return np.take(group_of_key, ik), keys, per_key[keys]


def _bins_integer(ikey, fkey, weights, inside):
    """Group the cells ``inside`` by integer key, then split the keys whose float values differ
    (rounding): ``(bin of each, distances, counts)``; ``weights`` as for :func:`_voxels`."""
    ik = ikey[inside]
    fk = fkey[inside]
    # group of each key: mark the present keys, then number them (a scatter of the present keys,
    # not a cumsum over every integer up to the largest); both tables are freed on return (freed
    # here, glibc kept ~25 MB of heap resident for the rest of the call)
    present = np.zeros(int(ik.max()) + 1 if ik.size else 1, dtype=bool)
    present[ik] = True
    present_keys = np.flatnonzero(present)
    n_groups = present_keys.size
    group_of_key = np.empty(present.size, dtype=np.int32)
    group_of_key[present_keys] = np.arange(n_groups, dtype=np.int32)
    group = group_of_key[ik]
    low = np.full(n_groups, np.inf)
    high = np.full(n_groups, -np.inf)
    np.minimum.at(low, group, fk)
    np.maximum.at(high, group, fk)
    split = low != high
    if split.any():
        # regroup only the cells of split keys by their exact float value
        cell_split = split[group]
        extra, extra_inv = np.unique(fk[cell_split], return_inverse=True)
        keys = np.concatenate([low[~split], extra])
        order = np.argsort(keys, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        plain_index = np.cumsum(~split) - 1  # group -> index among unsplit groups
        new = plain_index[group]
        new[cell_split] = int((~split).sum()) + extra_inv.ravel()
        group = rank[new]
        distance = keys[order]
    else:
        distance = low
    return group, distance, _voxels(group, weights, distance.size)
