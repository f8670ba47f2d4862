"""The ImageJ command for batch analysis of a folder of images (:func:`colocalize.batch`).

The batch runs in the process that serves the command, one image after the other
(``workers=1``): in-process that is ImageJ's own process, and worker processes would be started
from a process that hosts a JVM (and, in Fiji's Python mode, whose ``sys.executable`` is not a
plain Python), which is not known to be safe. For a large repository
use ``colocalize batch --workers N`` outside ImageJ; its outputs and resume files are the same.
Registered by importing this module (``_catalog`` does).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from colocalize.imagej._contract import Progress, Request, Response, Table
from colocalize.imagej._spec import checkbox, choice, command, message, string

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


def _first_image_channels(folder: Path, pattern: str, out: Path) -> tuple[str, ...]:
    """The channel names of the first image of the batch that can be read (sorted paths; the
    pattern's ``{field}`` parts match anything); empty when none can."""
    import colocalize

    paths = sorted(folder.glob(re.sub(r"\{[^}]*\}", "*", pattern)))
    for path in paths:
        if not path.is_file() or out in path.parents:
            continue
        try:
            image = colocalize.read_image(path)
        except (OSError, ValueError):
            continue
        return image.channel_names
    return ()


def _without_mask_channel(
    channels: list[str], mask_channel: str, folder: Path, pattern: str, out: Path
) -> list[str]:
    """The channels to pair, never the mask channel: those given (refused when they include
    it) or, when none are given, every channel of the first image but the mask channel."""
    if channels:
        if mask_channel in channels:
            shown = _shown(mask_channel)
            raise ValueError(
                f"channels= includes the mask channel {shown}; the mask channel selects the "
                f"pixels and is not paired with the others: leave it out of channels="
            )
        return channels
    names = _first_image_channels(folder, pattern, out)
    if not names:
        return channels  # no readable image: the batch reports why, file by file
    index = int(mask_channel) if mask_channel.isdigit() else None
    return [str(i) for i, name in enumerate(names) if i != index and name != mask_channel]


def _shown(key: str) -> str:
    """A batch channel key as the dialog counts it: 0-based indices from 1, names as they are."""
    return str(int(key) + 1) if key.isdigit() else repr(key)


_AUTOMATIC_NAME = re.compile(r"C(\d+)")


def _count_from_one(summary: Any) -> Any:
    """The summary with channels named as ImageJ counts them (C1, C2, ...) where the files have
    no channel names (the batch then names them C0, C1, ..., as Python counts)."""
    columns = [c for c in ("channel0", "channel1", "channel2") if c in summary]
    values = {str(v) for c in columns for v in summary[c] if str(v)}
    if not all(_AUTOMATIC_NAME.fullmatch(v) for v in values):
        return summary  # named channels (or a mix): shown as the files name them
    renamed = summary.copy()
    for column in columns:
        renamed[column] = [
            f"C{int(v[1:]) + 1}" if _AUTOMATIC_NAME.fullmatch(str(v)) else v
            for v in summary[column]
        ]
    return renamed


def _methods() -> list[str]:
    import colocalize

    return list(colocalize.threshold_methods())


@command(
    "batch",
    "Coloc Batch...",
    string("Folder", kind="directory"),
    string("Pattern", "**/*.tif"),
    string("Output", kind="save_folder"),
    choice("Threshold", ["None", "Costes", "Manual", "Model", *_methods()], "None"),
    string("Thresholds_CSV", kind="file"),
    string("Model", kind="file"),
    string("Channels"),
    string("Mask_channel"),
    choice("Mask_method", _methods(), "Otsu"),
    checkbox("Exclude_zero-zero_pixels", False),
    checkbox("Resume", True),
    checkbox("HTML_report", True),
    message(
        "Pattern: relative to the folder, {field} captures metadata, e.g. {condition}/*.tif.\n"
        f"Output (empty: Folder/{DEFAULT_OUTPUT}). Threshold Manual: a thresholds CSV; Model: "
        "a ThresholdModel JSON.\nChannels (empty: all) and mask channel: numbers from 1 or "
        "channel names, comma-separated."
    ),
)
def batch_command(request: Request, progress: Progress) -> Response:
    """Coefficients of every image of a folder, summarised per condition (colocalize.batch)."""
    import colocalize

    v = request.values
    if not v["folder"]:
        raise ValueError("folder= is empty; choose the folder of images (folder=[/path/to/images])")
    folder = Path(v["folder"])
    out = Path(v["output"]) if v["output"] else folder / DEFAULT_OUTPUT
    picked = v["threshold"]
    thresholds = model = method = None
    if picked == "Manual":
        if not v["thresholds_csv"]:
            raise ValueError(
                "threshold=Manual needs thresholds_csv=[path/to/thresholds.csv] (columns image, "
                "channel, threshold)"
            )
        thresholds = v["thresholds_csv"]
    elif picked == "Model":
        if not v["model"]:
            raise ValueError(
                "threshold=Model needs model=[path/to/model.json] (saved by ThresholdModel.save)"
            )
        model = v["model"]
    elif picked != "None":
        method = "costes" if picked == "Costes" else picked
    mask_channel = _channel_keys(v["mask_channel"], "mask_channel")
    if len(mask_channel) > 1:
        raise ValueError(f"mask_channel={v['mask_channel']!r}: give one channel (or none)")
    channels = _channel_keys(v["channels"], "channels")
    if mask_channel:
        channels = _without_mask_channel(channels, mask_channel[0], folder, v["pattern"], out)
    progress(f"Coloc Batch: measuring the images of {folder}...")
    result = colocalize.batch(
        folder,
        out=out,
        pattern=v["pattern"],
        thresholds=thresholds,
        model=model,
        method=method,
        channels=channels or None,
        mask_channel=mask_channel[0] if mask_channel else None,
        mask_method=v["mask_method"],
        exclude_zero_zero=bool(v["exclude_zero-zero_pixels"]),
        resume=bool(v["resume"]),
        progress=False,
        workers=1,
    )
    summary = result.read_summary()
    if "channel2" in summary and not summary["channel2"].astype(bool).any():
        summary = summary.drop(columns="channel2")  # pairs only: no third channel
    summary = _count_from_one(summary)
    log = [
        f"{result.n_images} image(s): {result.n_computed} measured, {result.n_resumed} taken "
        f"from an earlier run, {result.n_failed} failed ({result.seconds:.1f} s); "
        f"results in {result.out}"
    ]
    if mask_channel:
        paired = ", ".join(_shown(c) for c in channels) if channels else "all"
        log.append(f"mask channel {_shown(mask_channel[0])}, not paired; channels paired: {paired}")
    for _, row in result.read_errors().iterrows():
        source = f" [{row['threshold_source']}]" if row["threshold_source"] else ""
        log.append(f"failed: {row['path']}{source}: {row['error']}")
    if v["html_report"]:
        log.append(f"report: {colocalize.write_report(result.out)}")
    return Response(
        tables=(Table.from_rows(BATCH_TABLE, summary, mode="replace", results=True),),
        log=tuple(log),
        status="",
    )
