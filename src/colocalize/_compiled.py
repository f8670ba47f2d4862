"""Optional compiled kernels for the hot per-pixel loops (numba, the ``fast`` extra).

Every kernel here has a pure-numpy counterpart next to its caller, which gives identical
results: the kernels only accumulate whole numbers in int64, so the order of the sums does not
matter (``kendall_score`` has numpy counterparts in ``colocalize._ranks``: a blocked dense table,
and SciPy's merge sort beyond it; ``split_keys``, ``discordant_pairs`` and ``rank_moments``, the
ranks of 8/16-bit pairs from packed keys split at a median x and sorted (each half in its own
thread: the kernels release the GIL), have ``packed_rank_sums`` without kernels (histograms and a
radix count of inversions: the same integers) when the pair has more value pairs than the codes'
dense table handles fast, else the codes and joint cells; ``rank_moments`` sums floats, equal to
1e-12). numba is imported on first use, never at ``import colocalize``; without it, or with the
environment variable ``COLOCALIZE_NUMBA=0``, :func:`kernels` returns None and the callers use
numpy. Compiled code is cached on disk
(numba's ``cache=True``): the first use in a process costs the numba import and the cache load
(about 0.6 s on our 2-core machine), the first use on a machine the compilation (about 3 s).
Callers that should not pay that on a first call use :func:`loaded_kernels`, which answers
None (numpy) until the kernels are loaded or the numpy time they would have saved (reported
with :func:`spent`) exceeds the load's cost. (Loading them in a background thread instead
slowed the numpy calls meanwhile 2-5x on 2 cores: the import holds the GIL.)
"""

from __future__ import annotations

import os
from types import SimpleNamespace

__all__ = ["kernels", "loaded_kernels", "spent"]

# Inputs below this many pixels use numpy: loading the compiled code costs more than it saves.
MIN_PIXELS = 1 << 20
# What loading the kernels costs in a fresh process (numba's import and disk-cache loads, our
# 2-core machine): callers use numpy until they have spent this long in numpy paths that the
# kernels would have replaced, then load them (the ski-rental rule: never more than twice the
# time of the better choice made in hindsight, and a first call never slower than numpy).
LOAD_SECONDS = 0.6
# kendall_score's Fenwick tree counts blocks of 2**KENDALL_BLOCK_BITS codes.
KENDALL_BLOCK_BITS = 6

_cache: dict[str, SimpleNamespace | None] = {}
_spent = [0.0]  # seconds spent in numpy paths the kernels would have replaced


def _enabled(size: int) -> bool:
    return size >= MIN_PIXELS and os.environ.get("COLOCALIZE_NUMBA", "1") != "0"


def kernels(size: int) -> SimpleNamespace | None:
    """The compiled kernels for an input of ``size`` pixels (loading them now), or None to use
    numpy."""
    if not _enabled(size):
        return None
    if "numba" not in _cache:
        _cache["numba"] = _build()
    return _cache["numba"]


def loaded_kernels(size: int) -> SimpleNamespace | None:
    """The compiled kernels when they are loaded or have earned their load, else None (numpy).

    They are loaded once callers have spent ``LOAD_SECONDS`` in numpy paths they replace
    (reported with :func:`spent`), so a fresh process's first call costs what numpy costs.
    """
    if not _enabled(size):
        return None
    if "numba" in _cache or _spent[0] >= LOAD_SECONDS:
        return kernels(size)
    return None


def spent(size: int, seconds: float) -> None:
    """Report ``seconds`` spent in a numpy path on ``size`` pixels because
    :func:`loaded_kernels` answered None (ignored when the kernels would not apply)."""
    if _enabled(size) and "numba" not in _cache:
        _spent[0] += seconds


def _build() -> SimpleNamespace | None:
    try:
        import numba
    except ImportError:
        return None
    import numpy as np

    jit = numba.njit(cache=True, nogil=True)

    @jit
    def summary(a, b):
        """min a, max a, min b, max b, n, Sa, Sb, Saa, Sbb, Sab (int64) in one pass."""
        lo0 = hi0 = np.int64(a[0])
        lo1 = hi1 = np.int64(b[0])
        sa = sb = saa = sbb = sab = np.int64(0)
        for i in range(a.size):
            x = np.int64(a[i])
            y = np.int64(b[i])
            lo0 = min(lo0, x)
            hi0 = max(hi0, x)
            lo1 = min(lo1, y)
            hi1 = max(hi1, y)
            sa += x
            sb += y
            saa += x * x
            sbb += y * y
            sab += x * y
        return np.array([lo0, hi0, lo1, hi1, a.size, sa, sb, saa, sbb, sab])

    @jit
    def box_moments(a, b, lo0, hi0, lo1, hi1):
        """n, Sa, Sb, Saa, Sbb, Sab (int64) of the pairs with lo0 <= a <= hi0, lo1 <= b <= hi1.

        Branch-free, so that it vectorises: one pass costs about as much as reading the data.
        """
        n = sa = sb = saa = sbb = sab = np.int64(0)
        for i in range(a.size):
            x = np.int64(a[i])
            y = np.int64(b[i])
            inside = -np.int64((x >= lo0) & (x <= hi0) & (y >= lo1) & (y <= hi1))  # 0 or ~0
            x &= inside
            y &= inside
            n -= inside
            sa += x
            sb += y
            saa += x * x
            sbb += y * y
            sab += x * y
        return np.array([n, sa, sb, saa, sbb, sab])

    @jit
    def pair_sums(a, b, bounds):
        """Every non-rank coefficient's integer sums of a pair of 8/16-bit channels, one pass.

        ``bounds`` (int64): a value is above its channel's mean if >= bounds[0] (a) / bounds[2]
        (b), below it if <= bounds[1] / bounds[3]; at least T if >= bounds[4] / bounds[6],
        above T if >= bounds[5] / bounds[7]. Returns (int64) Saa, Sbb, Sab, discordant count,
        Sa[b > 0], Sb[a > 0], Sa[b >= Tb, b > 0], Sb[a >= Ta, a > 0], Sa[a > Ta], Sb[b > Tb],
        Sa[both > T], Sb[both > T], #both > T, then n, Sa, Sb, Saa, Sbb, Sab of the pixels
        below (not both >= T) and of those above (either > T), then Sab, Saa, Sbb of the pixels
        with both > T (JACoP's thresholded overlap), #a > Ta, #b > Tb (TOS). Branch-free.
        """
        pos0, neg0, pos1, neg1, ge0, gt0, ge1, gt1 = bounds
        out = np.zeros(30, dtype=np.int64)
        saa = sbb = sab = disc = m1 = m2 = tm1 = tm2 = own0 = own1 = np.int64(0)
        both0 = both1 = nboth = sab_t = saa_t = sbb_t = n0 = n1 = np.int64(0)
        nb = sab_b = sbb_b = saa_b = sa_b = sb_b = np.int64(0)
        na = sab_a = sbb_a = saa_a = sa_a = sb_a = np.int64(0)
        for i in range(a.size):
            x = np.int64(a[i])
            y = np.int64(b[i])
            xx = x * x
            yy = y * y
            xy = x * y
            saa += xx
            sbb += yy
            sab += xy
            disc += ((x >= pos0) & (y <= neg1)) | ((x <= neg0) & (y >= pos1))
            m1 += x * (y > 0)
            m2 += y * (x > 0)
            tm1 += x * ((y >= ge1) & (y > 0))
            tm2 += y * ((x >= ge0) & (x > 0))
            above0 = x >= gt0
            above1 = y >= gt1
            own0 += x * above0
            own1 += y * above1
            n0 += above0
            n1 += above1
            both = above0 & above1
            both0 += x * both
            both1 += y * both
            nboth += both
            sab_t += xy * both
            saa_t += xx * both
            sbb_t += yy * both
            below = 1 - np.int64((x >= ge0) & (y >= ge1))
            nb += below
            sa_b += x * below
            sb_b += y * below
            saa_b += xx * below
            sbb_b += yy * below
            sab_b += xy * below
            above = np.int64(above0 | above1)
            na += above
            sa_a += x * above
            sb_a += y * above
            saa_a += xx * above
            sbb_a += yy * above
            sab_a += xy * above
        out[:] = (
            saa,
            sbb,
            sab,
            disc,
            m1,
            m2,
            tm1,
            tm2,
            own0,
            own1,
            both0,
            both1,
            nboth,
            nb,
            sa_b,
            sb_b,
            saa_b,
            sbb_b,
            sab_b,
            na,
            sa_a,
            sb_a,
            saa_a,
            sbb_a,
            sab_a,
            sab_t,
            saa_t,
            sbb_t,
            n0,
            n1,
        )
        return out

    # Array indices are cast to unsigned: numba then skips its negative-index wraparound
    # checks, which otherwise make these scatter loops 2-3 times slower.
    u = np.uint64

    @jit
    def ring_select(a, b, low0, low1, high0, high1, out):
        """Writes to ``out`` the indices of the pairs in the quadrant ``a >= low0, b >= low1``
        but not in ``a >= high0, b >= high1``; returns how many (branch-free).

        Never writes past ``out`` (size >= 1): a count of ``out.size`` or more means ``out``
        was too small and its contents are incomplete.
        """
        k = total = u(0)
        last = u(out.size - 1)
        for i in range(a.size):
            x = a[i]
            y = b[i]
            out[k] = i
            flag = u((x >= low0) & (y >= low1) & ((x < high0) | (y < high1)))
            total += flag
            k = min(k + flag, last)
        return total

    @jit
    def ring_bins(a, b, index, f0, f1, base0, base1, size):
        """n, Sa, Sb, Saa, Sbb, Sab (int64) of the pairs ``index`` per entry bin
        ``max(f0[a - base0], f1[b - base1])``."""
        out = np.zeros((size, 6), dtype=np.int64)
        for i in index:
            x = np.int64(a[u(i)])
            y = np.int64(b[u(i)])
            e = u(max(f0[u(x - base0)], f1[u(y - base1)]))
            out[e, 0] += 1
            out[e, 1] += x
            out[e, 2] += y
            out[e, 3] += x * x
            out[e, 4] += y * y
            out[e, 5] += x * y
        return out

    @jit
    def entry_bins(a, b, code0, code1, base0, base1, size):
        """Count, sum of ``s = a + b`` and of ``s**2`` per bin ``max(code0[a], code1[b])``."""
        out = np.zeros((size, 3), dtype=np.int64)
        for i in range(a.size):
            x = np.int64(a[i])
            y = np.int64(b[i])
            c = u(max(code0[u(x - base0)], code1[u(y - base1)]))
            s = x + y
            out[c, 0] += 1
            out[c, 1] += s
            out[c, 2] += s * s
        return out

    @jit
    def interval_bins(v_in, v_out, f, g, base_in, base_out, never):
        """Count, sum of ``s`` and ``s**2`` per level of each channel; ``never`` if f >= g."""
        out_in = np.zeros((never + 1, 3), dtype=np.int64)
        out_out = np.zeros((never + 1, 3), dtype=np.int64)
        for i in range(v_in.size):
            x = u(np.int64(v_in[i]) - base_in)
            y = u(np.int64(v_out[i]) - base_out)
            s = np.int64(v_in[i]) + np.int64(v_out[i])
            if f[x] >= g[y]:
                x = u(never)
                y = u(never)
            out_in[x, 0] += 1
            out_in[x, 1] += s
            out_in[x, 2] += s * s
            out_out[y, 0] += 1
            out_out[y, 1] += s
            out_out[y, 2] += s * s
        return out_in, out_out

    @jit
    def kendall_score(code0, code1, counts, tree, column):
        """n_c - n_d of joint cells sorted by (code0, code1) (code0 only compared for
        equality): ``column`` (zeros of size k1, the narrowest unsigned dtype that holds
        code1's largest count) counts the cells of earlier rows per code1, and ``tree`` (zeros
        of size at least k1 // 2**KENDALL_BLOCK_BITS + 2; int32 when the counts sum below
        2**31) is a Fenwick tree of those counts per block of 2**KENDALL_BLOCK_BITS codes. The
        pixels below a code are the tree's blocks before its block plus the column's counts
        before it in its block (one cache line for byte counts): the tree stays in cache, 1/64
        of a tree over every code."""
        bits = KENDALL_BLOCK_BITS
        blocks = tree.size - 1
        total = np.int64(0)
        score = np.int64(0)
        m = code0.size
        start = 0
        while start < m:
            stop = start
            while stop < m and code0[stop] == code0[start]:
                # earlier cells have a smaller code0: concordant below, discordant above
                c = np.int64(code1[stop])
                below = np.int64(0)
                k = c >> bits
                while k > 0:
                    below += tree[u(k)]
                    k -= k & -k
                for x in range((c >> bits) << bits, c):
                    below += column[x]
                above = total - below - column[u(c)]
                score += np.int64(counts[stop]) * (below - above)
                stop += 1
            for i in range(start, stop):
                w = np.int64(counts[i])
                column[u(code1[i])] += w
                k = (np.int64(code1[i]) >> bits) + 1
                while k <= blocks:
                    tree[u(k)] += w
                    k += k & -k
                total += w
            start = stop
        return score

    @jit
    def discordant_pairs(keys, shift, kendall):
        """Kendall's counts from packed keys ``x << shift | y`` (y < 2**16) sorted ascending.

        Returns (int64) n_d, the discordant pairs (i before j with y_i > y_j: pairs tied in x
        are never counted, their y ascend), n_x and n_xy, the pairs tied in x and in (x, y),
        and the histogram of y. Knight's method (1966, doi:10.1080/01621459.1966.10480879) with
        the inversions counted by three levels of "how many inserted values are greater" over
        4 + 6 + 6 bits of y: a query reads one count per level, an insertion adds to 16, 64 and
        64 consecutive counts (vectorised, branch-free). Each run of equal keys is one query
        and one insertion. Without ``kendall`` only the ties and the histogram are counted.
        """
        mask = (np.int64(1) << shift) - 1
        top = np.zeros(16, dtype=np.int32)  # values with a greater top digit
        mid = np.zeros(16 << 6, dtype=np.int32)  # same top digit, greater middle digit
        low = np.zeros(1 << 16, dtype=np.int32)  # same top and middle digits, greater low one
        hist = np.zeros(mask + 1, dtype=np.int64)
        discordant = tied_x = tied_xy = np.int64(0)
        m = keys.size
        i = 0
        run_x = np.int64(-1)
        run = np.int64(0)  # pixels in the current run of equal x
        while i < m:
            key = keys[i]
            j = i + 1
            while j < m and keys[j] == key:
                j += 1
            c = np.int64(j - i)
            i = j
            x = np.int64(key) >> shift
            y = np.int64(key) & mask
            hist[u(y)] += c
            tied_xy += c * (c - 1) // 2
            if x != run_x:
                tied_x += run * (run - 1) // 2
                run_x = x
                run = np.int64(0)
            run += c
            if kendall:
                d0 = y >> 12
                p1 = y >> 6
                d1 = p1 & 63
                d2 = y & 63
                discordant += c * (top[u(d0)] + mid[u(p1)] + low[u(y)])
                w = np.int32(c)
                for t in range(16):
                    top[t] += w * np.int32(t < d0)
                base = d0 << 6
                for t in range(64):
                    mid[u(base + t)] += w * np.int32(t < d1)
                base = p1 << 6
                for t in range(64):
                    low[u(base + t)] += w * np.int32(t < d2)
        tied_x += run * (run - 1) // 2
        return discordant, tied_x, tied_xy, hist

    @jit
    def split_keys(x, y, shift, flip, pivot, out):
        """Writes ``(x << shift | y) ^ flip`` per pixel to ``out`` (same size): the keys below
        ``pivot`` from the front, the others from the back; returns how many are below.

        Branch-free: each key is written to both free ends and only one end advances.
        """
        lo = np.int64(0)
        hi = np.int64(out.size)
        for i in range(x.size):
            key = ((np.int64(x[i]) << shift) | np.int64(y[i])) ^ flip
            out[u(lo)] = key
            out[u(hi - 1)] = key
            below = np.int64(key < pivot)
            lo += below
            hi -= 1 - below
        return lo

    @jit
    def rank_moments(keys, shift, rank1, offset, n):
        """Spearman's sums from sorted packed keys ``x << shift | y``, the first ``offset`` of
        ``n`` pixels in (x, y) order (``keys`` holds a run of whole x values), and the doubled
        centred average rank of each y (``rank1``, int64): sum(u v) and sum(u u) (float64),
        with u, v the doubled centred average ranks of x and y (integers: 2 rank - (n + 1))."""
        mask = (np.int64(1) << shift) - 1
        m = keys.size
        cross = square = 0.0
        i = 0
        while i < m:
            x = np.int64(keys[i]) >> shift
            start = i
            total = np.int64(0)  # exact: |sum| <= n * n < 2**62
            while i < m and (np.int64(keys[i]) >> shift) == x:
                total += rank1[u(np.int64(keys[i]) & mask)]
                i += 1
            length = np.int64(i - start)
            rank0 = 2 * (np.int64(start) + offset) + length - n
            cross += float(rank0) * float(total)
            square += float(length) * float(rank0) * float(rank0)
        return cross, square

    return SimpleNamespace(
        kendall_score=kendall_score,
        discordant_pairs=discordant_pairs,
        rank_moments=rank_moments,
        split_keys=split_keys,
        pair_sums=pair_sums,
        summary=summary,
        box_moments=box_moments,
        ring_select=ring_select,
        ring_bins=ring_bins,
        entry_bins=entry_bins,
        interval_bins=interval_bins,
    )
