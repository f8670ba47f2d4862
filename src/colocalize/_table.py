"""Coefficient tables: every channel pair (and triple) of a multichannel image, per object."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from colocalize._channels import as_channels, as_labels
from colocalize._coefficients import (
    Coefficients,
    Thresholds,
    TripleCoefficients,
    _CoefficientEngine,
    check_costes_method,
    check_images,
    comparison_of,
    is_costes,
    pair_costes,
    resolve_measures,
    resolve_thresholds,
    with_convergence,
)
from colocalize._selection import Saturated, select_pixels
from colocalize._validation import channel_index, warn_degenerate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TableRows", "coefficient_table", "table_rows"]

Pairs = Literal["all"] | Sequence[tuple[int | str, int | str]]

PAIR_FIELDS = tuple(f.name for f in dataclasses.fields(Coefficients))
TRIPLE_FIELDS = tuple(f"triple_{f.name}" for f in dataclasses.fields(TripleCoefficients))


def _split_channels(
    image: Any,
    channel_axis: int | None,
    channel_names: Sequence[str] | None,
    channels: Sequence[int | str] | None,
) -> tuple[list[np.ndarray], list[str]]:
    """Split ``image`` (an array or a colocalize.Image) into the used channels and names."""
    ch = as_channels(
        image,
        channel_axis=channel_axis,
        channel_names=channel_names,
        channels=channels,
        require="C",
        min_channels=2,
    )
    return list(ch.data), list(ch.names)


def coefficient_table(
    image: Any,
    *,
    channel_axis: int | None = None,
    channels: Sequence[int | str] | None = None,
    mask: Any = None,
    labels: Any = None,
    pairs: Pairs = "all",
    triples: bool = False,
    thresholds: Thresholds = None,
    channel_names: Sequence[str] | None = None,
    exclude_zero_zero: bool = False,
    saturated: Saturated = None,
    rank_coefficients: bool = True,
    time_axis: int | None = None,
    measures: str | Sequence[str] | None = None,
    costes_method: str = "bisection",
    threshold_comparison: str = "peers",
) -> pd.DataFrame:
    """Coefficients of every channel pair (and triple) of a multichannel image, as a table.

    Parameters
    ----------
    image : array_like or colocalize.Image
        A multichannel image, e.g. shape (C, M, N[, P]). For an :class:`colocalize.Image` the
        channel axis and names come from its metadata.
    channel_axis : int, optional
        The channel axis (required for arrays).
    channels : sequence of int or str, optional
        The channels to use, by index (from 0, negative from the end) or name, in this order
        (default: every channel); ``pairs`` and the triples are taken among them.
    mask : array_like of bool, optional
        Pixels to use, shape of one channel (or of its last axes, applied to every plane).
    labels : array_like of int, optional
        A label image (shape of one channel, 0 = background): one row per object and pair.
        Whole-number floats (a label image saved as 32-bit by ImageJ) are accepted, fractions
        raise a TypeError, negative labels a ValueError; a label image with no object (all 0)
        gives an empty table and a ColocalizeWarning.
    pairs : "all" or sequence of (channel, channel), optional
        Channel pairs by name, or by index among the used ``channels`` (default: all pairs
        i < j).
    triples : bool, optional
        Also add a row for every channel triple, with the ``triple_*`` columns filled.
    thresholds : None, sequence of float, "costes", "top<x>%" or str, optional
        One threshold per channel in the image's units; ``"costes"`` (computed per pair and
        object); ``"top<x>%"`` or an auto-threshold method name (computed per channel over the
        whole mask, not per object). docs/coefficients.md has the pixels each field counts.
    channel_names : sequence of str, optional
        Names for the channels (default: the image's names, else "C0", "C1", ...).
    exclude_zero_zero : bool, optional
        Drop the seed paper's non-responder pixels: zero in every channel of the image.
    saturated, rank_coefficients, measures, costes_method, threshold_comparison
        As in :func:`colocalize.coefficients` (the ``costes_converged`` column says whether
        each pair's Costes search converged): the columns of measures not asked for are NaN,
        and ``table.attrs["measures"]`` lists the groups computed.
    time_axis : int, optional
        The time axis of ``image`` (counted like ``channel_axis``): one set of rows per frame,
        with a ``frame`` column. A mask or label image with a time axis (a channel's full shape)
        is split the same way; one without is used for every frame. By default all frames are
        pooled.

    Returns
    -------
    pandas.DataFrame
        One row per (frame,) (object,) pair or triple with columns ``frame`` (with
        ``time_axis``), ``label`` (with labels),
        ``channel0``, ``channel1``, ``channel2`` (names; empty for pairs), every
        :class:`Coefficients` field, and the ``triple_*`` fields of
        :class:`TripleCoefficients` (NaN on pair rows).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.integers(0, 255, size=(3, 32, 32), dtype=np.uint8)
    >>> table = coefficient_table(img, channel_axis=0, channel_names=["a", "b", "c"])
    >>> table[["channel0", "channel1"]].values.tolist()
    [['a', 'b'], ['a', 'c'], ['b', 'c']]
    """
    if time_axis is not None:
        resolve_measures(measures, rank_coefficients=rank_coefficients)
        check_costes_method(costes_method)
        comparison_of(thresholds, costes_method, threshold_comparison)
        return _per_frame(
            image,
            time_axis=time_axis,
            channel_axis=channel_axis,
            channels=channels,
            channel_names=channel_names,
            mask=mask,
            labels=labels,
            options={
                "pairs": pairs,
                "triples": triples,
                "thresholds": thresholds,
                "exclude_zero_zero": exclude_zero_zero,
                "saturated": saturated,
                "rank_coefficients": rank_coefficients,
                "measures": measures,
                "costes_method": costes_method,
                "threshold_comparison": threshold_comparison,
            },
        )
    return table_rows(
        image,
        channel_axis=channel_axis,
        channels=channels,
        mask=mask,
        labels=labels,
        pairs=pairs,
        triples=triples,
        thresholds=thresholds,
        channel_names=channel_names,
        exclude_zero_zero=exclude_zero_zero,
        saturated=saturated,
        rank_coefficients=rank_coefficients,
        measures=measures,
        costes_method=costes_method,
        threshold_comparison=threshold_comparison,
    ).frame()


@dataclasses.dataclass(frozen=True)
class TableRows:
    """The rows of a coefficient table as plain Python values, before any pandas.

    ``columns`` are the table's columns in order; each row holds the channel names and the
    fields of its kind (pair or triple; the other kind's columns are absent: NaN, or NA for the
    ``n_pixels`` columns, in the table); ``measures`` the groups computed. The command line
    prints these without importing pandas (see ``colocalize._cli._coefficients``).
    """

    columns: list[str]
    rows: list[dict[str, Any]]
    measures: list[str]

    def frame(self) -> pd.DataFrame:
        """The rows as the DataFrame :func:`coefficient_table` returns."""
        import pandas as pd

        table = pd.DataFrame(self.rows, columns=self.columns)
        for col in ("n_pixels", "triple_n_pixels"):
            table[col] = table[col].astype("Int64")
        table.attrs["measures"] = list(self.measures)
        return table


def table_rows(
    image: Any,
    *,
    channel_axis: int | None = None,
    channels: Sequence[int | str] | None = None,
    mask: Any = None,
    labels: Any = None,
    pairs: Pairs = "all",
    triples: bool = False,
    thresholds: Thresholds = None,
    channel_names: Sequence[str] | None = None,
    exclude_zero_zero: bool = False,
    saturated: Saturated = None,
    rank_coefficients: bool = True,
    measures: str | Sequence[str] | None = None,
    costes_method: str = "bisection",
    threshold_comparison: str = "peers",
) -> TableRows:
    """:func:`coefficient_table` (without ``time_axis``) as :class:`TableRows`: the same
    checks and values, no pandas."""
    wanted = resolve_measures(measures, rank_coefficients=rank_coefficients)
    check_costes_method(costes_method)
    comparison = comparison_of(thresholds, costes_method, threshold_comparison)
    used, names = _split_channels(image, channel_axis, channel_names, channels)
    arrays = check_images(used, names)
    shape = arrays[0].shape
    if isinstance(pairs, str) and pairs == "all":
        pair_list = list(itertools.combinations(range(len(arrays)), 2))
    else:
        pair_list = [
            (
                channel_index(a, len(names), names, name="pairs"),
                channel_index(b, len(names), names, name="pairs"),
            )
            for a, b in _pair_keys(pairs)
        ]
    triple_list = list(itertools.combinations(range(len(arrays)), 3)) if triples else []

    selection, flats = select_pixels(
        arrays, mask=mask, exclude_zero_zero=exclude_zero_zero, saturated=saturated
    )
    costes = is_costes(thresholds)
    per_channel = None if costes else resolve_thresholds(thresholds, arrays, selection, flats)

    rows: list[dict[str, Any]] = []
    for label, group in _groups(labels, shape, selection, flats):
        engine = _CoefficientEngine(group, names)
        for i, j in pair_list:
            pair_t: tuple[float, float] | None = None
            found = None
            if costes and group[i].size:
                found = pair_costes(group[i], group[j], None, costes_method)
                pair_t = (found.threshold0, found.threshold1)
            elif costes:  # no pixel selected: the pair's row is NaN (warned by the engine)
                pair_t = (math.nan, math.nan)
            elif per_channel is not None:
                pair_t = (per_channel[i], per_channel[j])
            result = engine.pair(i, j, pair_t, measures=wanted, comparison=comparison)
            result = with_convergence(result, found)
            rows.append(_row(label, (names[i], names[j], ""), dataclasses.asdict(result)))
        for i, j, k in triple_list:
            triple_t = None
            if per_channel is not None:
                triple_t = (per_channel[i], per_channel[j], per_channel[k])
            triple = engine.triple(i, j, k, triple_t, comparison=comparison)
            values = {f"triple_{key}": v for key, v in dataclasses.asdict(triple).items()}
            rows.append(_row(label, (names[i], names[j], names[k]), values))
    columns = ["channel0", "channel1", "channel2", *PAIR_FIELDS, *TRIPLE_FIELDS]
    if labels is not None:
        columns.insert(0, "label")
    return TableRows(columns, rows, list(wanted))


def _pair_keys(pairs: Any) -> list[tuple[Any, Any]]:
    """The ``pairs`` option as (channel, channel) keys, or a ValueError naming the fix."""
    fix = "pass 'all' or a list of (channel, channel) pairs by index or name, e.g. [(0, 1)]"
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (Sequence, np.ndarray)):
        raise ValueError(f"pairs={pairs!r} is not valid: {fix}")
    keys = []
    for pair in pairs:
        sequence = isinstance(pair, (Sequence, np.ndarray)) and not isinstance(pair, (str, bytes))
        if not sequence or len(pair) != 2:
            raise ValueError(f"pairs={pairs!r} has the item {pair!r}, not a pair: {fix}")
        keys.append((pair[0], pair[1]))
    return keys


def _per_frame(
    image: Any,
    *,
    time_axis: int,
    channel_axis: int | None,
    channels: Sequence[int | str] | None,
    channel_names: Sequence[str] | None,
    mask: Any,
    labels: Any,
    options: dict[str, Any],
) -> pd.DataFrame:
    """coefficient_table for each frame along ``time_axis``, with a ``frame`` column."""
    import pandas as pd

    ch = as_channels(
        image,
        channel_axis=channel_axis,
        time_axis=time_axis,
        channel_names=channel_names,
        channels=channels,
        require="C",
        min_channels=2,
    )
    data, names = ch.data, list(ch.names)  # (C, ...) with the time axis somewhere in "..."
    assert ch.time_axis is not None  # time_axis was given
    t_in_channel = ch.time_axis
    full_ndim = data.ndim
    n_frames = data.shape[1 + t_in_channel]

    def frame_of(extra: Any, t: int) -> Any:
        if extra is None:
            return None
        arr = np.asarray(extra)
        return np.take(arr, t, axis=t_in_channel) if arr.ndim == full_ndim - 1 else arr

    tables = []
    for t in range(n_frames):
        frame = np.take(data, t, axis=1 + t_in_channel)
        table = coefficient_table(
            frame,
            channel_axis=0,
            channel_names=names,
            mask=frame_of(mask, t),
            labels=frame_of(labels, t),
            **options,
        )
        table.insert(0, "frame", t)
        tables.append(table)
    result = pd.concat(tables, ignore_index=True)
    result.attrs["measures"] = tables[0].attrs["measures"] if tables else []
    return result


def _row(label: int | None, channels: tuple[str, str, str], values: dict[str, Any]) -> dict:
    row: dict[str, Any] = dict(zip(("channel0", "channel1", "channel2"), channels))
    if label is not None:
        row["label"] = label
    return row | values


def _groups(
    labels: Any,
    shape: tuple[int, ...],
    selection: np.ndarray | None,
    flats: list[np.ndarray],
) -> list[tuple[int | None, list[np.ndarray]]]:
    """The selected pixels of each channel, whole or split by label (label > 0 only).

    Every object of the label image gets a group, even when none of its pixels is selected
    (its row is then NaN, with a warning).
    """
    if labels is None:
        return [(None, flats)]
    label_image = as_labels(labels, min_ndim=1)
    present = np.unique(label_image)  # before any broadcast
    objects = [int(v) for v in present if v > 0]
    if not objects:
        warn_degenerate(
            "labels has no object (every label is 0, the background): the table has no rows; "
            "pass a label image with positive object labels",
            stacklevel=4,
        )
    if label_image.shape != shape:
        trailing = shape[len(shape) - label_image.ndim :]
        if label_image.ndim >= len(shape) or label_image.shape != trailing:
            raise ValueError(
                f"labels has shape {label_image.shape} but each channel has shape {shape}; "
                f"pass a label image of one channel's shape"
            )
        label_image = np.broadcast_to(label_image, shape)
    selected = label_image[selection] if selection is not None else label_image.reshape(-1)
    order = np.argsort(selected, kind="stable")
    values, starts = np.unique(selected[order], return_index=True)
    ends = [*starts[1:], order.size]
    spans = {int(v): (s, e) for v, s, e in zip(values, starts, ends)}
    groups: list[tuple[int | None, list[np.ndarray]]] = []
    for value in objects:
        start, end = spans.get(value, (0, 0))
        index = order[start:end]
        groups.append((value, [flat[index] for flat in flats]))
    return groups
