"""Screenshots of every colocalize ImageJ command: its dialog and its result windows.

Usage: xvfb-run -a -s "-screen 0 1400x1050x24" python scripts/screenshots.py [--out docs/images]
       [--docs docs/fiji.md] [--only KEY ...]

Starts ImageJ 1.x in this process (JPype, Debian's ij.jar) with a display (Xvfb), opens the
neuron-4Ch sample (``pip install --no-deps ndev-sampledata==0.0.3``) with File > Import >
colocalize TIFF..., then for every command of the registry (``colocalize.imagej._spec``, so
commands added later are included when this is re-run):

1. opens its dialog from the menu command, showing the settings of the example below (they are
   put in the dialog's remembered values first), and saves ``dialog_<key>.png``;
2. cancels it and runs the example as a macro (``EXAMPLES``; a command without an example runs
   with its dialog's defaults, by clicking OK), and saves the windows it opened, side by side
   and captioned with their titles, as ``result_<key>.png``.

It also opens Analyze > Colocalization with real X events (``xdotool``) and saves the menu as
``imagej_menu.png``. Windows are captured from the screen with ``java.awt.Robot``, cropped to the
window, and saved as palette PNGs (Pillow), so the files stay small. The section between the
markers in docs/fiji.md is rewritten to show every pair.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- screenshots: start (written by scripts/screenshots.py) -->"
END = "<!-- screenshots: end -->"
SAMPLE = "neuron-4Ch.tiff"
MOVIE = "scratch-assay-labeled-10T-2Ch.tiff"
NUCLEI = f"Nuclei of {SAMPLE} (C4)"

# command key -> macro options of its example (on the neuron sample unless they say otherwise)
EXAMPLES: dict[str, str] = {
    "import_tiff": "open=[{sample_path}]",
    "coefficients": (
        f"image_1=[{SAMPLE}] image_2=[{SAMPLE}] channel_1=1 channel_2=2 channel_3=0 "
        "mask=<None> labels=<None> threshold=Costes costes_method=bisection "
        "colocalized_pixel_mask scatter_plot pearson overlap manders thresholded_manders "
        "thresholded_overlap icq spearman kendall"
    ),
    "auto_threshold": f"image=[{SAMPLE}] channel=4 method=Otsu mask=<None> dark_background "
    "create_mask",
    "costes_significance": f"image_1=[{SAMPLE}] image_2=[{SAMPLE}] channel_1=1 channel_2=2 "
    "mask=<None> psf_size=3 randomizations=50 seed=1",
    "cross_correlation": f"image_1=[{SAMPLE}] image_2=[{SAMPLE}] channel_1=1 channel_2=2 "
    "mask=<None> confidence significant_digits=3 contribution_images",
    "learned_threshold": f"image=[{SAMPLE}] model=[{{model}}] channel_labels=[0,1,2,3] "
    "apply_threshold",
    "batch": "folder=[{batch}] pattern=[{{condition}}/*.tif] threshold=Costes resume",
    "segment_nuclei": f"image=[{SAMPLE}] channel=4 method=Triangle",
    "cytoplasm_rings": f"labels=[{NUCLEI}] inner=-1 outer=-1 image=[{SAMPLE}] mask=<None>",
    "translocation": f"image=[{MOVIE}] nucleus_channel=1 reporter_channel=2 nuclei=<None> "
    "inner=-1 outer=-1 radius=0 method=Triangle plot",
    "diagnostics": f"image_1=[{SAMPLE}] image_2=[{SAMPLE}] channel_1=1 channel_2=2 mask=<None> "
    "ccf max_shift=20 ica ica_bins=256",
    "objects": f"image_1=[{SAMPLE}] image_2=[{SAMPLE}] channel_1=2 channel_2=3 mask=<None> "
    "threshold=Otsu min_size=0.5 matched_by=overlap centre=mass randomizations=0 seed=1 overlay",
}


# command key -> (text, anchor) of the part of docs/fiji.md that explains its options
DETAILS: dict[str, tuple[str, str]] = {
    "coefficients": (
        "per cell, per ROI, the report, the overlay",
        "coefficients-per-cell-per-roi-report-overlay",
    ),
    "cross_correlation": ("the CCC plugin's options", "cross-correlation-options"),
    "batch": ("folders, patterns, resuming", "batch-folders"),
    "segment_nuclei": ("nuclei, rings and translocation", "nuclei-rings-and-translocation"),
    "cytoplasm_rings": ("default ring distances", "nuclei-rings-and-translocation"),
    "translocation": ("nuclei, rings and translocation", "nuclei-rings-and-translocation"),
    "objects": ("matching, randomization, the overlay", "object-colocalization-in-detail"),
    "import_tiff": ("what it reads", "colocalize-in-fiji-and-imagej"),
}


def _ij() -> Any:
    import jpype

    return jpype


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("ImageJ did not get there in time")
        time.sleep(0.05)


def _visible_windows() -> list[Any]:
    windows = _ij().JClass("java.awt.Window").getWindows()
    return [w for w in windows if w.isVisible() and w.getWidth() > 0]


def _title(window: Any) -> str:
    title = window.getTitle() if hasattr(window, "getTitle") else ""
    return str(title or "")


def _capture(window: Any) -> Any:
    """The window as a Pillow RGB image, from the screen (what the user sees), moved to the
    top left corner first."""
    window.setLocation(20, 20)  # on screen, whatever size and place ImageJ gave it
    window.toFront()
    _wait(lambda: window.isShowing() and int(window.getLocationOnScreen().x) == 20)
    time.sleep(0.5)
    where = window.getLocationOnScreen()
    return _grab(int(where.x), int(where.y), int(window.getWidth()), int(window.getHeight()))


def _grab(x: int, y: int, width: int, height: int) -> Any:
    """A rectangle of the screen as a Pillow RGB image."""
    import numpy as np
    from PIL import Image

    jpype = _ij()
    rectangle = jpype.JClass("java.awt.Rectangle")(x, y, width, height)
    shot = jpype.JClass("java.awt.Robot")().createScreenCapture(rectangle)
    argb = np.array(shot.getRGB(0, 0, width, height, None, 0, width), dtype=np.int64)
    rgb = np.stack([(argb >> 16) & 255, (argb >> 8) & 255, argb & 255], axis=-1)
    return Image.fromarray(rgb.reshape(height, width, 3).astype(np.uint8), "RGB")


def _captioned(shots: list[tuple[str, Any]], max_width: int = 1400) -> Any:
    """Windows side by side in rows no wider than ``max_width``, each under its title (the
    windows have no title bar under Xvfb)."""
    from PIL import Image, ImageDraw

    caption, gap = 16, 8
    rows: list[list[tuple[str, Any]]] = [[]]
    for title, shot in shots:
        used = sum(s.width + gap for _, s in rows[-1])
        if rows[-1] and used + shot.width > max_width:
            rows.append([])
        rows[-1].append((title, shot))
    width = max(sum(s.width + gap for _, s in row) for row in rows) - gap
    heights = [max(s.height for _, s in row) + caption for row in rows]
    sheet = Image.new("RGB", (width, sum(heights) + gap * (len(rows) - 1)), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for row, height in zip(rows, heights):
        x = 0
        for title, shot in row:
            draw.text((x + 2, y + 2), title, fill="black")
            sheet.paste(shot, (x, y + caption))
            x += shot.width + gap
        y += height + gap
    return sheet


def _save(image: Any, path: Path) -> None:
    """A palette PNG (256 colours, optimised): screenshots of ImageJ windows lose nothing
    visible and shrink several times."""
    image.quantize(colors=256, method=2, dither=0).save(path, optimize=True)


def _button(container: Any, label: str) -> Any:
    jpype = _ij()
    for component in container.getComponents():
        if isinstance(component, jpype.JClass("java.awt.Button")):
            if str(component.getLabel()).strip() == label:
                return component
        elif isinstance(component, jpype.JClass("java.awt.Container")):
            found = _button(component, label)
            if found is not None:
                return found
    return None


def _press(dialog: Any, label: str) -> None:
    jpype = _ij()
    button = _button(dialog, label)
    event = jpype.JClass("java.awt.event.ActionEvent")
    dialog.actionPerformed(event(button, event.ACTION_PERFORMED, label))


def _remember(key: str, fields: tuple[Any, ...], options: str) -> None:
    """Puts the example's settings in the dialog's remembered values (ImageJ Prefs keys of the
    shim's Dialogs), so that the dialog shows what the result was made with."""
    jpype = _ij()
    macro = jpype.JClass("ij.Macro")
    prefs = jpype.JClass("ij.Prefs")
    padded = f" {options} "
    for field in fields:
        if field.kind == "message":
            continue
        name = f"colocalize.{key}.{field.key}"
        if field.kind == "checkbox":
            prefs.set(name, "true" if f" {field.key} " in padded else "false")
            continue
        value = macro.getValue(options, field.key, None)
        if value is not None:
            prefs.set(name, value)


def _prepare(folder: Path) -> dict[str, str]:
    """Inputs of the examples: the threshold model and the batch folder."""
    import numpy as np

    import colocalize
    from colocalize import data

    rng = np.random.default_rng(0)
    features = np.sort(rng.uniform(0, 4000, (40, 9)), axis=1)
    midpoint = 300 + 0.5 * features[:, 8] + rng.normal(0, 10, 40)
    labels = np.array(["0", "1", "2", "3"] * 10)
    model = folder / "model.json"
    colocalize.ThresholdModel.fit(features, labels, midpoint - 50, midpoint + 50).save(model)
    batch = folder / "experiment"
    neuron = data.neuron_4ch()
    for condition, rows in (("control", slice(0, 300)), ("treated", slice(300, 600))):
        (batch / condition).mkdir(parents=True)
        for i, columns in enumerate((slice(0, 250), slice(250, 500))):
            part = neuron.data[:2, rows, columns]
            colocalize.write_image(batch / condition / f"{i}.tif", part, axes="CYX")
    sample = folder / SAMPLE  # a copy: the dialog shows a short path, the same on every machine
    shutil.copyfile(data.sample_path("neuron_4ch"), sample)
    return {
        "sample_path": str(sample),
        "model": str(model),
        "batch": str(batch),
    }


def _import(gateway: Any, path: str) -> None:
    gateway.IJ.runMacro(f'run("colocalize TIFF...", "open=[{path}]");')


def _overlay_size(window: Any) -> int:
    """The number of overlay elements of an image window's image (0 for other windows)."""
    imp = window.getImagePlus() if hasattr(window, "getImagePlus") else None
    overlay = None if imp is None else imp.getOverlay()
    return 0 if overlay is None else int(overlay.size())


def _close_new(before: set[Any]) -> None:
    jpype = _ij()
    for window in _visible_windows():
        if window in before:
            continue
        imp = window.getImagePlus() if hasattr(window, "getImagePlus") else None
        if imp is not None:
            imp.changes = False
            imp.close()
        elif isinstance(window, jpype.JClass("ij.text.TextWindow")):
            window.close()  # also tells ImageJ that the Log window is gone
        else:
            window.dispose()
    jpype.JClass("ij.WindowManager").setTempCurrentImage(None)


def _run_from_menu(gateway: Any, label: str) -> None:
    """Runs a menu command as the menu does (its dialog shows); Cancel ends it quietly."""
    try:
        gateway.IJ.run(label)
    except Exception as exc:  # ImageJ ends a cancelled command with "Macro canceled"
        if "Macro canceled" not in str(exc):
            raise


def shoot(gateway: Any, key: str, command: Any, values: dict[str, str], out: Path) -> list[Path]:
    """The dialog and result screenshots of one command."""
    jpype = _ij()
    spec = command.spec
    options = EXAMPLES.get(key, "").format(**values)
    if options:
        _remember(key, spec.fields, options)
    manager = jpype.JClass("ij.WindowManager")
    sample = manager.getImage(SAMPLE)
    if sample is not None:
        manager.setCurrentWindow(sample.getWindow())
    before = set(_visible_windows())
    overlays = {w: _overlay_size(w) for w in before}
    runner = threading.Thread(target=_run_from_menu, args=(gateway, spec.label), daemon=True)
    runner.start()

    def dialog() -> Any:
        for window in _visible_windows():
            if isinstance(window, jpype.JClass("java.awt.Dialog")) and _title(window) == spec.title:
                return window
        return None

    _wait(lambda: dialog() is not None)
    time.sleep(0.5)
    window = dialog()
    paths = [out / f"dialog_{key}.png"]
    (out / f"result_{key}.png").unlink(missing_ok=True)  # not kept when there is none now
    _save(_capture(window), paths[0])
    _press(window, "Cancel" if options else "OK")
    runner.join(timeout=600)
    if options:
        gateway.IJ.runMacro(f'run("{spec.label}", "{options}");')
    time.sleep(1.0)
    error = jpype.JClass("colocalize.bridge.Dispatch").lastError()
    if error is not None:
        print(f"{spec.title}: {error}", file=sys.stderr)
    # new windows, and the open images the command drew an overlay on (Coloc Objects)
    drawn = [w for w in before if w.isVisible() and _overlay_size(w) != overlays[w]]
    new = drawn + [w for w in _visible_windows() if w not in before]
    shots = [(_title(w), _capture(w)) for w in new if w.getWidth() > 1]
    if shots:
        paths.append(out / f"result_{key}.png")
        _save(_captioned(shots), paths[-1])
    _close_new(before)
    return paths


def _xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)
    time.sleep(0.5)


def shoot_menu(out: Path) -> Path:
    """Analyze > Colocalization opened with real X events (xdotool: a click on "Analyze" in
    ImageJ's menu bar, Up wraps to its last item, Colocalization, Right opens it), captured and
    cropped to what is drawn (the Xvfb screen is black elsewhere), as ``imagej_menu.png``."""
    if shutil.which("xdotool") is None:
        raise SystemExit("xdotool is missing: apt-get install xdotool")
    jpype = _ij()
    bar = jpype.JClass("ij.Menus").getMenuBar()
    metrics = jpype.JClass("java.awt.Toolkit").getDefaultToolkit().getFontMetrics(bar.getFont())
    labels = [str(bar.getMenu(i).getLabel()) for i in range(bar.getMenuCount())]
    # AWT's X11 menu bar: ~10 px margin, then each label with ~22 px of padding
    x = 10 + sum(
        int(metrics.stringWidth(label)) + 22 for label in labels[: labels.index("Analyze")]
    )
    x += int(metrics.stringWidth("Analyze")) // 2
    window = jpype.JClass("ij.IJ").getInstance()
    origin = window.getLocationOnScreen()
    y = int(origin.y) + int(window.getInsets().top) - 12  # the insets include the menu bar
    _xdotool("mousemove", str(int(origin.x) + x), str(y), "click", "1")
    _xdotool("key", "Up")
    _xdotool("key", "Right")
    time.sleep(0.5)
    size = jpype.JClass("java.awt.Toolkit").getDefaultToolkit().getScreenSize()
    screen = _grab(0, 0, int(size.width), int(size.height))
    _xdotool("key", "Escape")
    _xdotool("key", "Escape")
    box = screen.getbbox()
    if box is None:
        raise SystemExit("the menu screenshot is empty")
    path = out / "imagej_menu.png"
    _save(screen.crop(box), path)
    return path


def _menus() -> dict[str, str]:
    """Menu label -> where it is ("Analyze › Colocalization"), from plugin/plugins.config."""
    menus = {}
    for line in (ROOT / "plugin" / "plugins.config").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            menu, label, _ = (part.strip() for part in line.split(",", 2))
            menus[label.strip('"')] = menu.replace(">", " › ")
    return menus


def write_docs(docs: Path, images: Path, keys: list[str]) -> None:
    """Rewrites the screenshots section of ``docs`` (between START and END) for ``keys``: one
    section per command (its menu path, what it does from the docs' table of commands, a link
    to its macro options, its dialog, its result), whose heading is the anchor of the dialog's
    Help button."""
    from colocalize.imagej._catalog import commands

    text = docs.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{docs} has no screenshots markers ({START} ... {END})")
    relative = images.resolve().relative_to(docs.resolve().parent).as_posix()
    menus = _menus()
    lines = [START, ""]
    for key in keys:
        spec = commands()[key].spec
        row = next((x for x in text.splitlines() if x.startswith(f"| {spec.label} |")), None)
        if row is None:
            raise SystemExit(f"{docs}: its table of commands has no row for {spec.label}")
        what = row.split("|")[2].strip()
        lines.append(f"### {spec.title}")
        lines.append("")
        lines.append(
            f"*{menus[spec.label]} › {spec.label}*: {what}. Its macro options: "
            f"[macros.md](macros.md#options-of-each-command)."
            + (f" More: [{DETAILS[key][0]}](#{DETAILS[key][1]})." if key in DETAILS else "")
        )
        lines.append("")
        lines.append(f"![{spec.title}: dialog]({relative}/dialog_{key}.png)")
        if (images / f"result_{key}.png").is_file():
            lines.append("")
            lines.append(f"![{spec.title}: result]({relative}/result_{key}.png)")
        lines.append("")
    lines.append(END)
    block = "\n".join(lines)
    text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
    docs.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "fiji.md")
    parser.add_argument("--only", nargs="*", help="command keys (default: every command)")
    args = parser.parse_args(argv)

    import colocalize.imagej
    from colocalize import data
    from colocalize.imagej._catalog import commands

    gateway = colocalize.imagej.start(gui=True)
    if gateway.headless:
        raise SystemExit("needs a display: run under xvfb-run -a (see the usage line)")
    jpype = _ij()
    jpype.JClass("ij.IJ").getInstance().setLocation(0, 0)
    args.out.mkdir(parents=True, exist_ok=True)
    keys = [k for k in commands() if not args.only or k in args.only]
    # a fixed name, so that the dialogs show the same paths on every run
    folder = Path(tempfile.gettempdir()) / "colocalize-screenshots"
    if folder.exists():
        raise SystemExit(f"{folder} exists (an earlier run?): remove it first")
    folder.mkdir()
    try:
        values = _prepare(folder)
        if not args.only:
            print(shoot_menu(args.out).relative_to(ROOT))
        for key in keys:
            _import(gateway, values["sample_path"])
            if key == "translocation":
                _import(gateway, str(data.sample_path("scratch_assay")))
            if key == "cytoplasm_rings":
                gateway.IJ.runMacro(
                    f'run("Coloc Segment Nuclei...", "{EXAMPLES["segment_nuclei"]}");'
                )
            for path in shoot(gateway, key, commands()[key], values, args.out):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
            _close_new({jpype.JClass("ij.IJ").getInstance()})  # all but ImageJ's main window
    finally:
        shutil.rmtree(folder)
    if not args.only:
        write_docs(args.docs, args.out, keys)
    jpype.JClass("java.lang.System").exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
