"""Every ImageJ macro in the docs (```ijm blocks of docs/*.md and README.md) runs as written.

Each block runs unchanged after a prelude that opens the images its example names (the docs
say which: "cells", "A", "B", ...) and with ``/data/`` replaced by a temporary folder (the docs
call ``/data/...`` a stand-in for the reader's folder); a block that reads ``getArgument()``
gets the folder of the data it describes. Three launches, as the docs promise:

- ``display``: ImageJ with a display, named tables as windows (``colocalize imagej --macro``
  under Xvfb; the launch where ``coloc_batch.ijm`` used to stop on "Numeric return value
  expected"), for every block;
- ``xvfb``: plain ``java -jar ij.jar -ijpath DIR -batch`` under ``xvfb-run -a`` (the shim's
  worker), for every block but those the docs scope to a display;
- ``headless``: a truly headless plain ImageJ (``-Djava.awt.headless=true``, the shim jar on
  the class path, the documented first line ``call("colocalize.bridge.HeadlessMenus.install");``
  before the block), likewise.

Each run must exit 0, log no error, and leave the results the docs describe (the tables with
rows, the images, the files).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import colocalize
from _imagej_helpers import time_lapse
from colocalize import Image
from test_imagej_plain import IJ_JAR, _nuclei, _pair, run_with_display

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
TIMEOUT = 120.0


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"


def ijm_blocks() -> list[Block]:
    """Every ```ijm block of the docs, with the line where it starts."""
    blocks = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for number, line in enumerate(lines, 1):
            if start is None and line.strip() == "```ijm":
                start = number
            elif start is not None and line.strip() == "```":
                blocks.append(Block(path, start, "\n".join(lines[start : number - 1]) + "\n"))
                start = None
    return blocks


BLOCKS = ijm_blocks()

# What each block leaves behind, found by what it runs: (tables with rows, images, files).
OUTPUTS = {
    "Coloc Coefficients...": ("Colocalization coefficients",),
    "Coloc Auto Threshold...": ("Auto threshold",),
    "Coloc Costes Significance...": ("Costes significance",),
    "Coloc Cross Correlation...": ("CC Results",),
    "Coloc Learned Threshold...": ("Learned thresholds",),
    "Coloc Segment Nuclei...": ("Nuclei measurements",),
    "Coloc Cytoplasm Rings...": ("Cytoplasm ring measurements",),
    "Coloc Translocation...": ("Translocation",),
    "Coloc Batch...": ("Batch summary",),
    "Coloc Objects...": ("Object colocalization summary",),
}
IMAGES = {
    "channel_3=3": ("cells",),
    "create_mask": ("Mask of cells (C3) (Otsu)",),
    "Coloc Segment Nuclei...": ("Nuclei of cells (C1)",),
    "Coloc Cytoplasm Rings...": ("Rings of Nuclei of cells (C1)",),
    "Coloc Cross Correlation...": ("Contribution of A",),
}
FILES = {
    "save_folder=[/data/ccc/]": ("ccc/CC Results.csv",),
    "save_objects=[/data/objects.csv]": ("objects.csv",),
    "batch_coloc.ijm": ("coloc.csv",),
    "coloc_batch.ijm": ("colocalize-batch/summary.csv", "colocalize-batch/report.html"),
}


def _expected(block: Block) -> tuple[list[str], list[str], list[str]]:
    tables = [t for command, ts in OUTPUTS.items() if f'"{command}"' in block.text for t in ts]
    images = [i for key, found in IMAGES.items() if key in block.text for i in found]
    files = [f for key, found in FILES.items() if key in block.text for f in found]
    return tables, images, files


def _display_only(block: Block) -> bool:
    """Blocks that read the named tables with Table.get: the docs scope them to a display."""
    text = block.path.read_text(encoding="utf-8")
    paragraphs = text[: text.index(block.text)].rstrip().split("\n\n")
    return paragraphs[-2].startswith("With a display")  # [-1] is the opening fence


def _write_data(folder: Path) -> None:
    """The images the examples name, the model, the image pairs and the condition folders."""
    a, b = _pair(seed=3)
    nuclei = _nuclei((96, 80))
    cells = np.stack([nuclei, a, b])
    spacing = (1.0, 0.2, 0.2)
    colocalize.write_image(folder / "cells.tif", Image(cells, "CYX", spacing, unit="um"))
    for c in (1, 2):
        colocalize.write_image(folder / f"C{c}-cells.tif", cells[c])
    colocalize.write_image(folder / "A.tif", a)
    colocalize.write_image(folder / "B.tif", b)
    mask = np.zeros(a.shape, np.uint8)
    mask[10:80, 10:70] = 255
    colocalize.write_image(folder / "cell mask.tif", mask)
    frames, _ = time_lapse()
    colocalize.write_image(
        folder / "movie.tif", Image(frames, "TCYX", (2.0, 1.0, 0.5, 0.5), unit="um")
    )
    rng = np.random.default_rng(0)
    features = np.sort(rng.uniform(0, 100, (42, 9)), axis=1)
    midpoint = 3 + 0.5 * features[:, 8] + rng.normal(0, 1, 42)
    labels = np.array(["B", "G", "R"] * 14)
    model = colocalize.ThresholdModel.fit(features, labels, midpoint - 2, midpoint + 2)
    model.save(folder / "model.json")
    pairs = folder / "pairs"
    pairs.mkdir()
    for name, seed in (("one", 1), ("two", 2)):
        green, red = _pair(seed=seed, shape=(48, 40))
        colocalize.write_image(pairs / f"{name}_green.tif", green)
        colocalize.write_image(pairs / f"{name}_red.tif", red)
    experiment = folder / "experiment"
    for condition, seed in (("control", 10), ("treated", 20)):
        (experiment / condition).mkdir(parents=True)
        for i in range(2):
            pair = np.stack(_pair(seed=seed + i, shape=(48, 40)))
            colocalize.write_image(experiment / condition / f"{i}.tif", Image(pair, "CYX"))


PRELUDE = """
open("{d}A.tif"); rename("A");
open("{d}B.tif"); rename("B");
open("{d}cell mask.tif"); rename("cell mask");
open("{d}C1-cells.tif"); rename("C1-cells");
open("{d}C2-cells.tif"); rename("C2-cells");
open("{d}movie.tif"); rename("movie");
open("{d}cells.tif"); rename("cells");
makeRectangle(8, 8, 60, 70);
"""

# printed after the block, in a macro of its own (the block may end in function definitions)
POSTLUDE = """
tables = split(getArgument(), "|");
for (i = 0; i < tables.length; i++) {{
    t = tables[i];
    n = -1;
    if (isOpen(t)) n = Table.size(t);
    print("__table " + t + "=" + n + " results=" + nResults);
}}
titles = newArray({images});
for (i = 0; i < titles.length; i++) print("__image " + titles[i] + "=" + isOpen(titles[i]));
"""


def _macro(block: Block, folder: Path, *, headless: bool) -> tuple[str, str]:
    """The job (prelude, the block as written with /data/ in ``folder``, checks) and its
    argument."""
    data = f"{folder}/"
    text = block.text.replace("/data/", data)
    argument = ""
    if "getArgument()" in text:
        argument = data + ("pairs/" if "_green.tif" in text else "experiment/")
    tables, images, _ = _expected(block)
    (folder / "block.ijm").write_text(text)
    (folder / "check.ijm").write_text(POSTLUDE.format(images=", ".join(f'"{i}"' for i in images)))
    job = "\n".join(
        [
            'call("colocalize.bridge.HeadlessMenus.install");' if headless else "",
            "" if argument else PRELUDE.format(d=data),
            f'if (runMacro("{folder}/block.ijm", "{argument}") == "[aborted]") print("__aborted");',
            f'runMacro("{folder}/check.ijm", "{"|".join(tables)}");',
        ]
    )
    return job, argument


def _launch(mode: str, block: Block, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    from colocalize.imagej._fiji import install_fiji

    app = tmp_path / "ImageJ"
    app.mkdir()
    install_fiji(app)
    job, _ = _macro(block, tmp_path, headless=mode == "headless")
    (tmp_path / "job.ijm").write_text(job)
    if mode == "display":
        command = [sys.executable, "-m", "colocalize", "imagej", "--macro", "job.ijm"]
        return run_with_display(command, cwd=tmp_path, timeout=TIMEOUT)
    if mode == "xvfb":
        command = ["java", "-jar", str(IJ_JAR), "-ijpath", str(app), "-batch", "job.ijm"]
        return run_with_display(command, cwd=tmp_path, timeout=TIMEOUT)
    jar = app / "plugins" / "Colocalize_Bridge.jar"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [
            "java",
            "-Djava.awt.headless=true",
            "-cp",
            os.pathsep.join([str(IJ_JAR), str(jar)]),
            "ij.ImageJ",
            "-ijpath",
            str(app),
            "-batch",
            "job.ijm",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=tmp_path,
    )


def _cases() -> list[object]:
    cases = []
    for block in BLOCKS:
        for mode in ("display", "xvfb", "headless"):
            if mode != "display" and _display_only(block):
                continue
            marks = [pytest.mark.gui] if mode != "headless" else []
            cases.append(pytest.param(block, mode, id=f"{block.id}-{mode}", marks=marks))
    return cases


def test_the_docs_have_macros():
    names = {b.path.name for b in BLOCKS}
    assert "macros.md" in names
    assert any("coloc_batch.ijm" in b.text for b in BLOCKS)
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize(("block", "mode"), _cases())
def test_every_docs_macro_runs_as_written(block, mode, tmp_path):
    if shutil.which("java") is None or not IJ_JAR.is_file():
        message = "java or ImageJ 1.x missing: apt-get install default-jdk-headless libij-java"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if mode == "display":
        pytest.importorskip("jpype", reason="the display launch starts ImageJ through JPype")
    _write_data(tmp_path)
    done = _launch(mode, block, tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "__aborted" not in done.stdout, out
    assert not re.search(r"error|Exception|Traceback", done.stdout, re.IGNORECASE), out
    tables, images, files = _expected(block)
    for table in tables:
        line = next((s for s in done.stdout.splitlines() if s.startswith(f"__table {table}=")), "")
        counts = dict(w.split("=") for w in line[len("__table ") :].rsplit(" ", 1)) if line else {}
        assert counts, out
        # a named table with rows (a window), or its rows in the Results table (no windows)
        assert int(counts[table]) > 0 or int(counts["results"]) > 0, out
    for title in images:
        assert f"__image {title}=1" in done.stdout, out
    for name in files:
        folder = "pairs/" if name == "coloc.csv" else "experiment/" if "batch" in name else ""
        assert (tmp_path / (folder + name)).is_file(), out
