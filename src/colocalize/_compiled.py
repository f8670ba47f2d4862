"""Optional compiled kernels for the hot per-pixel loops (numba, the ``fast`` extra).

Every kernel here has a pure-numpy counterpart next to its caller, which gives identical
results: the kernels only accumulate whole numbers in int64, so the order of the sums does not
matter (``kendall_score`` has numpy counterparts in ``colocalize._ranks``: a blocked dense table,
and SciPy's merge sort beyond it; ``value_counts``, ``scatter_y`` and ``bucket_ranks``, the ranks
of 8/16-bit pairs by a counting sort of y by x and counts over two ranges of x (each step in two
threads: the kernels release the GIL), have ``packed_rank_sums`` without kernels (histograms and a
radix count of inversions: the same integers) when the pair has more value pairs than the codes'
dense table handles fast, else the codes and joint cells; ``bucket_ranks`` sums Spearman's floats,
equal to 1e-12). numba is imported on first use, never at ``import colocalize``; without it, or
with the environment variable ``COLOCALIZE_NUMBA=0``, :func:`kernels` returns None and the callers
use numpy. Compiled code is cached on disk
(numba's ``cache=True``): the first use in a process costs the numba import and the cache load
(about 0.6 s on our 2-core machine), the first use on a machine the compilation (about 3 s).
Callers that should not pay that on a first call use :func:`loaded_kernels`, which answers
None (numpy) until the kernels are loaded or the numpy time they would have saved (reported
with :func:`spent`) exceeds the load's cost. (Loading them in a background thread instead
slowed the numpy calls meanwhile 2-5x on 2 cores: the import holds the GIL.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

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
# numba functions that kernels call, set by _build: module globals, not closure variables, which
# numba's disk cache keys by their pickle (a new one in every process: the cache never hit)
_add_below: Callable[..., None]
_insert: Callable[..., None]


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
    global _add_below, _insert
    try:
        import numba
    except ImportError:
        return None
    import numpy as np
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

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

    i32 = ir.IntType(32)
    lanes = ir.VectorType(i32, 16)

    def add_below_typer(typingctx, counts, base, digit, weight):
        """``counts[base + t] += weight`` for t = 0..15 below ``digit`` (0..16), as one 16-lane
        vector (int32 ``counts``): LLVM turned that loop into 16 scalar read-modify-writes."""
        if not (isinstance(counts, types.Array) and counts.dtype == types.int32):
            return None

        def codegen(context, builder, signature, args):
            data = context.make_array(signature.args[0])(context, builder, args[0]).data
            where = builder.bitcast(builder.gep(data, [args[1]]), lanes.as_pointer())
            # the lanes below the digit (0..16): the low ``digit`` bits of a 16-bit mask
            bits = builder.shl(ir.Constant(i32, 1), builder.trunc(args[2], i32))
            bits = builder.trunc(builder.sub(bits, ir.Constant(i32, 1)), ir.IntType(16))
            below = builder.bitcast(bits, ir.VectorType(ir.IntType(1), 16))
            value = builder.load(where, align=4)
            weight = builder.trunc(args[3], i32)
            splat = builder.insert_element(ir.Constant(lanes, None), weight, ir.Constant(i32, 0))
            splat = builder.shuffle_vector(
                splat, ir.Constant(lanes, None), ir.Constant(lanes, [0] * 16)
            )
            added = builder.add(value, splat)
            builder.store(builder.select(below, added, value), where, align=4)
            return context.get_dummy_value()

        return types.void(counts, types.int64, types.int64, types.int64), codegen

    _add_below = cast("Callable[..., None]", intrinsic(add_below_typer))

    @jit
    def value_counts(x, y, flip0, flip1, hist0, hist1):
        """Adds the histograms of ``x ^ flip0`` to ``hist0`` and of ``y ^ flip1`` to ``hist1``."""
        for i in range(x.size):
            hist0[u(x[i] ^ flip0)] += 1
            hist1[u(y[i] ^ flip1)] += 1

    @jit
    def scatter_y(x, y, flip0, flip1, following, out):
        """A counting sort of ``y ^ flip1`` by ``x ^ flip0``: each pixel's y goes to
        ``out[following[x]]``, which then advances (``following`` starts at the first free
        position of each x)."""
        for i in range(x.size):
            v = u(x[i] ^ flip0)
            at = following[v]
            out[u(at)] = y[i] ^ flip1
            following[v] = at + 1

    def insert(greater, tally, y, scale, copy, w):
        """Inserts ``w`` pixels of value y into :func:`bucket_ranks`'s levels 1-3 (level 1's
        copy ``copy``) and its tally."""
        tally[u(y)] += w
        v = y << scale
        _add_below(greater, (copy << 9) + ((v >> 12) << 5), ((v >> 8) & 15) + 1, w)
        _add_below(greater, 1024 + ((v >> 8) << 4), (v >> 4) & 15, w)
        _add_below(greater, 5120 + ((v >> 4) << 4), v & 15, w)

    _insert = numba.njit(inline="always")(insert)

    @jit
    def bucket_ranks(ys, hist0, low, high, start, n, bits, rank1, merge, kendall, spearman):
        """Kendall's and Spearman's counts over the x values ``low..high-1`` of a counting
        sort (``ys``: the y of each pixel, grouped by x in ascending order, ``hist0[x]``
        pixels each, value ``low``'s first at ``start``; y < 2**bits, bits 8 or 16). The
        pixels of an x with at least ``merge`` of them are inserted once per distinct y, with
        its count (one more pass over them: for images with few levels, whose x values repeat
        the same y many times).

        Returns n_d (the pairs i, j of these x values with x_i < x_j and y_i > y_j), the pairs
        with equal y and different x, sum(u v) and sum(u u) (float64; u, v the doubled centred
        average ranks of x and y, 2 r - (n + 1), ``rank1`` the v of each y, int32) and the
        histogram of these pixels' y (int64). Each x's pixels are all queried before any is
        inserted, so pairs tied in x are never counted and need no sort. n_d by Knight's method
        (1966, doi:10.1080/01621459.1966.10480879) with "how many inserted values are greater"
        over the 4-bit digits of y: level k holds, per prefix of k digits and digit t, the
        values inserted with that prefix and a digit above t (level 1: at or above t); a query
        reads one count per level, an insertion adds one 16-lane vector (``_add_below``) to
        levels 1-3. Level 0 is rebuilt once per x from level 1 (its one vector, updated by
        every insertion, took a third of the time: each waited for the previous one's store),
        and level 1 has two copies, for even and odd positions (its 16 vectors: the same wait
        whenever neighbours share a top digit, as most do in dark images).
        """
        scale = 16 - bits  # y << scale: 16 bits, 4 digits
        # level 1 (two copies at 0 and 512) per top digit p (rows 32 apart, lanes 16-31 stay
        # zero): the values inserted with p and a second digit >= t, so lane 0 holds p's count
        # and lane 16 zero; levels 2 (at 1024) and 3 (at 5120) per prefix and digit t: the
        # values with that prefix and a digit > t
        greater = np.zeros(70656 if kendall else 0, dtype=np.int32)
        # level 0, rebuilt from level 1's lane 0 after each x: values with a top digit > t
        top = np.zeros(16, dtype=np.int64)
        # per y, one load: rank1 (high 32 bits) and the pixels inserted so far (low 32 bits)
        tally = np.zeros(1 << bits, dtype=np.int64)
        widest = 0  # the most pixels of one x
        for x in range(low, high):
            widest = max(widest, hist0[x])
        # per y, its pixels in this x (only when some x merges: fresh pages cost time)
        repeats = np.zeros(1 << bits if kendall and widest >= merge else 0, dtype=np.int32)
        if spearman:
            for y in range(1 << bits):
                tally[y] = np.int64(rank1[y]) << 32
        low32 = np.int64(0xFFFFFFFF)
        discordant = same = np.int64(0)
        cross = square = 0.0
        at = np.int64(start)
        for x in range(low, high):
            stop = at + hist0[x]
            if stop == at:
                continue
            total = np.int64(0)
            for i in range(at, stop):
                y = np.int64(ys[u(i)])
                both = tally[u(y)]
                total += both >> 32
                same += both & low32
                if kendall:
                    v = y << scale
                    row = (v >> 12) << 5
                    g = row + ((v >> 8) & 15) + 1
                    discordant += top[u(v >> 12)] + greater[u(g)] + greater[u(512 + g)]
                    discordant += np.int64(greater[u(1024 + (v >> 4))]) + greater[u(5120 + v)]
            if spearman:
                rank0 = float(at + stop - n)  # 2 (at + 1 + stop) / 2 - (n + 1)
                cross += rank0 * float(total)
                square += float(stop - at) * rank0 * rank0
            if kendall:
                if stop - at < merge:
                    for i in range(at, stop):
                        _insert(greater, tally, np.int64(ys[u(i)]), scale, i & 1, np.int64(1))
                else:  # each y once, with its count in this x
                    for i in range(at, stop):
                        repeats[u(ys[u(i)])] += 1
                    for i in range(at, stop):
                        y = np.int64(ys[u(i)])
                        w = np.int64(repeats[u(y)])
                        if w:  # else inserted with its first occurrence
                            repeats[u(y)] = 0
                            _insert(greater, tally, y, scale, i & 1, w)
                above = np.int64(0)
                for d in range(15, -1, -1):
                    top[d] = above
                    above += np.int64(greater[d << 5]) + greater[512 + (d << 5)]
            at = stop
        for y in range(1 << bits):
            tally[y] &= low32
        return discordant, same, cross, square, tally

    return SimpleNamespace(
        kendall_score=kendall_score,
        value_counts=value_counts,
        scatter_y=scatter_y,
        bucket_ranks=bucket_ranks,
        pair_sums=pair_sums,
        summary=summary,
        box_moments=box_moments,
        ring_select=ring_select,
        ring_bins=ring_bins,
        entry_bins=entry_bins,
        interval_bins=interval_bins,
    )
