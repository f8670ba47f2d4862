"""The shim jar shipped in the package is built from plugin/ and matches the Python commands."""

from __future__ import annotations

import importlib.util
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from colocalize.imagej._catalog import commands
from colocalize.imagej._jvm import bridge_jar, find_ij_jar
from colocalize.imagej._registry import plugins_config_labels, shipped_labels

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "plugin"

# Menu labels of Fiji's Colocalisation_Analysis and of the CCC plugin: ours must differ.
PEER_LABELS = {
    "Coloc 2",
    "Colocalization Threshold",
    "Colocalization Test",
    "CCC",
    "CCC - No confidence",
    "Just Cross Correlation",
}


def _build_module():
    spec = importlib.util.spec_from_file_location("plugin_build", PLUGIN / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_jar_is_up_to_date_with_plugin_sources():
    build = _build_module()
    recorded = build.jar_source_hash(bridge_jar())
    assert recorded == build.source_hash(), (
        "src/colocalize/imagej/plugins/Colocalize_Bridge.jar is out of date with plugin/: "
        "run `python plugin/build.py`"
    )


def test_rebuilding_from_sources_gives_the_shipped_entries(tmp_path):
    if shutil.which("javac") is None or find_ij_jar() is None:
        message = "javac or ij.jar missing: apt-get install default-jdk-headless libij-java"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    build = _build_module()
    out = build.build(tmp_path / "Colocalize_Bridge.jar", ij_jar=find_ij_jar())
    with zipfile.ZipFile(out) as fresh, zipfile.ZipFile(bridge_jar()) as shipped:
        assert sorted(fresh.namelist()) == sorted(shipped.namelist())
        assert fresh.read("plugins.config") == shipped.read("plugins.config")
        # class files are Java 8 bytecode (major version 52), loadable by any ImageJ 1.x
        for name in fresh.namelist():
            if name.endswith(".class"):
                assert fresh.read(name)[6:8] == b"\x00\x34", name
    assert build.jar_source_hash(out) == build.jar_source_hash(bridge_jar())


def test_source_hash_changes_with_any_source(tmp_path, monkeypatch):
    build = _build_module()
    copy = tmp_path / "plugin"
    shutil.copytree(PLUGIN, copy, ignore=shutil.ignore_patterns("__pycache__", "build"))
    monkeypatch.setattr(build, "PLUGIN", copy)
    before = build.source_hash()
    config = copy / "plugins.config"
    config.write_text(config.read_text() + "# edited\n")
    assert build.source_hash() != before


def test_jar_name_and_config_follow_imagej_rules():
    # ImageJ only reads plugins.config from jars with an underscore in their name
    assert "_" in bridge_jar().name
    labels = shipped_labels()
    assert labels == plugins_config_labels((PLUGIN / "plugins.config").read_text())
    assert set(labels.values()).isdisjoint(PEER_LABELS)
    assert len(set(labels.values())) == len(labels)


def test_every_menu_entry_has_a_python_command_and_back():
    labels = shipped_labels()
    assert set(labels) == set(commands())
    for key, label in labels.items():
        assert commands()[key].spec.label == label


def test_python_mode_scripts_are_in_the_jar():
    scripts = sorted(
        p.relative_to(PLUGIN / "scripts").as_posix() for p in (PLUGIN / "scripts").rglob("*.py")
    )
    assert scripts
    with zipfile.ZipFile(bridge_jar()) as jar:
        names = set(jar.namelist())
    for script in scripts:
        assert f"colocalize-scripts/{script}" in names
        text = (PLUGIN / "scripts" / script).read_text()
        assert '#@script(language="Python (pyimagej)")' in text


def test_python_mode_scripts_call_every_command_once():
    keys = []
    for script in sorted((PLUGIN / "scripts").rglob("*.py")):
        text = script.read_text()
        keys.append(text.split('run_in_python_mode("')[1].split('"')[0])
        label = commands()[keys[-1]].spec.title
        # Fiji shows "_" as a space: the entry is the menu label plus " (Python mode)"
        assert script.stem.replace("_", " ") == f"{label} (Python mode)"
    assert sorted(keys) == sorted(commands())
