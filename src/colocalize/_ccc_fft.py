"""FFT cross-correlations and contribution images for CCC, in float32 with the fewest lags needed.

CCC 2.2.3 (imglib2 ``FFTConvolution`` with ``complexConjugate``) returns an image of the input's
size ``N`` whose pixel ``x`` holds the linear, zero-padded correlation at shift ``s = x - N // 2``:
``out[x] = sum_m a[m + s] * b[m]``. A circular correlation of length ``P`` holds shift ``s`` at
index ``s mod P`` without aliasing as long as ``P >= N + max(-s_min, s_max)``, so the padded size is
about ``1.5 N`` for the plugin's full range of shifts and ``N + lag`` with a distance cut-off,
instead of the ``2N - 1`` of a full correlation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["box_correlation", "contribution_images", "correlate_window", "padded_shape", "spectrum"]


def padded_shape(shape: Sequence[int], lags: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Fast real-FFT sizes that hold the shifts ``lags[i] = (s_min, s_max)`` without wrap-around."""
    import scipy.fft  # here, not at import: it costs ~0.2 s of every `import colocalize`

    return tuple(
        scipy.fft.next_fast_len(n + max(-lo, hi, 0), real=True) for n, (lo, hi) in zip(shape, lags)
    )


def _take_lags(full: np.ndarray, lags: Sequence[tuple[int, int]]) -> np.ndarray:
    """The window of shifts ``s_min .. s_max`` per axis from a circular correlation (a copy)."""
    index = [np.arange(lo, hi + 1) % p for (lo, hi), p in zip(lags, full.shape)]
    return full[np.ix_(*index)]


def spectrum(image: np.ndarray, shape: Sequence[int], workers: int) -> np.ndarray:
    """Real FFT (complex64 for float32 input) of ``image`` zero-padded to ``shape``."""
    import scipy.fft

    return scipy.fft.rfftn(image, s=tuple(shape), workers=workers)


def correlate_window(
    spec_a: np.ndarray,
    conj_spec_b: np.ndarray,
    shape: Sequence[int],
    lags: Sequence[tuple[int, int]],
    workers: int,
) -> np.ndarray:
    """Window of ``sum_m a[m + s] b[m]`` from ``FFT(a)`` and ``conj(FFT(b))``.

    Overwrites ``spec_a``.
    """
    import scipy.fft

    spec_a *= conj_spec_b
    full = scipy.fft.irfftn(spec_a, s=tuple(shape), workers=workers, overwrite_x=True)
    return _take_lags(full, lags)


def box_correlation(image: np.ndarray, lags: Sequence[tuple[int, int]]) -> np.ndarray:
    """``sum_m 1[0 <= m + s < N] * image[m]`` for the shifts in ``lags``: the correlation of an
    all-ones mask with ``image``, as box sums from cumulative sums, one axis at a time (float64,
    no FFT)."""
    out = np.asarray(image, dtype=np.float64)
    for axis, ((lo, hi), n) in enumerate(zip(lags, image.shape)):
        shape = list(out.shape)
        shape[axis] = n + 1
        table = np.zeros(shape)
        inner = [slice(None)] * out.ndim
        inner[axis] = slice(1, None)
        _cumsum(out, axis, table[tuple(inner)])
        # for shift s the summed range of m is [max(0, -s), min(n, n - s))
        s = np.arange(lo, hi + 1)
        out = np.take(table, np.clip(n - s, 0, n), axis=axis)
        out -= np.take(table, np.clip(-s, 0, n), axis=axis)
        del table
    return out


def _cumsum(values: np.ndarray, axis: int, out: np.ndarray) -> None:
    """``np.cumsum(values, axis, out=out)``; plane by plane except on the last axis, because
    numpy's cumsum along an outer axis is several times slower than adding whole planes."""
    if axis == values.ndim - 1:
        np.cumsum(values, axis=axis, out=out)
        return
    src = np.moveaxis(values, axis, 0)
    dst = np.moveaxis(out, axis, 0)
    dst[0] = src[0]
    for i in range(1, src.shape[0]):
        np.add(dst[i - 1], src[i], out=dst[i])


def contribution_images(
    image0: np.ndarray,
    image1: np.ndarray,
    kernel: np.ndarray,
    lags: Sequence[tuple[int, int]],
    workers: int,
) -> tuple[np.ndarray, np.ndarray]:
    """CCC's contribution images from the Gaussian-weighted correlation ``kernel``.

    ``kernel[k]`` is the weight of shift ``s = lags_min + k``. With mirror-extended images
    (``np.pad(..., mode="reflect")``, imglib2's ``extendMirrorSingle``)::

        C0(x) = image0(x) * sum_s G(s) image1(x - s)    (a convolution)
        C1(x) = image1(x) * sum_s G(s) image0(x + s)    (a correlation)
    """
    import scipy.fft

    shape = image0.shape
    before0 = [(hi, -lo) for lo, hi in lags]  # image1(x - s) needs s_max before, -s_min after
    before1 = [(-lo, hi) for lo, hi in lags]
    fft_shape = tuple(
        scipy.fft.next_fast_len(n + k - 1, real=True) for n, k in zip(shape, kernel.shape)
    )
    kspec = spectrum(kernel.astype(np.float32, copy=False), fft_shape, workers)
    ext = np.pad(image1, [(max(a, 0), max(b, 0)) for a, b in before0], mode="reflect")
    spec = spectrum(ext, fft_shape, workers)
    del ext
    spec *= kspec
    full = scipy.fft.irfftn(spec, s=fft_shape, workers=workers, overwrite_x=True)
    del spec
    start = [k - 1 for k in kernel.shape]
    conv = full[tuple(slice(s0, s0 + n) for s0, n in zip(start, shape))]
    c0 = (image0 * conv).astype(np.float32)
    del full, conv
    ext = np.pad(image0, [(max(a, 0), max(b, 0)) for a, b in before1], mode="reflect")
    spec = spectrum(ext, fft_shape, workers)
    del ext
    np.conjugate(kspec, out=kspec)
    spec *= kspec
    del kspec
    full = scipy.fft.irfftn(spec, s=fft_shape, workers=workers, overwrite_x=True)
    del spec
    c1 = (image1 * full[tuple(slice(0, n) for n in shape)]).astype(np.float32)
    return c0, c1
