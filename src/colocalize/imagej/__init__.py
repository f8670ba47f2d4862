"""The Fiji/ImageJ bridge: the only part of colocalize that touches Java.

Nothing here is imported by the core; importing this package does not start a JVM.

:func:`start` brings up ImageJ in this process (Fiji through PyImageJ, or ImageJ 1.x through
JPype) and registers colocalize's commands under Analyze > Colocalization; :func:`show` puts any
colocalize result into the running ImageJ.
"""

from __future__ import annotations

from colocalize.imagej._convert import (
    from_imageplus,
    from_results_table,
    get_table,
    mask_from_imageplus,
    roi_mask,
    show_table,
    to_imageplus,
    to_results_table,
)
from colocalize.imagej._start import Gateway, show, start

__all__ = [
    "Gateway",
    "from_imageplus",
    "from_results_table",
    "get_table",
    "mask_from_imageplus",
    "roi_mask",
    "show",
    "show_table",
    "start",
    "to_imageplus",
    "to_results_table",
]
