"""Per-channel codes and ranks, joint cells of a channel pair, and Kendall's tau-b.

Each channel is reduced once to dense codes: the index of each pixel's value among the channel's
sorted distinct values, stored in the narrowest unsigned dtype that holds them (one byte per pixel
for up to 256 values, two for up to 65536). For integer images this is a table look-up in O(n),
otherwise a sort. A channel pair is then reduced to its non-empty *joint cells* (code0, code1,
count): by a histogram when the two channels have few values, else by sorting one packed key per
pixel. Every coefficient, including Kendall's tau-b, is computed on the cells, so the memory
beyond the codes stays a few bytes per pixel for any integer dtype. Two wide integer channels
(value ranges above 2**22) skip the per-pixel codes: :func:`wide_cells` builds their cells from
one packed key per pixel, with the first channel's values themselves as its codes (or, beyond 32
bits, its codes taken over the sorted cells).

Two 8/16-bit integer channels with many value pairs, or with the compiled kernels, skip the codes
and cells: their ranks come from their histograms and, for Kendall, a counting sort of y by x
(compiled) or a sorted packed key per pixel (numpy) (:func:`packed_rank_sums`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from types import SimpleNamespace
from typing import Any

import numpy as np

from colocalize import _compiled

__all__ = [
    "ChannelCodes",
    "JointCells",
    "OffsetValues",
    "RankLookup",
    "RunningRanks",
    "ValueRuns",
    "channel_codes",
    "chunks",
    "joint_cells",
    "kendall_tau_b",
    "packed_rank_sums",
    "packed_ranks_pay",
    "subtract_exact",
    "wide_cells",
]

# Integer channels whose value range is at most this are coded by a bincount look-up, not a sort.
_MAX_LOOKUP_RANGE = 1 << 22
# Integer channels whose value range is at most this use their values as codes directly.
_MAX_DIRECT_RANGE = 1 << 10
# Pairs with at most this many joint cells are counted in a dense histogram, not sorted.
_MAX_DENSE_CELLS = 1 << 16
# Kendall's tau from a dense table processed in row blocks of about this many cells, up to
# _MAX_TABLE_CELLS in all; beyond that a compiled Fenwick count (or SciPy's merge sort).
_BLOCK_CELLS = 1 << 16
_MAX_TABLE_CELLS = 1 << 26
# Without the compiled kernels, 8/16-bit pairs with more distinct (x, y) value pairs than this
# many per pixel rank faster by packed keys than by the dense table (measured at 2**20 pixels).
_PACKED_CELLS_PER_PIXEL = 16
# Average ranks by the tied values alone when fewer than one value in this many is tied, with
# the surplus before each block of this many codes (RankLookup).
_SPARSE_TIES = 64
_TIE_BLOCK = 32
# Pixels per chunk of the per-pixel passes (temporaries of a few MiB).
CHUNK = 1 << 16
# ... and of the histogram passes (bincount's own int64 copy of its input: 8 MiB).
_COUNT_CHUNK = 1 << 20
# ... and of the numpy packed-key passes (about 20 bytes of temporaries per pixel: 1.3 MiB).
_PACKED_CHUNK = 1 << 16


def chunks(n: int, size: int = CHUNK) -> Iterator[slice]:
    """Slices covering ``range(n)`` in pieces of ``size``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _code_dtype(n_codes: int) -> np.dtype:
    """The narrowest unsigned dtype that holds the codes 0..n_codes-1."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if n_codes <= np.iinfo(dtype).max + 1:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


def subtract_exact(values: np.ndarray, low: int | float) -> np.ndarray:
    """``values - low`` without wrapping: exact for integers (as uint64), float64 otherwise."""
    if values.dtype.kind in "iu":
        # the true difference lies in [0, 2**64): two's complement wrap-around gives it exactly
        wide = values.astype(np.uint64) if values.dtype.kind == "u" else values.astype(np.int64)
        return np.subtract(wide, wide.dtype.type(low)).view(np.uint64)
    return values.astype(np.float64) - low


@dataclass(frozen=True)
class ChannelCodes:
    """One channel's pixels as codes into a sorted table of values.

    Attributes
    ----------
    codes : ndarray of unsigned integers, shape (n,)
        ``exact[codes]`` recovers the pixels; the narrowest unsigned dtype that holds them.
    exact : ndarray, shape (K,)
        Sorted values in the channel's own dtype: the distinct values, or for integer channels
        with a small range every value from the minimum to the maximum (some may have no pixels).
    counts : ndarray of unsigned integers, shape (K,)
        Pixels per value, in a narrow unsigned dtype: one that holds the number of pixels, or
        for channels coded by sorting the largest count.

    Derived tables (computed on first use): ``values`` (float64), ``relative`` (float64 of
    ``exact - exact[0]``, exact for integers: no wrap-around for 64-bit images); and, computed
    on each use and not kept (8 bytes per value), the 1-based ``average_rank`` of each value
    (ties share the mean of their positions, as ``scipy.stats.rankdata(method="average")``);
    :meth:`rank_lookup` gives the same ranks a chunk at a time, and :meth:`running_ranks` for
    sorted codes, without any table of every value's rank.
    """

    codes: np.ndarray
    exact: np.ndarray
    counts: np.ndarray

    @cached_property
    def values(self) -> np.ndarray:
        return self.exact.astype(np.float64)

    @cached_property
    def relative(self) -> np.ndarray:
        low = self.exact[0].item()
        return subtract_exact(self.exact, low).astype(np.float64)

    @property
    def average_rank(self) -> np.ndarray:
        rank = np.cumsum(self.counts, dtype=np.float64)  # whole numbers below 2**53: exact
        for part in chunks(rank.size):
            rank[part] -= (self.counts[part].astype(np.float64) - 1.0) / 2.0
        return rank

    def rank_lookup(self) -> RankLookup:
        """The average ranks of any codes, a chunk at a time (:class:`RankLookup`): the same
        float64 numbers as ``average_rank[index]``, without a table of every value's rank."""
        return RankLookup(self.counts, self.n_pixels)

    def running_ranks(self, index: np.ndarray) -> RunningRanks:
        """The average ranks of sorted codes ``index``, a chunk at a time."""
        return RunningRanks(self.counts, index)

    @property
    def n_codes(self) -> int:
        return int(self.exact.size)

    @property
    def n_pixels(self) -> int:
        return int(np.sum(self.counts, dtype=np.uint64))

    @property
    def tied_pairs(self) -> int:
        """The pairs of pixels with equal values."""
        return _tie_pairs(self.counts)

    def without_pixels(self) -> ChannelCodes:
        """These values and counts without the per-pixel ``codes`` (empty): all that a pair's
        steps after :func:`joint_cells` need (:func:`kendall_tau_b`, :meth:`rank_lookup`)."""
        return replace(self, codes=np.empty(0, dtype=self.codes.dtype))


class RunningRanks:
    """The average ranks of sorted codes (e.g. :attr:`JointCells.code0`), a chunk at a time,
    from a running sum of the counts (pixels per code): the numbers of :class:`RankLookup`
    without the cumulative counts of every value.

    ``index`` is the sorted codes, or anything that gives them a chunk at a time
    (:class:`_DenseRuns`). Chunks are best read in order (:meth:`ranks`): each one then sums
    only the counts of its own codes; any other chunk starts the sum again from the first code.
    """

    def __init__(self, counts: np.ndarray, index: np.ndarray | _DenseRuns) -> None:
        self.counts, self.index = counts, index
        self.stop = -1  # where the last chunk read ends
        self.last = -1  # its last code
        self.through = 0  # the pixels at or below that code

    def ranks(self, part: slice) -> np.ndarray:
        """The average ranks of ``index[part]`` (float64, as :meth:`RankLookup.ranks`)."""
        index = self.index[part]
        low, high = int(index[0]), int(index[-1])
        if part.start != self.stop or low < self.last:  # not the next chunk: start again
            self.last, self.through = -1, 0
        # the pixels below the chunk's first code
        below = self.through + int(np.sum(self.counts[self.last + 1 : low], dtype=np.uint64))
        if low == self.last:
            below -= int(self.counts[low])
        counts = self.counts[low : high + 1]
        cumulative = np.cumsum(counts, dtype=np.int64)  # whole numbers below 2**53: exact
        cumulative += below
        offset = index - index.dtype.type(low)
        rank = cumulative[offset].astype(np.float64)
        rank -= (counts[offset].astype(np.float64) - 1.0) / 2.0
        self.stop, self.last, self.through = part.stop, high, int(cumulative[-1])
        return rank


class RankLookup:
    """The average ranks of any codes of one channel, a chunk at a time (:meth:`ranks`).

    The pixels at or below code c are c + 1 plus the surplus (count - 1) of the tied values at
    or below it. When fewer than one value in ``_SPARSE_TIES`` is tied, only those values, their
    running surplus and the surplus before each block of ``_TIE_BLOCK`` codes are kept (a
    code in a block without tied values needs no search); else the cumulative counts of every
    value in the narrowest unsigned dtype that holds the number of pixels. Either way the
    ranks are the float64 numbers of ``average_rank[index]`` (whole numbers and halves below
    2**53).
    """

    def __init__(self, counts: np.ndarray, n_pixels: int) -> None:
        self.counts = counts
        n_tied = sum(int(np.count_nonzero(counts[part] > 1)) for part in chunks(counts.size))
        self.cumulative: np.ndarray | None = None
        if n_tied * _SPARSE_TIES >= counts.size:
            self.cumulative = np.cumsum(counts, dtype=_code_dtype(n_pixels + 1))
            return
        self.tied = np.empty(n_tied, dtype=_code_dtype(counts.size))
        self.surplus = np.zeros(n_tied + 1, dtype=np.int64)  # of the first p tied values
        filled = 0
        for part in chunks(counts.size):
            found = np.flatnonzero(counts[part] > 1)
            self.tied[filled : filled + found.size] = found + part.start
            extra = counts[part][found].astype(np.int64) - 1
            np.cumsum(extra, out=self.surplus[filled + 1 : filled + 1 + found.size])
            self.surplus[filled + 1 : filled + 1 + found.size] += self.surplus[filled]
            filled += found.size
        starts = np.arange(0, counts.size + _TIE_BLOCK, _TIE_BLOCK)
        place = np.searchsorted(self.tied, starts)
        self.block_surplus = self.surplus[place[:-1]]  # of the tied values before each block
        self.block_tied = place[1:] > place[:-1]

    def ranks(self, index: np.ndarray) -> np.ndarray:
        """The average ranks of the values ``index`` (codes), float64."""
        if self.cumulative is not None:
            rank = self.cumulative[index].astype(np.float64)
        else:
            block = index // index.dtype.type(_TIE_BLOCK)
            through = self.block_surplus[block]
            search = np.flatnonzero(self.block_tied[block])
            if search.size:
                found = np.searchsorted(self.tied, index[search], side="right")
                through[search] = self.surplus[found]
            through += index
            through += 1
            rank = through.astype(np.float64)
        rank -= (self.counts[index].astype(np.float64) - 1.0) / 2.0
        return rank


class _DenseRuns:
    """The codes 0, 1, 2, ... of the runs of equal values of a sorted array (e.g. the cells'
    ``code0`` of :func:`wide_cells`), a chunk at a time, as int64: in order, each chunk carries
    on from the last; any other chunk counts the runs before it again."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.stop = 0  # where the last chunk read ends
        self.code = -1  # its last code

    def __getitem__(self, part: slice) -> np.ndarray:
        if part.start != self.stop:
            self.stop, self.code = 0, -1
            for before in chunks(part.start):
                self[before]
        values = self.values[part]
        starts = np.empty(values.size, dtype=bool)
        starts[0] = self.code < 0 or values[0] != self.values[part.start - 1]
        np.not_equal(values[1:], values[:-1], out=starts[1:])
        codes = np.cumsum(starts, dtype=np.int64)
        codes += self.code
        self.stop, self.code = part.stop, int(codes[-1])
        return codes


def _add_low(relative: np.ndarray, low: int, dtype: np.dtype) -> np.ndarray:
    """``relative + low`` in ``dtype``, exact: the inverse of :func:`subtract_exact` for integers
    (two's complement wrap-around in uint64 gives the true value)."""
    wide = relative.astype(np.uint64) + np.uint64(low % (1 << 64))
    return wide.view(np.int64 if dtype.kind == "i" else np.uint64).astype(dtype)


@dataclass(frozen=True)
class OffsetValues:
    """The values of codes that are values less ``low``: ``table[codes]`` as for a table of
    values, in ``dtype``, without the table."""

    low: int
    dtype: np.dtype

    def __getitem__(self, codes: np.ndarray) -> np.ndarray:
        return _add_low(codes, self.low, self.dtype)


@dataclass(frozen=True)
class ValueRuns:
    """The first channel of :func:`wide_cells`: its cells' ``code0`` are its values less its
    minimum ``low`` (sorted), so it needs no table of values or per-pixel codes.

    What :func:`kendall_tau_b` and the coefficient engine read of a :class:`ChannelCodes`:
    ``n_pixels``, ``tied_pairs``, ``exact`` (:class:`OffsetValues`), ``counts`` (pixels per
    distinct value, summed over the cells on first use: one narrow integer per value),
    ``n_codes`` (the distinct values), :meth:`running_ranks`; and :meth:`dense_codes`.
    """

    code0: np.ndarray
    weights: np.ndarray
    low: int
    dtype: np.dtype
    n_pixels: int

    @property
    def exact(self) -> OffsetValues:
        return OffsetValues(self.low, self.dtype)

    @cached_property
    def counts(self) -> np.ndarray:
        return _run_counts(self.code0, self.weights)

    @property
    def n_codes(self) -> int:
        return int(self.counts.size)

    def dense_codes(self) -> np.ndarray:
        """The code of each cell's value among the distinct values (0, 1, ...), narrow."""
        codes = np.empty(self.code0.size, dtype=_code_dtype(self.n_codes))
        dense = _DenseRuns(self.code0)
        for part in chunks(codes.size):
            codes[part] = dense[part]
        return codes

    @property
    def tied_pairs(self) -> int:
        """The pairs of pixels with equal values."""
        return _tie_pairs(self.counts)

    def running_ranks(self, index: np.ndarray) -> RunningRanks:
        """The average ranks of the sorted values less ``low``, ``index`` (the cells' code0)."""
        return RunningRanks(self.counts, _DenseRuns(index))


def _weighted_runs(values: np.ndarray, weights: np.ndarray, shift: int = 0) -> Iterator[np.ndarray]:
    """The summed ``weights`` of each run of equal values (``values >> shift``) of a sorted
    array, in order, a chunk at a time (int64 pieces, non-empty)."""
    carry, previous = 0, None  # the open run's weight so far, its value
    for part in chunks(values.size):
        v, w = values[part] >> values.dtype.type(shift), weights[part].astype(np.int64)
        cuts = np.flatnonzero(v[1:] != v[:-1]) + 1
        sums = np.add.reduceat(w, np.concatenate([np.zeros(1, dtype=cuts.dtype), cuts]))
        if previous is not None and v[0] == previous:
            sums[0] += carry
        elif previous is not None:
            yield np.array([carry])
        if sums.size > 1:
            yield sums[:-1]
        carry, previous = int(sums[-1]), v[-1]
    if previous is not None:
        yield np.array([carry])


def _run_counts(values: np.ndarray, weights: np.ndarray, shift: int = 0) -> np.ndarray:
    """The summed ``weights`` of each run of :func:`_weighted_runs`, in the narrowest unsigned
    dtype that holds the largest (two passes: one to size, one to fill)."""
    k = longest = 0
    for piece in _weighted_runs(values, weights, shift):
        k += piece.size
        longest = max(longest, int(piece.max()))
    counts = np.empty(k, dtype=_code_dtype(longest + 1))
    filled = 0
    for piece in _weighted_runs(values, weights, shift):
        counts[filled : filled + piece.size] = piece
        filled += piece.size
    return counts


def _lookup_codes(values: np.ndarray, low: int, span: int) -> ChannelCodes:
    """Codes of an integer channel with a small range, by a table over ``low..low+span-1``."""
    dtype = values.dtype
    # non-negative values that numpy's bincount and indexing take as they are
    unshifted = low == 0 and dtype.kind == "u" and dtype.itemsize < 8
    # 8- and 16-bit unsigned values index tables over 0..max directly (no shifted copy)
    raw = dtype.kind == "u" and dtype.itemsize <= 2

    def shifted(part: slice) -> np.ndarray:
        return values[part] if unshifted else subtract_exact(values[part], low).astype(np.intp)

    counts = np.zeros(span, dtype=np.int64)
    for part in chunks(values.size, max(_COUNT_CHUNK, span)):
        if raw:
            counts += np.bincount(values[part], minlength=low + span)[low:]
        else:
            counts += np.bincount(shifted(part), minlength=span)
    exact = np.arange(span, dtype=np.uint64).astype(dtype) + dtype.type(low)
    counts = counts.astype(_code_dtype(values.size + 1))
    if span <= _MAX_DIRECT_RANGE:
        # the values themselves (minus the minimum) are the codes; absent values have no pixels
        code_dtype = _code_dtype(span)
        if unshifted and dtype.itemsize <= code_dtype.itemsize:
            return ChannelCodes(codes=values, exact=exact, counts=counts)
        codes = np.empty(values.size, dtype=code_dtype)
        for part in chunks(values.size):
            codes[part] = values[part] - dtype.type(low) if raw else shifted(part)
        return ChannelCodes(codes=codes, exact=exact, counts=counts)
    present = np.flatnonzero(counts)
    if raw and low == 0 and present.size == span and dtype.itemsize == 2:
        # every value from 0 to the maximum has pixels: the values are their own codes
        return ChannelCodes(codes=values, exact=exact, counts=counts)
    lookup = (np.cumsum(counts > 0) - 1).astype(_code_dtype(present.size))
    if raw:  # a table over 0..max, indexed by the values themselves
        lookup = np.concatenate([np.zeros(low, dtype=lookup.dtype), lookup])
    codes = np.empty(values.size, dtype=lookup.dtype)
    for part in chunks(values.size, _COUNT_CHUNK):
        codes[part] = lookup[values[part] if raw else shifted(part)]
    return ChannelCodes(codes=codes, exact=exact[present], counts=counts[present])


def channel_codes(values: np.ndarray) -> ChannelCodes:
    """Code a 1-D array by its distinct values, with their average ranks.

    Examples
    --------
    >>> c = channel_codes(np.array([1.0, 3.0, 1.0, 2.5]))
    >>> c.codes.tolist(), c.values.tolist(), c.average_rank[c.codes].tolist()
    ([0, 2, 0, 1], [1.0, 2.5, 3.0], [1.5, 4.0, 1.5, 3.0])
    >>> c = channel_codes(np.array([12, 14, 12], dtype=np.uint16))
    >>> c.codes.tolist(), c.values.tolist(), c.average_rank[c.codes].tolist()
    ([0, 2, 0], [12.0, 13.0, 14.0], [1.5, 3.0, 1.5])
    """
    values = np.asarray(values).reshape(-1)
    if values.dtype == bool:
        values = values.view(np.uint8)
    if values.dtype.kind in "iu" and values.size:
        if values.dtype.itemsize == 1 and values.dtype.kind == "u":
            low, span = 0, 256  # no min/max passes: every 8-bit value is its own code
        else:
            low = int(values.min())
            span = int(values.max()) - low + 1
        if span <= _MAX_LOOKUP_RANGE:
            return _lookup_codes(values, low, span)
    return _sorted_codes(values)


def _sorted_codes(values: np.ndarray) -> ChannelCodes:
    """Codes of any 1-D array by one argsort: ``np.unique(..., return_inverse=True,
    return_counts=True)`` in about a third of its memory (no int64 inverse or counts) and
    time."""
    n = values.size
    order = np.argsort(values)
    ordered = values[order]
    first = _run_starts(ordered)
    exact = ordered[first]
    del ordered
    codes = np.empty(n, dtype=_code_dtype(exact.size))
    offset = -1
    for part in chunks(n):  # the k-th run's positions get code k
        run = np.cumsum(first[part], dtype=np.int64)
        run += offset
        codes[order[part]] = run
        offset = int(run[-1])
    del order
    return ChannelCodes(codes=codes, exact=exact, counts=_run_lengths(first))


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts (boolean, one per element)."""
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return first


def _run_lengths(first: np.ndarray) -> np.ndarray:
    """The length of each run from :func:`_run_starts`, in the narrowest unsigned dtype that
    holds the longest (two chunked passes, without an index of every start)."""
    longest = max((int(piece.max()) for piece in _run_pieces(first)), default=0)
    counts = np.empty(int(np.count_nonzero(first)), dtype=_code_dtype(longest + 1))
    filled = 0
    for piece in _run_pieces(first):
        counts[filled : filled + piece.size] = piece
        filled += piece.size
    return counts


def _run_pieces(first: np.ndarray) -> Iterator[np.ndarray]:
    """The run lengths of :func:`_run_lengths` in order, a chunk at a time (non-empty pieces)."""
    previous = None  # where the last run seen starts
    for part in chunks(first.size):
        found = np.flatnonzero(first[part]) + part.start
        if found.size:
            if previous is not None:
                yield np.diff(found, prepend=previous)
            elif found.size > 1:
                yield np.diff(found)
            previous = int(found[-1])
    if previous is not None:
        yield np.array([first.size - previous])


@dataclass(frozen=True)
class JointCells:
    """The non-empty cells of two coded channels' joint histogram, sorted by (code0, code1).

    Attributes
    ----------
    code0, code1 : ndarray of unsigned integers, shape (m,)
        The cell's code in each channel (possibly strided views of one array).
    counts : ndarray of unsigned or int64 integers, shape (m,)
        Pixels per cell: int64 from a dense histogram, else the narrowest unsigned dtype that
        holds the largest.
    """

    code0: np.ndarray
    code1: np.ndarray
    counts: np.ndarray


def joint_cells(codes0: ChannelCodes, codes1: ChannelCodes) -> JointCells:
    """The joint cells of two coded channels over the same pixels.

    A dense histogram when there are at most ``_MAX_DENSE_CELLS`` possible cells, else one
    packed key ``code0 << s | code1`` per pixel (s the bits of the wider code dtype), sorted and
    reduced in place to one key per cell: the cells' ``code0`` and ``code1`` are then views of
    the keys' two halves and the counts the only copy (O(n log n), about 1.25 times the keys'
    size).
    """
    k0, k1 = codes0.n_codes, codes1.n_codes
    n = codes0.codes.size
    if k0 * k1 <= _MAX_DENSE_CELLS:
        key_dtype = _code_dtype(k0 * k1 + 1)  # and k1 itself (k0 = 1, k1 = 256: not uint8)
        hist = np.zeros(k0 * k1, dtype=np.int64)
        for part in chunks(n, _COUNT_CHUNK):
            key = codes0.codes[part].astype(key_dtype)
            key *= key_dtype.type(k1)
            key += codes1.codes[part]
            hist += np.bincount(key, minlength=k0 * k1)
        cells = np.flatnonzero(hist)
        counts = hist[cells]
        del hist
        code0 = np.empty(cells.size, dtype=_code_dtype(k0))
        code1 = np.empty(cells.size, dtype=_code_dtype(k1))
        for part in chunks(cells.size):
            code0[part], code1[part] = np.divmod(cells[part], cells.dtype.type(k1))
        return JointCells(code0=code0, code1=code1, counts=counts)
    half = max(codes0.codes.dtype.itemsize, codes1.codes.dtype.itemsize)
    key_dtype = np.dtype(f"u{2 * half}")
    key = np.empty(n, dtype=key_dtype)
    for part in chunks(n):
        key[part] = codes0.codes[part]
        key[part] <<= key_dtype.type(8 * half)
        key[part] |= codes1.codes[part]
    key.sort()
    return _halves(*_compact_runs(key), half)


def _halves(cells: np.ndarray, counts: np.ndarray, half: int) -> JointCells:
    """The cells of packed keys ``code0 << 8 half | code1``: ``code0`` and ``code1`` are views
    of the keys' two halves."""
    halves = cells.view(f"u{half}")
    high = 1 if np.little_endian else 0
    return JointCells(code0=halves[high::2], code1=halves[1 - high :: 2], counts=counts)


def _compact_runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs of equal keys of a sorted array reduced in place to one key each, and their
    lengths (the only copy)."""
    n = key.size
    first = _run_starts(key)  # a run of equal keys is a cell
    counts = _run_lengths(first)
    filled = 0
    for part in chunks(n):  # each run's key to the front (never past the part being read)
        found = key[part][first[part]]
        key[filled : filled + found.size] = found
        filled += found.size
    del first
    return (key[:filled] if 2 * filled > n else key[:filled].copy()), counts


def wide_cells(
    values0: np.ndarray, values1: np.ndarray
) -> tuple[JointCells, ValueRuns | ChannelCodes, ChannelCodes] | None:
    """The joint cells of two wide integer channels (each with a value range above
    ``_MAX_LOOKUP_RANGE``, about one value per pixel) without per-pixel codes; None when they
    do not fit the keys below (then :func:`channel_codes` and :func:`joint_cells`).

    One uint64 key per pixel, sorted twice in place: first ``value1 << b | pixel`` (b the
    pixel index's bits), whose runs give channel 1's values and counts and each pixel's code1;
    each key is then rewritten as ``(value0 - low0) << s | code1`` (value0 read at the pixel;
    s = 32, or b when value0's range exceeds 32 bits) and the runs of equal keys give the
    cells. With s = 32, channel 0's code0 are its values less its minimum (:class:`ValueRuns`:
    no table of its values); else one pass over the cells codes channel 0 densely and
    rewrites the keys as ``code0 << 32 | code1``. Channel 1 (and a densely coded channel 0)
    is a :class:`ChannelCodes` without per-pixel codes. The memory is the keys (8 bytes a
    pixel), one bool per pixel while a sort's runs are read, and the channels' values and
    counts. Requires n <= 2**32 and each value range and the pixel index in 64 bits; the
    cells are then those of :func:`joint_cells` (with code0 the values less ``low0`` when
    s = 32).
    """
    n = values0.size
    if n < 2 or n > 1 << 32 or values0.dtype.kind not in "iu" or values1.dtype.kind not in "iu":
        return None
    low0, low1 = int(values0.min()), int(values1.min())
    span0, span1 = int(values0.max()) - low0 + 1, int(values1.max()) - low1 + 1
    bits = (n - 1).bit_length()  # a pixel index's, and at least a code's
    if min(span0, span1) <= _MAX_LOOKUP_RANGE:
        return None
    if max(span0 - 1, span1 - 1).bit_length() + bits > 64:
        return None
    high = 32 if span0 <= 1 << 32 else bits  # where value0 starts in the cells' keys
    shift, pixel_mask = np.uint64(bits), np.uint64((1 << bits) - 1)
    key = np.empty(n, dtype=np.uint64)
    for part in chunks(n):
        np.left_shift(subtract_exact(values1[part], low1), shift, out=key[part])
        key[part] |= np.arange(part.start, part.stop, dtype=np.uint64)
    key.sort()
    first = np.empty(n, dtype=bool)  # where each run of equal value1 starts
    for part in chunks(n):
        value = key[part] >> shift
        first[part.start] = part.start == 0 or value[0] != key[part.start - 1] >> shift
        np.not_equal(value[1:], value[:-1], out=first[part.start + 1 : part.stop])
    counts1 = _run_lengths(first)
    exact1 = np.empty(counts1.size, dtype=values1.dtype)
    filled, code = 0, -1
    for part in chunks(n):
        starts = first[part]
        found = _add_low(key[part][starts] >> shift, low1, values1.dtype)
        exact1[filled : filled + found.size] = found
        filled += found.size
        code1 = np.cumsum(starts, dtype=np.int64)
        code1 += code
        code = int(code1[-1])
        pixel = (key[part] & pixel_mask).astype(np.intp)
        np.left_shift(subtract_exact(values0[pixel], low0), np.uint64(high), out=key[part])
        key[part] |= code1.astype(np.uint64)
    del first
    key.sort()
    cells, counts = _compact_runs(key)
    del key
    codes1 = ChannelCodes(codes=np.empty(0, dtype=np.uint32), exact=exact1, counts=counts1)
    if high == 32:
        joint = _halves(cells, counts, 4)
        return joint, ValueRuns(joint.code0, counts, low0, values0.dtype, n), codes1
    codes0 = _dense_first(cells, counts, high, low0, values0.dtype)
    return _halves(cells, counts, 4), codes0, codes1


def _dense_first(
    keys: np.ndarray, counts: np.ndarray, high: int, low: int, dtype: np.dtype
) -> ChannelCodes:
    """Channel 0 of sorted cells ``(value0 - low) << high | code1`` with their ``counts``: its
    values and counts, the keys rewritten in place as ``code0 << 32 | code1`` (code0 the
    index of the value among the distinct ones)."""
    counts0 = _run_counts(keys, counts, high)
    exact0 = np.empty(counts0.size, dtype=dtype)
    shift, code1_mask = np.uint64(high), np.uint64((1 << high) - 1)
    filled, code, last = 0, -1, None
    for part in chunks(keys.size):
        value = keys[part] >> shift
        starts = np.empty(value.size, dtype=bool)
        starts[0] = last is None or value[0] != last
        np.not_equal(value[1:], value[:-1], out=starts[1:])
        found = _add_low(value[starts], low, dtype)
        exact0[filled : filled + found.size] = found
        filled += found.size
        code0 = np.cumsum(starts, dtype=np.int64)
        code0 += code
        code, last = int(code0[-1]), value[-1]
        keys[part] &= code1_mask
        keys[part] |= code0.astype(np.uint64) << np.uint64(32)
    return ChannelCodes(codes=np.empty(0, dtype=np.uint32), exact=exact0, counts=counts0)


def _tie_pairs(counts: np.ndarray) -> int:
    """The sum of c (c - 1) / 2 over ``counts`` (exact, in chunks)."""
    total = 0
    for part in chunks(counts.size):
        c = counts[part].astype(np.int64)
        total += int(np.sum(c * (c - 1) // 2))
    return total


def _score_table(cells: JointCells, k0: int, k1: int) -> int:
    """n_c - n_d from dense row blocks of the joint histogram, O(m + K0 K1), small memory.

    For a cell (i, j) the bracket sum_{i'>i, j'>j} H - sum_{i'>i, j'<j} H is, with R[i] the
    histogram of the rows after i and C[i] its cumulative sum over j (T[i] = C[i, -1]),
    (T[i] - C[i, j]) - (C[i, j] - R[i, j]). Rows are processed from the last block up, carrying
    the column histogram of the rows below the block.
    """
    rows = max(1, _BLOCK_CELLS // k1)
    bounds = np.searchsorted(cells.code0, np.arange(0, k0 + rows, rows), side="left")
    below = np.zeros(k1, dtype=np.int64)  # column histogram of the rows after the block
    score = 0
    for block in range(bounds.size - 2, -1, -1):
        start, stop = int(bounds[block]), int(bounds[block + 1])
        if start == stop:
            continue
        first_row = block * rows
        height = min(rows, k0 - first_row)
        ii = cells.code0[start:stop].astype(np.intp) - first_row
        jj = cells.code1[start:stop].astype(np.intp)
        ww = cells.counts[start:stop]
        table = np.zeros((height, k1), dtype=np.int64)
        table[ii, jj] = ww
        after = np.cumsum(table[::-1], axis=0)[::-1]  # rows i..end of the block
        block_total = after[0].copy()
        after -= table
        after += below
        cumulative = np.cumsum(after, axis=1)
        c = cumulative[ii, jj]
        bracket = cumulative[ii, -1] - 2 * c + after[ii, jj]
        score += int(np.dot(ww, bracket))
        below += block_total
    return score


def kendall_tau_b(
    codes0: ChannelCodes | ValueRuns, codes1: ChannelCodes, cells: JointCells
) -> float:
    """Kendall's tau-b of two coded channels; NaN when either channel is constant.

    tau_b = (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)), with n_c and n_d the concordant and
    discordant pairs, n_0 = n(n-1)/2 and n_1, n_2 the pairs tied in each channel (Kendall 1945,
    doi:10.1093/biomet/33.3.239). This equals Coloc 2's ``KendallTauRankCorrelation`` and
    ``scipy.stats.kendalltau(variant="b")``. n_c - n_d is counted exactly in integers: on dense
    row blocks of the joint histogram when it has at most ``_MAX_TABLE_CELLS`` cells, else with
    a compiled Fenwick tree of blocks of codes over the sorted cells (numba), else with
    SciPy's merge sort.

    Parameters
    ----------
    codes0, codes1 : ChannelCodes
        The two channels, over the same pixels (``codes0`` a :class:`ValueRuns` for the cells
        of :func:`wide_cells`).
    cells : JointCells
        Their joint cells (:func:`joint_cells`, :func:`wide_cells`).

    Examples
    --------
    >>> a = channel_codes(np.array([4, 10, 3, 1, 9, 2, 6, 7, 8, 5]))
    >>> b = channel_codes(np.array([5, 8, 6, 2, 10, 3, 9, 4, 7, 1]))
    >>> round(kendall_tau_b(a, b, joint_cells(a, b)) * 45)
    23
    """
    n = codes0.n_pixels
    k0, k1 = codes0.n_codes, codes1.n_codes
    if n < 2 or k0 < 2 or k1 < 2:
        return math.nan
    if k0 * k1 <= _MAX_TABLE_CELLS:
        if isinstance(codes0, ValueRuns):  # rows by the code of each value, not the value
            cells = replace(cells, code0=codes0.dense_codes())
        score = _score_table(cells, k0, k1)
    else:
        compiled = _compiled.kernels(n)
        if compiled is None:
            from scipy.stats import kendalltau

            # the cells' pixels in (code0, code1) order: tau-b does not depend on the order
            x, y = (np.repeat(c, cells.counts) for c in (cells.code0, cells.code1))
            return float(kendalltau(x, y, variant="b").statistic)
        count = np.dtype(np.int32 if n < 1 << 31 else np.int64)
        # a column's cells count at most its code's pixels: one byte each for most wide
        # channels (about one pixel per value); the tree counts blocks of 64 codes
        widest = int(codes1.counts.max())
        tree = np.zeros((k1 >> _compiled.KENDALL_BLOCK_BITS) + 2, dtype=count)
        column = np.zeros(k1, dtype=_code_dtype(widest + 1))
        score = int(compiled.kendall_score(cells.code0, cells.code1, cells.counts, tree, column))
    return _tau_b(score, n, codes0.tied_pairs, codes1.tied_pairs)


def _tau_b(score: int, n: int, tied0: int, tied1: int) -> float:
    """(n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2)) from n_c - n_d and the pairs tied in each
    channel; NaN when a channel is constant."""
    n0 = n * (n - 1) // 2
    denominator = math.sqrt(float(n0 - tied0) * float(n0 - tied1))
    if denominator == 0.0:
        return math.nan
    return score / denominator


def packed_ranks_pay(values0: np.ndarray, values1: np.ndarray) -> bool:
    """Whether numpy's :func:`packed_rank_sums` is faster than the codes' dense table for two
    8/16-bit channels: when they have more than ``_PACKED_CELLS_PER_PIXEL`` possible (x, y)
    value pairs per pixel (the table's cost grows with that product, the packed keys' with n)."""
    levels = []
    for values in (values0, values1):
        x = values.view(f"u{values.dtype.itemsize}")
        hist = np.zeros(1 << (8 * x.dtype.itemsize), dtype=np.int64)
        for part in chunks(x.size, _PACKED_CHUNK):  # bincount copies its input to int64
            hist += np.bincount(x[part], minlength=hist.size)
        levels.append(int(np.count_nonzero(hist)))
    return levels[0] * levels[1] > _PACKED_CELLS_PER_PIXEL * values0.size


def packed_rank_sums(
    values0: np.ndarray,
    values1: np.ndarray,
    compiled: SimpleNamespace | None,
    *,
    spearman: bool,
    kendall: bool,
) -> dict[str, float]:
    """Spearman's centred rank sums and Kendall's tau-b of two 8/16-bit integer channels.

    Kendall's tau-b from n_c - n_d = n_0 - n_1 - n_2 + n_3 - 2 n_d (Knight 1966,
    doi:10.1080/01621459.1966.10480879), with n_1, n_2, n_3 the pairs tied in x, in y and in
    both and n_d the discordant pairs, all counted exactly in integers: with the compiled
    kernels, from a counting sort of y by x (y's bytes per pixel) whose x values are counted in
    two ranges split at a median x, in two threads (the pairs across the ranges from their
    histograms of y); without them, from a packed key ``x << 16 | y`` per pixel (4 bytes at
    most) sorted by (x, y), the runs of equal keys and :func:`_inversions` (one O(n) numpy pass
    per bit of y). Spearman's sums need no sort: the average ranks come from the histograms of
    x and y. Same values as :func:`channel_codes` + :func:`joint_cells` + :func:`kendall_tau_b`,
    with tables of at most about 70,000 counts (the compiled count's 276 KiB per thread) and at
    most about 6 bytes per pixel. With ``n >= 2**31`` the compiled path (int32 counts) is not
    taken.

    Parameters
    ----------
    values0, values1 : ndarray of 8- or 16-bit integers in native byte order, shape (n,)
        The two channels' selected pixels.
    compiled : SimpleNamespace or None
        The compiled kernels (:func:`colocalize._compiled.kernels`), or None for numpy.
    spearman, kendall : bool
        Which coefficients to compute.

    Returns
    -------
    dict
        ``ruu``, ``rvv``, ``ruv``: the sums of (r0 - c)**2, (r1 - c)**2 and (r0 - c)(r1 - c)
        over the pixels, with r the average ranks and c = (n + 1) / 2 (``ruv`` with
        ``spearman``; ``ruu`` and ``rvv`` always: zero exactly when a channel is constant);
        ``kendall``: tau-b, NaN when a channel is constant (with ``kendall``).
    """
    n = values0.size
    if compiled is not None and n < 1 << 31:  # the kernels count in int32
        if not (spearman or kendall):
            return {}
        return _compiled_rank_sums(values0, values1, compiled, spearman=spearman, kendall=kendall)
    x, y, shift, _, flip = _key_parts(values0, values1)
    # the values' order: x ^ flip0 and y ^ flip1 (signed values get their sign bit flipped)
    flip0, flip1 = x.dtype.type(flip >> shift), y.dtype.type(flip & ((1 << shift) - 1))
    hist0 = np.zeros(1 << (8 * x.dtype.itemsize), dtype=np.int64)
    hist1 = np.zeros(1 << shift, dtype=np.int64)
    for part in chunks(n, _PACKED_CHUNK):
        hist0 += np.bincount(x[part] ^ flip0, minlength=hist0.size)
        hist1 += np.bincount(y[part] ^ flip1, minlength=hist1.size)
    sums: dict[str, float] = {}
    if spearman:
        rank0 = _doubled_ranks(hist0).astype(np.float64)
        rank1 = _doubled_ranks(hist1)
        weights = rank1.astype(np.float64)
        # per x, the sum of the y ranks: integers below 2**53, exact in float64
        totals = np.zeros(rank0.size)
        for part in chunks(n, _PACKED_CHUNK):
            totals += np.bincount(
                x[part] ^ flip0, weights=weights[y[part] ^ flip1], minlength=rank0.size
            )
        # pairwise sums, not BLAS: OpenBLAS's threads would spin on the other core afterwards
        square = float(np.sum(hist0 * np.square(rank0)))
        _spearman_sums(sums, float(np.sum(rank0 * totals)), square, hist1, rank1)
        del rank0, rank1, weights, totals  # not held under Kendall's keys
    if kendall:
        key, _ = _packed_keys(values0, values1)
        tied_both = _tied_runs(key)
        # y in (x, y) order, written over the keys already read (y is at most half a key), and
        # the other half of the keys' memory as the inversions' second array
        buffer = key.view(f"u{shift // 8}")
        ordered, spare = buffer[:n], buffer[n : 2 * n]
        for part in chunks(n, _PACKED_CHUNK):
            ordered[part] = key[part] & key.dtype.type((1 << shift) - 1)
        discordant = _inversions(ordered, hist1, shift, scratch=True, spare=spare)
        del key, buffer, ordered, spare
        _kendall_sums(sums, n, discordant, _tie_pairs(hist0), tied_both, hist1)
    _rank_spreads(sums, hist0, hist1)
    return sums


def _doubled_ranks(hist: np.ndarray) -> np.ndarray:
    """The doubled centred average rank 2 r - (n + 1) of each value, from the values'
    histogram (int64, exact)."""
    return 2 * np.cumsum(hist) - hist - int(hist.sum())


def _spearman_sums(
    sums: dict[str, float], cross: float, square: float, hist1: np.ndarray, rank1: np.ndarray
) -> None:
    """Spearman's centred sums from sum(u v) and sum(u u) over the pixels (u, v the doubled
    centred ranks of x and y), y's histogram and the doubled rank of each y."""
    sums["ruu"] = square / 4
    sums["rvv"] = float(np.sum(hist1 * np.square(rank1.astype(np.float64)))) / 4  # not BLAS
    sums["ruv"] = cross / 4


def _rank_spreads(sums: dict[str, float], hist0: np.ndarray, hist1: np.ndarray) -> None:
    """Sets ``ruu`` and ``rvv`` (see :func:`packed_rank_sums`) from the histograms when
    Spearman's sums did not: zero exactly when a channel is constant."""
    for key, hist in (("ruu", hist0), ("rvv", hist1)):
        if key not in sums:
            rank = _doubled_ranks(hist).astype(np.float64)
            sums[key] = float(np.sum(hist * np.square(rank))) / 4  # not BLAS


def _kendall_sums(
    sums: dict[str, float],
    n: int,
    discordant: int,
    tied0: int,
    tied_both: int,
    hist1: np.ndarray,
) -> None:
    """Kendall's tau-b from Knight's counts (see :func:`packed_rank_sums`)."""
    tied1 = _tie_pairs(hist1)
    n0 = n * (n - 1) // 2
    score = n0 - tied0 - tied1 + tied_both - 2 * discordant
    sums["kendall"] = _tau_b(score, n, tied0, tied1) if n >= 2 else math.nan


def _tied_runs(ordered: np.ndarray) -> int:
    """The pairs of equal elements of a sorted array (sum of c (c - 1) / 2 over its runs), in
    chunks."""
    total = 0
    run = 0  # the length of the run that continues into the next chunk
    previous = None
    for part in chunks(ordered.size, _PACKED_CHUNK):
        piece = ordered[part]
        first = np.empty(piece.size, dtype=bool)
        first[0] = previous is None or piece[0] != previous
        np.not_equal(piece[1:], piece[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        if starts.size == 0:
            run += piece.size
        else:
            run += int(starts[0])
            total += run * (run - 1) // 2
            lengths = np.diff(starts)
            total += _tie_pairs(lengths)
            run = piece.size - int(starts[-1])
        previous = piece[-1]
    return total + run * (run - 1) // 2


def _compiled_rank_sums(
    values0: np.ndarray,
    values1: np.ndarray,
    compiled: SimpleNamespace,
    *,
    spearman: bool,
    kendall: bool,
) -> dict[str, float]:
    """:func:`packed_rank_sums` with the compiled kernels, each step in two threads: the
    histograms of x and y, a counting sort of y by x (the pixels' halves scattered to their own
    positions), and the counts over the x values below and above a median x (the pairs across
    them from their histograms of y)."""
    n = values0.size
    x, y, shift, _, flip = _key_parts(values0, values1)
    flip0, flip1 = flip >> shift, flip & ((1 << shift) - 1)
    halves = (slice(0, n // 2), slice(n // 2, n))

    def count(part: slice) -> tuple[np.ndarray, np.ndarray]:
        # int32 (n < 2**31): half the cache footprint of int64, measurably faster
        hist0 = np.zeros(1 << (8 * x.dtype.itemsize), dtype=np.int32)
        hist1 = np.zeros(1 << shift, dtype=np.int32)
        compiled.value_counts(x[part], y[part], flip0, flip1, hist0, hist1)
        return hist0, hist1

    counted = _in_threads(count, halves)
    hist0, hist1 = (np.add(counted[0][k], counted[1][k], dtype=np.int64) for k in (0, 1))
    through = np.cumsum(hist0)  # the pixels at or below each x
    first = (through - hist0).astype(np.int32)  # each x's first position (int32, as the counts)
    firsts = (first, first + counted[0][0])  # the second half's pixels follow the first's
    del counted
    ordered = np.empty(n, dtype=y.dtype)  # y grouped by x, in ascending x
    _in_threads(
        lambda k: compiled.scatter_y(x[halves[k]], y[halves[k]], flip0, flip1, firsts[k], ordered),
        (0, 1),
    )
    rank1 = _doubled_ranks(hist1).astype(np.int32)  # |2 r - (n + 1)| < n < 2**31
    # the x values below ``middle`` hold about half the pixels
    middle = min(int(np.searchsorted(through, n / 2)) + 1, hist0.size)
    ranges = ((0, middle, 0), (middle, hist0.size, int(through[middle - 1])))
    # x values with at least about as many pixels as y has values in effect (the inverse of
    # Simpson's index, sum(p**2)) repeat many y: each y is then inserted once, with its count
    merge = int(n * n / max(float(np.sum(np.square(hist1, dtype=np.float64))), 1.0)) + 1
    low, high = _in_threads(
        lambda r: compiled.bucket_ranks(
            ordered, hist0, r[0], r[1], r[2], n, shift, rank1, merge, kendall, spearman
        ),
        ranges,
    )
    sums: dict[str, float] = {}
    if spearman:
        _spearman_sums(sums, low[2] + high[2], low[3] + high[3], hist1, rank1)
    if kendall:
        below, above = low[4], high[4]
        # a pair across the ranges is discordant when the lower range's y is the greater
        across = int(np.dot(above, int(below.sum()) - np.cumsum(below)))
        # the pairs tied in (x, y): those tied in y within a range but for different x
        tied_both = _tie_pairs(below) - int(low[1]) + _tie_pairs(above) - int(high[1])
        discordant = int(low[0]) + int(high[0]) + across
        _kendall_sums(sums, n, discordant, _tie_pairs(hist0), tied_both, hist1)
    _rank_spreads(sums, hist0, hist1)
    return sums


def _in_threads(work: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[work(item) for item in items]``, each item but the first in its own thread (for work
    that releases the GIL)."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            results[k] = work(items[k])
        except BaseException as error:  # re-raised in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(1, len(items))]
    for thread in threads:
        thread.start()
    run(0)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _inversions(
    y: np.ndarray,
    hist: np.ndarray,
    bits: int,
    *,
    scratch: bool = False,
    spare: np.ndarray | None = None,
) -> int:
    """The pairs i < j with y[i] > y[j], for ``y`` below ``2**bits`` with histogram ``hist``.

    An MSD radix pass per bit, from the top: at bit b the sequence is stably grouped by the bits
    above b (the relative order within a group is the input's), and the inverted pairs that first
    differ at bit b are those of a 1 before a 0 in the same group. Their number comes from the
    group sizes and the sum of the positions of the 1s; each group is then stably partitioned by
    bit b (a 0 moves to its group's start plus the 0s before it in the group, a 1 after the
    group's 0s plus the 1s before it). O(n) numpy work per bit in chunks: two arrays like ``y``
    and a few MiB; ``y`` is one of them with ``scratch`` (its contents are then lost), else it is
    never written; ``spare``, an array like ``y`` whose contents may be lost, is the other.
    """
    n = y.size
    if n < 2:
        return 0
    index = np.dtype(np.int32 if n < 1 << 31 else np.int64)
    current, following = y, np.empty_like(y) if spare is None else spare
    total = 0
    for b in range(bits - 1, -1, -1):
        counts = hist.reshape(-1, 1 << b).sum(axis=1)  # per value of y >> b
        zeros, ones = counts[0::2], counts[1::2]
        sizes = zeros + ones
        starts = np.cumsum(sizes) - sizes  # each group's first position
        ones_before = np.cumsum(ones) - ones  # the 1s before each group
        table = np.empty(counts.size, dtype=index)
        table[0::2] = ones_before  # a 0 at i goes to i - (1s up to i) + (1s before its group)
        table[1::2] = starts + zeros - ones_before - 1  # a 1: start + zeros + 1s before it
        seen = 0  # the 1s before the chunk
        ones_to_sum = 0  # the sum over all positions of the 1s up to them
        for part in chunks(n, _PACKED_CHUNK):
            code = current[part] >> current.dtype.type(b)
            bit = code & code.dtype.type(1)
            ones_to = np.cumsum(bit, dtype=index)  # 1s up to and including each position
            ones_to += seen
            ones_to_sum += int(ones_to.sum(dtype=np.int64))
            seen = int(ones_to[-1])
            if b == 0:
                continue
            # i - ones_to for a 0, ones_to for a 1 (arithmetic: several times faster than
            # np.where)
            positions = np.arange(part.start, part.stop, dtype=index)
            target = 2 * ones_to
            target -= positions
            target *= bit
            target += positions
            target -= ones_to
            target += table[code]
            following[target] = current[part]
        # sum over the 1s of the 0s after them in their group: (z + start - pos + rank among 1s)
        position_sum = seen * n - ones_to_sum
        total += int(np.dot(ones, zeros + starts)) + _tie_pairs(ones) - position_sum
        if b == 0:
            break
        if current is y and not scratch:  # never write over the caller's array
            current, following = following, np.empty_like(y)
        else:
            current, following = following, current
    return total


def _key_parts(
    values0: np.ndarray, values1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, np.dtype, int]:
    """x and y (the channels as unsigned integers of the same size, no copy), ``shift``, the
    packed key's dtype and the mask ``flip`` that makes ``(x << shift | y) ^ flip`` order the
    pixels by value (signed values get their sign bit flipped)."""
    shift = 8 * values1.dtype.itemsize
    key_dtype = np.dtype(
        np.uint16 if values0.dtype.itemsize + values1.dtype.itemsize <= 2 else np.uint32
    )
    flip = 0
    for values, at in ((values0, shift + 8 * values0.dtype.itemsize - 1), (values1, shift - 1)):
        if values.dtype.kind == "i":
            flip |= 1 << at
    x = values0.view(f"u{values0.dtype.itemsize}")
    y = values1.view(f"u{values1.dtype.itemsize}")
    return x, y, shift, key_dtype, flip


def _packed_keys(
    values0: np.ndarray, values1: np.ndarray, *, ordered: bool = True
) -> tuple[np.ndarray, int]:
    """``(x << shift | y) ^ flip`` per pixel (see :func:`_key_parts`), sorted (with
    ``ordered``); and ``shift``."""
    x, y, shift, key_dtype, flip = _key_parts(values0, values1)
    key = x.astype(key_dtype)
    key <<= key_dtype.type(shift)
    key |= y
    if flip:
        key ^= key_dtype.type(flip)
    if ordered:
        key.sort()
    return key, shift
