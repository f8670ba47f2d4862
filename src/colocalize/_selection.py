"""Which pixels a measure uses: inside the mask, not zero in every channel, below saturation.

The one place that turns the ``mask``, ``exclude_zero_zero`` and ``saturated`` options into
selected pixels, for the coefficients and their tables, the bivariate histogram, the coefficient
report and the threshold model's features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from colocalize._validation import as_mask, is_real

#: The ``saturated`` option: None or False (keep every pixel), True (the dtype maximum), one
#: level for every image or one level per image, in the images' units.
Saturated = None | bool | float | Sequence[float]


def saturation_levels(saturated: Saturated, images: Sequence[np.ndarray]) -> list[float] | None:
    """Per-image saturation levels from the ``saturated`` option (None: keep every pixel)."""
    if saturated is None or saturated is False:
        return None
    if saturated is True:
        levels = []
        for idx, img in enumerate(images):
            if img.dtype.kind not in "iu":
                raise ValueError(
                    f"saturated=True means the dtype maximum, but image {idx} is {img.dtype}; "
                    f"pass the saturation value instead, e.g. saturated=1.0"
                )
            levels.append(float(np.iinfo(img.dtype).max))
        return levels
    fix = "pass True (the dtype maximum), a level in the images' units, or one level per image"
    if isinstance(saturated, (int, float, np.number)):
        return [float(saturated)] * len(images)
    if isinstance(saturated, (str, bytes)) or not isinstance(saturated, (Sequence, np.ndarray)):
        raise ValueError(f"saturated={saturated!r} is not valid: {fix}")
    if not all(is_real(s) for s in saturated):
        raise ValueError(f"saturated={saturated!r} has a value that is not a number: {fix}")
    values = [float(s) for s in saturated]
    if len(values) != len(images):
        raise ValueError(
            f"saturated has {len(values)} values for {len(images)} channels; pass one value, "
            f"one per channel, or True for the dtype maximum"
        )
    return values


def select_pixels(
    images: Sequence[np.ndarray],
    *,
    mask: np.ndarray | None,
    exclude_zero_zero: bool,
    saturated: Saturated,
) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """The selection (None: every pixel) and each image's selected pixels as a flat array.

    Pixels are dropped when outside the mask, zero in every image (``exclude_zero_zero``), or at
    or above an image's saturation level.
    """
    shape = images[0].shape
    selection = None if mask is None else as_mask(mask, shape)
    if exclude_zero_zero:
        responders = np.zeros(shape, dtype=bool)
        for img in images:
            responders |= img != 0
        selection = responders if selection is None else selection & responders
    levels = saturation_levels(saturated, images)
    if levels is not None:
        for img, level in zip(images, levels):
            unsaturated = img < level
            selection = unsaturated if selection is None else selection & unsaturated
    if selection is None:
        return None, [img.reshape(-1) for img in images]
    return selection, [img[selection] for img in images]
