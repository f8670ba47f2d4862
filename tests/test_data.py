"""Tests for colocalize.data, the sample-image loaders."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import tifffile

import colocalize
from colocalize import data
from conftest import skip_or_fail


@pytest.fixture(autouse=True)
def _sample_package() -> None:
    """The sample images' package; absent, the tests skip (fail in CI, where it is installed)."""
    if importlib.util.find_spec("ndev_sampledata") is None:
        skip_or_fail("ndev-sampledata not installed: pip install --no-deps ndev-sampledata==0.0.3")


def test_is_a_public_submodule():
    assert colocalize.data is data
    assert data.available() == ["neocortex_3ch", "neuron_4ch", "scratch_assay"]


def test_package_is_not_imported():
    sys.modules.pop("ndev_sampledata", None)
    data.neuron_4ch()
    assert "ndev_sampledata" not in sys.modules  # it would import bioio, which we do not need


def test_neuron_4ch():
    img = data.neuron_4ch()
    assert img.name == "neuron_4ch"
    assert img.axes == "CYX"
    assert img.shape == (4, 623, 502)
    assert img.data.dtype == np.uint16
    assert img.channel_names == ("NCOA4", "Ferritin", "Phalloidin", "DAPI")
    assert img.spacing == (1.0, 0.1241, 0.1241)
    assert img.unit == "um"
    # The same pixels as the file, read independently.
    raw = tifffile.imread(data.sample_path("neuron_4ch"))
    np.testing.assert_array_equal(img.data, raw)
    # Four distinct, non-constant channels.
    assert all(np.ptp(img.channel(i)) > 0 for i in range(4))
    assert len({img.channel(i).tobytes() for i in range(4)}) == 4


def test_neocortex_3ch():
    img = data.neocortex_3ch()
    assert img.axes == "CYX"
    assert img.shape == (3, 1112, 402)
    assert img.channel_names == ("CTIP2", "BRN2", "ROR")
    np.testing.assert_array_equal(img.data, tifffile.imread(data.sample_path("neocortex_3ch")))


def test_scratch_assay():
    img = data.scratch_assay()
    assert img.axes == "TCYX"
    assert img.shape == (10, 4, 210, 576)
    assert img.channel_names == ("H3342", "oblique", "nuclei", "cyto")
    assert img.spatial_spacing == (0.619, 0.619)
    assert img.unit == "um"
    raw = tifffile.imread(data.sample_path("scratch_assay"))  # stored C, T, Y, X
    np.testing.assert_array_equal(img.data, np.swapaxes(raw, 0, 1))
    nuclei = img.channel("nuclei")
    assert nuclei.shape == (10, 210, 576)
    assert nuclei.min() == 0
    assert len(np.unique(nuclei[0])) > 10  # a label image: many objects


def test_unknown_sample_name():
    with pytest.raises(ValueError, match=r"name='neuron' is not a sample image.*neuron_4ch"):
        data.sample_path("neuron")


def test_missing_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "ndev_sampledata" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps ndev-sampledata=="):
        data.neuron_4ch()
