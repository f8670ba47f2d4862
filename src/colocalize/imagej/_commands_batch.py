"""The ImageJ command for batch analysis of a folder of images (:func:`colocalize.batch`).

The batch runs in ImageJ's own process, one image after the other (``workers=1``): worker
processes would be started from a process that hosts a JVM (and, in Fiji's Python mode, whose
``sys.executable`` is not a plain Python), which is not known to be safe. For a large repository
use ``colocalize batch --workers N`` outside ImageJ; its outputs and resume files are the same.
Registered by importing this module (``_commands`` does).
"""

from __future__ import annotations

from pathlib import Path

from colocalize.imagej._convert import show_table
from colocalize.imagej._registry import Call, command

BATCH_TABLE = "Batch summary"
DEFAULT_OUTPUT = "colocalize-batch"


def _channel_keys(text: str, key: str) -> list[str]:
    """Comma-separated channels: 1-based numbers (as in ImageJ) become batch's 0-based indices,
    anything else is a channel name."""
    keys = []
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        if item.isdigit():
            if int(item) < 1:
                raise ValueError(
                    f"{key}={text!r}: channel numbers start at 1 (as in ImageJ); got {item}"
                )
            keys.append(str(int(item) - 1))
        else:
            keys.append(item)
    return keys


@command("batch", "Coloc Batch...")
def batch_command(call: Call) -> None:
    """Coefficients of every image of a folder, summarised per condition (colocalize.batch)."""
    import colocalize

    dialog = call.dialog()
    dialog.directory("Folder", "")
    dialog.string("Pattern", "**/*.tif")
    dialog.directory("Output", "")
    dialog.choice(
        "Threshold", ["None", "Costes", "Manual", "Model", *colocalize.threshold_methods()], "None"
    )
    dialog.file("Thresholds_CSV", "")
    dialog.file("Model", "")
    dialog.string("Channels", "")
    dialog.string("Mask_channel", "")
    dialog.choice("Mask_method", list(colocalize.threshold_methods()), "Otsu")
    dialog.checkbox("Exclude_zero-zero_pixels", False)
    dialog.checkbox("Resume", True)
    dialog.checkbox("HTML_report", True)
    dialog.message(
        "Pattern: relative to the folder, {field} captures metadata, e.g. {condition}/*.tif.\n"
        f"Output (empty: Folder/{DEFAULT_OUTPUT}). Threshold Manual: a thresholds CSV; Model: "
        "a ThresholdModel JSON.\nChannels (empty: all) and mask channel: numbers from 1 or "
        "channel names, comma-separated."
    )
    p = dialog.ask()
    if not p["Folder"]:
        raise ValueError("folder= is empty; choose the folder of images (folder=[/path/to/images])")
    folder = Path(p["Folder"])
    out = Path(p["Output"]) if p["Output"] else folder / DEFAULT_OUTPUT
    choice = p["Threshold"]
    thresholds = model = method = None
    if choice == "Manual":
        if not p["Thresholds_CSV"]:
            raise ValueError(
                "threshold=Manual needs thresholds_csv=[path/to/thresholds.csv] (columns image, "
                "channel, threshold)"
            )
        thresholds = p["Thresholds_CSV"]
    elif choice == "Model":
        if not p["Model"]:
            raise ValueError(
                "threshold=Model needs model=[path/to/model.json] (saved by ThresholdModel.save)"
            )
        model = p["Model"]
    elif choice != "None":
        method = "costes" if choice == "Costes" else choice
    mask_channel = _channel_keys(p["Mask_channel"], "mask_channel")
    if len(mask_channel) > 1:
        raise ValueError(f"mask_channel={p['Mask_channel']!r}: give one channel (or none)")
    call.ij.showStatus(f"Coloc Batch: measuring the images of {folder}...")
    result = colocalize.batch(
        folder,
        out=out,
        pattern=p["Pattern"],
        thresholds=thresholds,
        model=model,
        method=method,
        channels=_channel_keys(p["Channels"], "channels") or None,
        mask_channel=mask_channel[0] if mask_channel else None,
        mask_method=p["Mask_method"],
        exclude_zero_zero=bool(p["Exclude_zero-zero_pixels"]),
        resume=bool(p["Resume"]),
        progress=False,
        workers=1,
    )
    summary = result.read_summary()
    if "channel2" in summary and not summary["channel2"].astype(bool).any():
        summary = summary.drop(columns="channel2")  # pairs only: no third channel
    show_table(summary, BATCH_TABLE, append=False, results=True)
    call.log(
        f"{result.n_images} image(s): {result.n_computed} measured, {result.n_resumed} taken "
        f"from an earlier run, {result.n_failed} failed ({result.seconds:.1f} s); "
        f"results in {result.out}"
    )
    for _, row in result.read_errors().iterrows():
        source = f" [{row['threshold_source']}]" if row["threshold_source"] else ""
        call.log(f"failed: {row['path']}{source}: {row['error']}")
    if p["HTML_report"]:
        call.log(f"report: {colocalize.write_report(result.out)}")
    call.ij.showStatus("")
