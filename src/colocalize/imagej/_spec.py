"""Dialog declarations and the command registry.

Each command declares its dialog once, as a :class:`CommandSpec` of :class:`Field` objects; the
Java shim builds an ImageJ ``GenericDialog`` from it in every launch mode (so macro options and
the Macro Recorder behave as for any ImageJ command) and sends every field's value by its macro
key. As in ImageJ, the macro key is the first word of the label, lower-cased
(``"Threshold_1"`` -> ``threshold_1``); labels use underscores so the key is the whole label (the
dialog shows spaces). Handlers register with :func:`command`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from colocalize.imagej._contract import Progress, Request, Response

__all__ = [
    "COMMANDS",
    "NONE",
    "ROI_MANAGER",
    "SELECTION",
    "Command",
    "CommandSpec",
    "Field",
    "command",
]

NONE = "<None>"
SELECTION = "<Selection>"
ROI_MANAGER = "<ROI Manager>"  # mask choice: every area ROI of the ROI Manager
CURRENT = "@current"  # image default: the current image
SECOND = "@second"  # image default: the first open image that is not the current one
PIXEL_SIZE = "@pixel_size"  # number default: the current image's pixel size (1.0 uncalibrated)

Handler = Callable[[Request, Progress], Response]


def macro_key(label: str) -> str:
    """ImageJ's macro key for a dialog label (``Macro.trimKey``): first word, lower case."""
    return label.split(" ")[0].split(":")[0].lower()


@dataclass(frozen=True)
class Field:
    """One dialog field. ``kind``: "image", "mask", "choice", "number", "checkbox", "string",
    "file" (an input file), "save" (an output file: its Browse button opens a save dialog, and
    the dialog never offers the last path again, only starts browsing in its folder, since a
    command never writes over a file), "directory", "save_folder" (an output folder, never
    offered again: Coloc Batch's default output follows its input folder) or "message"
    (``label`` is then the text)."""

    kind: str
    label: str
    default: Any = None
    choices: tuple[str, ...] = ()
    digits: int = 3
    optional: bool = False  # image: offer <None>
    options: tuple[str, ...] = ()  # mask: "none", "selection", "roi_manager"

    @property
    def key(self) -> str:
        return "" if self.kind == "message" else macro_key(self.label)


def image(label: str, default: str = CURRENT, *, optional: bool = False) -> Field:
    return Field("image", label, NONE if optional else default, optional=optional)


def mask(label: str = "Mask") -> Field:
    return Field("mask", label, NONE, options=("none", "selection", "roi_manager"))


def choice(label: str, choices: list[str] | tuple[str, ...], default: str) -> Field:
    return Field("choice", label, default, tuple(choices))


def number(label: str, default: float | str, *, digits: int = 3) -> Field:
    return Field(
        "number", label, default if isinstance(default, str) else float(default), digits=digits
    )


def checkbox(label: str, default: bool) -> Field:
    return Field("checkbox", label, default)


def string(label: str, default: str = "", *, kind: str = "string") -> Field:
    return Field(kind, label, default)


def message(text: str) -> Field:
    return Field("message", text)


@dataclass(frozen=True)
class CommandSpec:
    """A command's menu entry and dialog."""

    key: str
    label: str  # the menu label, e.g. "Coloc Coefficients..."
    fields: tuple[Field, ...]
    # the Help button's URL; empty: the command's own section of docs/fiji.md, whose heading is
    # the title (plugin Dialogs.helpUrl makes the GitHub anchor)
    help: str = ""

    @property
    def title(self) -> str:
        return self.label.rstrip(".")


@dataclass(frozen=True)
class Command:
    spec: CommandSpec
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(key: str, label: str, *fields: Field) -> Callable[[Handler], Handler]:
    """Decorator registering ``handler`` as command ``key`` with menu ``label`` and dialog
    ``fields``."""

    def decorate(handler: Handler) -> Handler:
        COMMANDS[key] = Command(CommandSpec(key, label, tuple(fields)), handler)
        return handler

    return decorate
