"""ImageJ's histogram auto-threshold methods, reproduced bin for bin.

Each ``_method(h)`` takes a 1-D float64 array of bin counts (non-negative integers, at least one
non-zero) and returns the bin index ImageJ 1.53t's ``ij.process.AutoThresholder`` returns for it,
before ``getThreshold`` maps -1 to 0. The arithmetic follows ImageJ's Java code step by step,
including the order of its floating-point sums (sequential, which ``np.cumsum`` reproduces), its
``int`` truncations and its ``int`` overflow where ImageJ multiplies in 32-bit integers, because
near-ties between candidate levels are common in real histograms and a different summation order
can pick the neighbouring bin. The methods are written for any histogram length ``n`` (ImageJ's
code hard-codes 256; every ``255`` of it is ``n - 1`` here), which the full-histogram option uses.

``Huang2`` is not in ImageJ 1.x: it is Johannes Schindelin's faster variant of Huang's method from
Fiji's Auto Threshold plugin (v1.17+), which does not return the same levels as ``Huang``.

Costs: the entropy methods (Huang, Huang2, MaxEntropy, RenyiEntropy, Shanbhag) are O(n²) in the
histogram length, like ImageJ's; they run in row blocks to bound memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from colocalize._java import java_int, java_round_int, wrap_int32

__all__ = ["IMAGEJ_METHODS", "METHODS", "compute_fiji_level", "compute_level"]

_DBL_EPSILON = 2.220446049250313e-16
_DBL_MIN_VALUE = 4.9e-324  # Java's Double.MIN_VALUE: the smallest positive double
_DBL_MAX_VALUE = np.finfo(np.float64).max
_BLOCK_ELEMENTS = 1 << 22  # cells per block of the (level x bin) matrices


# --------------------------------------------------------------------------------------------
# Java semantics helpers


def _seq_sum(values: np.ndarray) -> np.float64:
    """Left-to-right sum, as a Java ``for`` loop accumulates (np.sum is pairwise).

    Returned as ``np.float64`` so that later divisions by zero give inf/NaN as in Java.
    """
    if values.size == 0:
        return np.float64(0.0)
    return np.cumsum(values)[-1]


def _first_argmin(values: np.ndarray, start: float) -> int:
    """Index kept by ``if (v < best) {best = v; idx = i;}`` from ``best = start``; -1 if none."""
    with np.errstate(invalid="ignore"):
        ok = values < start
    if not ok.any():
        return -1
    best = values[ok].min()
    return int(np.flatnonzero(ok & (values == best))[0])


def _first_argmax(values: np.ndarray, start: float) -> int:
    """Index kept by ``if (v > best) {best = v; idx = i;}`` from ``best = start``; -1 if none."""
    with np.errstate(invalid="ignore"):
        ok = values > start
    if not ok.any():
        return -1
    best = values[ok].max()
    return int(np.flatnonzero(ok & (values == best))[0])


def _row_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    step = max(1, _BLOCK_ELEMENTS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _row_sums(
    rows: np.ndarray, n_cols: int, term: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Sequential (left-to-right) sums of ``term(rows_block)``, a (rows, n_cols) matrix."""
    out = np.empty(rows.size, dtype=np.float64)
    for block in _row_blocks(rows.size, n_cols):
        mat = term(rows[block])
        out[block] = np.cumsum(mat, axis=1)[:, -1] if n_cols else 0.0
    return out


def _nonzero_span(h: np.ndarray) -> tuple[int, int]:
    nz = np.flatnonzero(h)
    return int(nz[0]), int(nz[-1])


def _bimodal(y: np.ndarray) -> bool:
    """ImageJ's ``bimodalTest``: exactly two strict local maxima."""
    if y.size < 3:
        return False
    peaks = (y[:-2] < y[1:-1]) & (y[2:] < y[1:-1])
    return int(np.count_nonzero(peaks)) == 2


def _normalised(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``norm_histo``, ``P1`` (sequential cumulative sum) and ``P2 = 1 - P1``."""
    total = _seq_sum(h)
    norm = h / total
    p1 = np.cumsum(norm)
    return norm, p1, 1.0 - p1


def _entropy_span(p1: np.ndarray, p2: np.ndarray) -> tuple[int, int]:
    """``first_bin``/``last_bin`` of MaxEntropy, RenyiEntropy and Shanbhag (tests on P1, P2)."""
    n = p1.size
    idx = np.flatnonzero(~(np.abs(p1) < _DBL_EPSILON))
    first = int(idx[0]) if idx.size else 0
    idx = np.flatnonzero(~(np.abs(p2[first:]) < _DBL_EPSILON))
    last = first + int(idx[-1]) if idx.size else n - 1
    return first, last


# --------------------------------------------------------------------------------------------
# The methods


def _huang(h: np.ndarray) -> int:
    n = h.size
    first, last = _nonzero_span(h)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.float64(1.0) / np.float64(last - first)
        idx = np.arange(n, dtype=np.float64)
        # mu_0[ih] for ih >= first: running mean from the first bin; 0 below.
        mu_0 = np.zeros(n)
        csum = np.cumsum(idx[first:] * h[first:])
        ccnt = np.cumsum(h[first:])
        mu_0[first:] = csum / ccnt
        # mu_1[ih - 1] for ih = last .. 1: running mean from the last bin downwards.
        mu_1 = np.zeros(n)
        rsum = np.cumsum((idx * h)[last:0:-1])
        rcnt = np.cumsum(h[last:0:-1])
        if last > 0:
            mu_1[last - 1 :: -1] = rsum / rcnt

    cols = np.arange(n)

    def term_matrix(its: np.ndarray) -> np.ndarray:
        lower = cols[None, :] <= its[:, None]
        mu = np.where(lower, mu_0[its][:, None], mu_1[its][:, None])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            mu_x = 1.0 / (1.0 + term * np.abs(cols[None, :] - mu))
            keep = ~((mu_x < 1e-06) | (mu_x > 0.999999))
            ent = h[None, :] * (-mu_x * np.log(mu_x) - (1.0 - mu_x) * np.log(1.0 - mu_x))
        return np.where(keep, ent, 0.0)

    ent = _row_sums(np.arange(n), n, term_matrix)
    return _first_argmin(ent, _DBL_MAX_VALUE)


def _huang2(h: np.ndarray) -> int:
    n = h.size
    first, last = _nonzero_span(h)
    if first == last:
        return 0
    s = np.zeros(last + 1)
    w = np.zeros(last + 1)
    s[0] = h[0]
    lo = max(1, first)
    idx = np.arange(n, dtype=np.float64)
    s[lo:] = s[lo - 1] + np.cumsum(h[lo : last + 1])
    w[lo:] = w[lo - 1] + np.cumsum(idx[lo : last + 1] * h[lo : last + 1])
    c = float(last - first)
    smu = np.zeros(last + 1 - first)
    k = np.arange(1, smu.size, dtype=np.float64)
    mu = 1.0 / (1.0 + k / c)
    with np.errstate(divide="ignore", invalid="ignore"):
        smu[1:] = -mu * np.log(mu) - (1.0 - mu) * np.log(1.0 - mu)
    levels = np.arange(first, last + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_lo = np.array([java_round_int(x) for x in w[levels] / s[levels]])
        mu_hi = np.array([java_round_int(x) for x in (w[last] - w[levels]) / (s[last] - s[levels])])
    cols = np.arange(first, last + 1)
    data = h[first : last + 1]

    def term_matrix(rows: np.ndarray) -> np.ndarray:
        t = levels[rows][:, None]
        mu_t = np.where(cols[None, :] <= t, mu_lo[rows][:, None], mu_hi[rows][:, None])
        dist = np.abs(cols[None, :] - mu_t)
        return smu[np.minimum(dist, smu.size - 1)] * data[None, :]

    ent = _row_sums(np.arange(levels.size), cols.size, term_matrix)
    best = _first_argmin(ent, _DBL_MAX_VALUE)
    return first + best if best >= 0 else 0


def _smooth_truncated(hist: np.ndarray) -> np.ndarray:
    """Intermodes' 3-point running mean (zero outside, left-to-right additions)."""
    out = np.empty_like(hist)
    if hist.size == 1:
        out[0] = (0.0 + hist[0]) / 3
        return out
    padded = np.concatenate(([0.0], hist))
    out[:-1] = (padded[:-2] + padded[1:-1] + padded[2:]) / 3
    out[-1] = (hist[-2] + hist[-1]) / 3
    return out


def _intermodes(h: np.ndarray) -> int:
    minbin, maxbin = _nonzero_span(h)
    hist = h[minbin : maxbin + 1].astype(np.float64)
    iterations = 0
    while not _bimodal(hist):
        hist = _smooth_truncated(hist)
        iterations += 1
        if iterations > 10000:
            return -1
    i = np.arange(1, hist.size - 1)
    peaks = (hist[:-2] < hist[1:-1]) & (hist[2:] < hist[1:-1])
    tt = int(i[peaks].sum())
    return int(np.floor(tt / 2.0)) + minbin


def _isodata(h: np.ndarray) -> int:
    n = h.size
    g = 0
    nz = np.flatnonzero(h[1:])
    if nz.size:
        g = int(nz[0]) + 2
    counts = h.astype(np.int64)
    idx = np.arange(n, dtype=np.int64)
    # ImageJ accumulates l (sum of i * count below g) and totl in Java ints.
    cum_l = wrap_int32(np.concatenate(([0], np.cumsum(counts * idx))))
    cum_n = wrap_int32(np.concatenate(([0], np.cumsum(counts))))
    hcum = np.concatenate(([0.0], np.cumsum(idx * h)))
    ncum = np.concatenate(([0.0], np.cumsum(h)))
    while True:
        totl = int(cum_n[g])
        l_int = int(cum_l[g])
        toth = ncum[n] - ncum[min(g + 1, n)]
        hsum = hcum[n] - hcum[min(g + 1, n)]
        if totl > 0 and toth > 0:
            l_mean = abs(l_int) // totl * (1 if l_int >= 0 else -1)  # Java int division
            h_mean = hsum / toth
            if g == java_round_int((l_mean + h_mean) / 2.0):
                break
        g += 1
        if g > n - 2:
            return -1
    return g


def _ij_isodata(h: np.ndarray) -> int:
    data = h.copy()
    data[0] = 0.0  # ImageJ leaves out the first and last bins ("erased areas")
    data[-1] = 0.0
    return _intermeans(data, data)


def _intermeans(data: np.ndarray, weighted: np.ndarray) -> int:
    """ImageJ's original IsoData loop; ``weighted`` holds the per-bin ``i * count`` terms."""
    n = data.size
    max_value = n - 1
    nz = np.flatnonzero(data)
    lo = int(nz[0]) if nz.size else max_value
    hi = int(nz[-1]) if nz.size else 0
    if lo >= hi:
        return n // 2
    if weighted is data:
        weighted = np.arange(n, dtype=np.float64) * data
    # Sums of integers, exact in double precision.
    s_iv = np.cumsum(weighted[lo : hi + 1])
    s_n = np.cumsum(data[lo : hi + 1])
    moving = lo
    while True:
        k = moving - lo
        sum1, sum2 = s_iv[k], s_n[k]
        sum3, sum4 = s_iv[-1] - s_iv[k], s_n[-1] - s_n[k]
        result = (sum1 / sum2 + sum3 / sum4) / 2.0
        moving += 1
        if not ((moving + 1) <= result and moving < hi - 1):
            break
    return java_round_int(result)


def _default(h: np.ndarray) -> int:
    data = h.copy()
    mode = int(np.argmax(data))  # first maximum (strict >)
    max_count = data[mode]
    others = np.delete(data, mode)
    max_count2 = float(others.max()) if others.size else 0.0
    if max_count > max_count2 * 2 and max_count2 != 0:
        data[mode] = float(java_int(max_count2 * 1.5))
    return _ij_isodata(data)


def _li(h: np.ndarray) -> int:
    n = h.size
    idx = np.arange(n, dtype=np.float64)
    num_pixels = _seq_sum(h)
    mean = _seq_sum(idx[1:] * h[1:]) / num_pixels
    csum = np.cumsum(idx * h)
    ccnt = np.cumsum(h)
    tot_sum, tot_cnt = csum[-1], ccnt[-1]
    new_thresh = float(mean)
    for _ in range(100000):
        old_thresh = new_thresh
        threshold = java_int(old_thresh + 0.5)
        t = min(max(threshold, -1), n - 1)
        sum_back = csum[t] if t >= 0 else 0.0
        num_back = ccnt[t] if t >= 0 else 0.0
        mean_back = 0.0 if num_back == 0 else sum_back / num_back
        sum_obj = tot_sum - sum_back
        num_obj = tot_cnt - num_back
        mean_obj = 0.0 if num_obj == 0 else sum_obj / num_obj
        with np.errstate(divide="ignore", invalid="ignore"):
            temp = float((mean_back - mean_obj) / (np.log(mean_back) - np.log(mean_obj)))
        if temp < -_DBL_EPSILON:
            new_thresh = float(java_int(temp - 0.5))
        else:
            new_thresh = float(java_int(temp + 0.5))
        if not abs(new_thresh - old_thresh) > 0.5:
            return threshold
    return threshold  # pragma: no cover - ImageJ would loop forever here


def _entropy_terms(norm: np.ndarray, p: np.ndarray, has_data: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = norm[None, :] / p[:, None]
        val = ratio * np.log(ratio)
    return np.where(has_data[None, :], val, 0.0)


def _max_entropy_levels(
    h: np.ndarray, norm: np.ndarray, p1: np.ndarray, p2: np.ndarray, first: int, last: int
) -> np.ndarray:
    """Kapur's total entropy for each level in ``first..last`` (ImageJ's summation order)."""
    n = h.size
    cols = np.arange(n)
    has = h != 0

    def back(its: np.ndarray) -> np.ndarray:
        terms = _entropy_terms(norm, p1[its], has)
        return np.where(cols[None, :] <= its[:, None], terms, 0.0)

    def obj(its: np.ndarray) -> np.ndarray:
        terms = _entropy_terms(norm, p2[its], has)
        return np.where(cols[None, :] > its[:, None], terms, 0.0)

    its = np.arange(first, last + 1)
    return -_row_sums(its, n, back) + -_row_sums(its, n, obj)


def _max_entropy(h: np.ndarray) -> int:
    norm, p1, p2 = _normalised(h)
    first, last = _entropy_span(p1, p2)
    tot = _max_entropy_levels(h, norm, p1, p2, first, last)
    best = _first_argmax(tot, _DBL_MIN_VALUE)
    return first + best if best >= 0 else -1


def _mean(h: np.ndarray) -> int:
    idx = np.arange(h.size, dtype=np.float64)
    return java_int(float(np.floor(_seq_sum(idx * h) / _seq_sum(h))))


def _min_error(h: np.ndarray) -> int:
    n = h.size
    counts = h.astype(np.int64)
    idx = np.arange(n, dtype=np.int64)
    # A, B, C of ImageJ: B and C add Java-int products (which can overflow) into doubles.
    a_cum = np.cumsum(h)
    b_cum = np.cumsum(wrap_int32(idx * counts).astype(np.float64))
    c_cum = np.cumsum(wrap_int32(wrap_int32(idx * idx) * counts).astype(np.float64))

    def at(cum: np.ndarray, j: int) -> float:
        if j < 0:
            return 0.0
        return float(cum[min(j, n - 1)])

    threshold = _mean(h)
    t_prev = -2
    a_all, b_all, c_all = at(a_cum, n - 1), at(b_cum, n - 1), at(c_cum, n - 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(100000):
            if threshold == t_prev:
                break
            a_t, b_t, c_t = at(a_cum, threshold), at(b_cum, threshold), at(c_cum, threshold)
            mu = np.float64(b_t) / a_t
            nu = np.float64(b_all - b_t) / (a_all - a_t)
            p = np.float64(a_t) / a_all
            q = np.float64(a_all - a_t) / a_all
            sigma2 = np.float64(c_t) / a_t - (mu * mu)
            tau2 = np.float64(c_all - c_t) / (a_all - a_t) - (nu * nu)
            w0 = 1.0 / sigma2 - 1.0 / tau2
            w1 = mu / sigma2 - nu / tau2
            w2 = (
                (mu * mu) / sigma2
                - (nu * nu) / tau2
                + np.log10((sigma2 * (q * q)) / (tau2 * (p * p)))
            )
            sqterm = (w1 * w1) - w0 * w2
            if sqterm < 0:
                return threshold
            t_prev = threshold
            temp = (w1 + np.sqrt(sqterm)) / w0
            threshold = t_prev if np.isnan(temp) else java_int(float(np.floor(temp)))
    return threshold


def _minimum(h: np.ndarray) -> int:
    n = h.size
    hist = h.astype(np.float64)
    iterations = 0
    while not _bimodal(hist):
        smoothed = np.empty_like(hist)
        smoothed[1:-1] = (hist[:-2] + hist[1:-1] + hist[2:]) / 3
        smoothed[0] = (hist[0] + hist[1]) / 3
        smoothed[n - 1] = (hist[n - 2] + hist[n - 1]) / 3
        hist = smoothed
        iterations += 1
        if iterations > 10000:
            return -1
    valley = (hist[:-2] > hist[1:-1]) & (hist[2:] >= hist[1:-1])
    found = np.flatnonzero(valley)
    return int(found[0]) + 1 if found.size else -1


def _moments(h: np.ndarray) -> int:
    n = h.size
    total = _seq_sum(h)
    histo = h / total
    di = np.arange(n, dtype=np.float64)
    m0 = 1.0
    m1 = _seq_sum(di * histo)
    m2 = _seq_sum(di * di * histo)
    m3 = _seq_sum(di * di * di * histo)
    cd = m0 * m2 - m1 * m1
    with np.errstate(divide="ignore", invalid="ignore"):
        c0 = (-m2 * m2 + m1 * m3) / cd
        c1 = (m0 * -m3 + m2 * m1) / cd
        root = np.sqrt(c1 * c1 - 4.0 * c0)
        z0 = 0.5 * (-c1 - root)
        z1 = 0.5 * (-c1 + root)
        p0 = (z1 - m1) / (z1 - z0)
    above = np.flatnonzero(np.cumsum(histo) > p0)
    return int(above[0]) if above.size else -1


def _otsu(h: np.ndarray) -> int:
    n = h.size
    if n < 3:
        return 0
    k = np.arange(n, dtype=np.float64)
    s_total = _seq_sum(k * h)
    n_total = _seq_sum(h)
    sk = np.cumsum(k * h)[1 : n - 1]
    n1 = np.cumsum(h)[1 : n - 1]
    denom = n1 * (n_total - n1)
    with np.errstate(divide="ignore", invalid="ignore"):
        num = (n1 / n_total) * s_total - sk
        bcv = np.where(denom != 0, (num * num) / denom, 0.0)
    # ``if (BCV >= BCVmax)`` from BCVmax = 0: the last level reaching the maximum.
    best = bcv.max()
    if not best >= 0:
        return 0
    return int(np.flatnonzero(bcv == best)[-1]) + 1


def _percentile(h: np.ndarray) -> int:
    total = _seq_sum(h)
    avec = np.abs(np.cumsum(h) / total - 0.5)
    return _first_argmin(avec, 1.0)


def _renyi_entropy(h: np.ndarray) -> int:
    norm, p1, p2 = _normalised(h)
    first, last = _entropy_span(p1, p2)
    its = np.arange(first, last + 1)

    tot = _max_entropy_levels(h, norm, p1, p2, first, last)
    best = _first_argmax(tot, 0.0)
    t_star2 = first + best if best >= 0 else 0

    # alpha = 0.5 sums sqrt(p / P); alpha = 2 sums (p * p) / (P * P), as ImageJ writes them.
    t_star1 = _renyi_level(norm, p1, p2, its, lambda p, q: np.sqrt(p / q), 1.0 / (1.0 - 0.5))
    t_star3 = _renyi_level(norm, p1, p2, its, lambda p, q: (p * p) / (q * q), 1.0 / (1.0 - 2.0))

    t1, t2, t3 = t_star1, t_star2, t_star3
    if t2 < t1:
        t1, t2 = t2, t1
    if t3 < t2:
        t2, t3 = t3, t2
    if t2 < t1:
        t1, t2 = t2, t1
    if abs(t1 - t2) <= 5:
        beta = (1, 2, 1) if abs(t2 - t3) <= 5 else (0, 1, 3)
    else:
        beta = (3, 1, 0) if abs(t2 - t3) <= 5 else (1, 2, 1)
    omega = p1[t3] - p1[t1]
    value = (
        t1 * (p1[t1] + 0.25 * omega * beta[0])
        + 0.25 * t2 * omega * beta[1]
        + t3 * (p2[t3] + 0.25 * omega * beta[2])
    )
    return java_int(float(value))


def _renyi_level(
    norm: np.ndarray,
    p1: np.ndarray,
    p2: np.ndarray,
    its: np.ndarray,
    summand: Callable[[np.ndarray, np.ndarray], np.ndarray],
    term: float,
) -> int:
    """The level maximising Renyi's entropy of order alpha (``term = 1 / (1 - alpha)``)."""
    n = norm.size
    cols = np.arange(n)

    def back(rows: np.ndarray) -> np.ndarray:
        val = summand(norm[None, :], p1[rows][:, None])
        return np.where(cols[None, :] <= rows[:, None], val, 0.0)

    def obj(rows: np.ndarray) -> np.ndarray:
        val = summand(norm[None, :], p2[rows][:, None])
        return np.where(cols[None, :] > rows[:, None], val, 0.0)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        prod = _row_sums(its, n, back) * _row_sums(its, n, obj)
        tot = term * np.where(prod > 0.0, np.log(np.where(prod > 0.0, prod, 1.0)), 0.0)
    best = _first_argmax(tot, 0.0)
    return int(its[0]) + best if best >= 0 else 0


def _shanbhag(h: np.ndarray) -> int:
    n = h.size
    norm, p1, p2 = _normalised(h)
    first, last = _entropy_span(p1, p2)
    its = np.arange(first, last + 1)
    cols = np.arange(n)
    p1_prev = np.concatenate(([0.0], p1[:-1]))

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        term_b = 0.5 / p1[its]
        term_o = 0.5 / p2[its]

        def back(rows: np.ndarray) -> np.ndarray:
            tb = 0.5 / p1[rows]
            val = norm[None, :] * np.log(1.0 - tb[:, None] * p1_prev[None, :])
            keep = (cols[None, :] >= 1) & (cols[None, :] <= rows[:, None])
            return np.where(keep, val, 0.0)

        def obj(rows: np.ndarray) -> np.ndarray:
            to = 0.5 / p2[rows]
            val = norm[None, :] * np.log(1.0 - to[:, None] * p2[None, :])
            return np.where(cols[None, :] > rows[:, None], val, 0.0)

        ent_back = -_row_sums(its, n, back) * term_b
        ent_obj = -_row_sums(its, n, obj) * term_o
        tot = np.abs(ent_back - ent_obj)
    best = _first_argmin(tot, _DBL_MAX_VALUE)
    return first + best if best >= 0 else -1


def _triangle(h: np.ndarray) -> int:
    n = h.size
    top = n - 1
    nz = np.flatnonzero(h)
    lo = int(nz[0]) if nz.size else 0
    if lo > 0:
        lo -= 1
    nz_hi = nz[nz > 0]
    lo2 = int(nz_hi[-1]) if nz_hi.size else 0
    if lo2 < top:
        lo2 += 1
    peak = int(np.argmax(h)) if h.max() > 0 else 0
    data = h
    inverted = False
    if (peak - lo) < (lo2 - peak):
        inverted = True
        data = h[::-1]
        lo = top - lo2
        peak = top - peak
    if lo == peak:
        return lo
    nx = float(data[peak])
    ny = float(lo - peak)
    d = float(np.sqrt(nx * nx + ny * ny))
    nx /= d
    ny /= d
    d = nx * lo + ny * float(data[lo])
    i = np.arange(lo + 1, peak + 1)
    dist = nx * i + ny * data[lo + 1 : peak + 1] - d
    best = _first_argmax(dist, 0.0)
    split = int(i[best]) if best >= 0 else lo
    split -= 1
    return top - split if inverted else split


def _yen(h: np.ndarray) -> int:
    n = h.size
    norm, p1, _ = _normalised(h)
    sq = norm * norm
    p1_sq = np.cumsum(sq)
    p2_sq = np.zeros(n)
    if n > 1:
        p2_sq[: n - 1] = np.cumsum(sq[:0:-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = p1_sq * p2_sq
        b = p1 * (1.0 - p1)
        la = np.where(a > 0.0, np.log(np.where(a > 0.0, a, 1.0)), 0.0)
        lb = np.where(b > 0.0, np.log(np.where(b > 0.0, b, 1.0)), 0.0)
        crit = -1.0 * la + 2 * lb
    return _first_argmax(crit, _DBL_MIN_VALUE)


def _fiji_default(h: np.ndarray) -> int:
    """Fiji's ``IJDefault``: IsoData without ImageJ's mode clipping or end-bin removal."""
    counts = h.astype(np.int64)
    products = wrap_int32(np.arange(h.size, dtype=np.int64) * counts)  # Java int products
    return _intermeans(h, products.astype(np.float64))


def _fiji_otsu(h: np.ndarray) -> int:
    """Fiji's Otsu (Celebi's code): the first level of maximum between-class variance."""
    n = h.size
    num_pixels = int(wrap_int32(np.array([int(h.sum())]))[0])
    term = np.float64(1.0) / num_pixels
    histo = term * h
    cnh = np.cumsum(histo)
    mean = np.concatenate(([0.0], np.cumsum((np.arange(n, dtype=np.float64) * histo)[1:])))
    total_mean = mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        bcv = total_mean * cnh - mean
        bcv = bcv * (bcv / (cnh * (1.0 - cnh)))
    best = _first_argmax(bcv, 0.0)
    return best if best >= 0 else -(2**31)


def _fiji_mean(h: np.ndarray) -> int:
    """Fiji's Mean: the floor of the mean level in 64-bit integers."""
    counts = h.astype(np.int64)
    return int(np.sum(np.arange(h.size, dtype=np.int64) * counts) // np.sum(counts))


#: Fiji's Auto Threshold plugin has its own copies of these methods.
_FIJI_OVERRIDES: dict[str, Callable[[np.ndarray], int]] = {
    "Default": _fiji_default,
    "Mean": _fiji_mean,
    "Otsu": _fiji_otsu,
}


#: ImageJ 1.x's ``AutoThresholder.Method`` names, in its order.
IMAGEJ_METHODS: tuple[str, ...] = (
    "Default",
    "Huang",
    "Intermodes",
    "IsoData",
    "IJ_IsoData",
    "Li",
    "MaxEntropy",
    "Mean",
    "MinError",
    "Minimum",
    "Moments",
    "Otsu",
    "Percentile",
    "RenyiEntropy",
    "Shanbhag",
    "Triangle",
    "Yen",
)

METHODS: dict[str, Callable[[np.ndarray], int]] = {
    "Default": _default,
    "Huang": _huang,
    "Huang2": _huang2,
    "Intermodes": _intermodes,
    "IsoData": _isodata,
    "IJ_IsoData": _ij_isodata,
    "Li": _li,
    "MaxEntropy": _max_entropy,
    "Mean": _mean,
    "MinError": _min_error,
    "Minimum": _minimum,
    "Moments": _moments,
    "Otsu": _otsu,
    "Percentile": _percentile,
    "RenyiEntropy": _renyi_entropy,
    "Shanbhag": _shanbhag,
    "Triangle": _triangle,
    "Yen": _yen,
}


def compute_level(counts: np.ndarray, method: str) -> int:
    """``AutoThresholder.getThreshold(method, counts)`` for a validated histogram."""
    level = METHODS[method](np.asarray(counts, dtype=np.float64))
    return 0 if level == -1 else level


def compute_fiji_level(counts: np.ndarray, method: str) -> int:
    """Fiji Auto Threshold's level for a cropped full histogram (-1 when a method fails)."""
    return _FIJI_OVERRIDES.get(method, METHODS[method])(np.asarray(counts, dtype=np.float64))
