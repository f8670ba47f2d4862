"""Command parameters: an ImageJ ``GenericDialog`` when a display exists (macro options and the
Macro Recorder then work as for any ImageJ command), ``Macro.getValue`` parsing when headless.

Fields are declared first and read together by :meth:`Dialog.ask`. As in ImageJ, a field's macro
key is the first word of its label, lower-cased (``"Threshold_1"`` -> ``threshold_1=...``);
labels use underscores so that the key is the whole label (the dialog shows spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Cancelled", "Dialog", "macro_key"]

NONE = "<None>"


class Cancelled(Exception):
    """The user cancelled the dialog."""


def macro_key(label: str) -> str:
    """ImageJ's macro key for a dialog label (``Macro.trimKey``): first word, lower case."""
    return label.split(" ")[0].split(":")[0].lower()


@dataclass(frozen=True)
class _Field:
    kind: str  # "choice", "number", "checkbox", "string", "directory", "file", "message"
    label: str
    default: Any
    items: tuple[str, ...] = ()
    digits: int = 3


class Dialog:
    """The parameters of one command run.

    Parameters
    ----------
    title : str
        The dialog title (the command's menu label).
    options : str or None
        The macro options (``Macro.getOptions()``); None when run from the menu.
    headless : bool
        Parse ``options`` in Python instead of showing a ``GenericDialog``.
    """

    def __init__(self, title: str, options: str | None, *, headless: bool) -> None:
        self.title = title
        self.options = options
        self.headless = headless
        self._fields: list[_Field] = []

    def choice(self, label: str, items: list[str] | tuple[str, ...], default: str) -> None:
        items = tuple(str(i) for i in items)
        if not items:
            raise ValueError(f"{self.title}: no choices for {label.replace('_', ' ')}")
        self._fields.append(
            _Field("choice", label, default if default in items else items[0], items)
        )

    def image(
        self, label: str, titles: list[str], default: str | None, *, optional: bool = False
    ) -> None:
        """An image choice among ``titles`` (plus ``<None>`` when ``optional``)."""
        items = ([NONE] if optional else []) + titles
        if not items:
            raise ValueError(f"{self.title} needs an open image; open one first.")
        self.choice(label, items, default if default is not None else items[0])

    def number(self, label: str, default: float, *, digits: int = 3) -> None:
        self._fields.append(_Field("number", label, float(default), digits=digits))

    def checkbox(self, label: str, default: bool) -> None:
        self._fields.append(_Field("checkbox", label, bool(default)))

    def string(self, label: str, default: str) -> None:
        self._fields.append(_Field("string", label, str(default)))

    def directory(self, label: str, default: str) -> None:
        self._fields.append(_Field("directory", label, str(default)))

    def file(self, label: str, default: str) -> None:
        self._fields.append(_Field("file", label, str(default)))

    def message(self, text: str) -> None:
        self._fields.append(_Field("message", text, None))

    def ask(self) -> dict[str, Any]:
        """Show the dialog (or parse the options); returns ``{label: value}``.

        Raises :class:`Cancelled` when the user cancels, ``ValueError`` for a macro option that
        is not one of a choice's items or not a number.
        """
        self._check_macro_options()
        if self.headless:
            return self._parse()
        return self._show()

    def _value(self, key: str) -> str | None:
        import jpype

        if self.options is None:
            return None
        value = jpype.JClass("ij.Macro").getValue(self.options, key, None)
        return None if value is None else str(value)

    def _check_macro_options(self) -> None:
        """Validate choices and numbers in the macro options before ImageJ sees them (ImageJ's
        own checks open a modal error dialog that would stall a running macro)."""
        if self.options is None:
            return
        for f in self._fields:
            key = macro_key(f.label)
            value = self._value(key)
            if value is None:
                continue
            if f.kind == "choice" and value not in f.items:
                raise ValueError(
                    f"{key}={value!r} is not one of {', '.join(f.items)}; "
                    f"use e.g. {key}=[{f.items[0]}]"
                )
            if f.kind == "number":
                try:
                    float(value)
                except ValueError:
                    raise ValueError(f"{key}={value!r} is not a number") from None

    def _parse(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for f in self._fields:
            if f.kind == "message":
                continue
            key = macro_key(f.label)
            if self.options is None:
                result[f.label] = f.default
            elif f.kind == "checkbox":
                # like ImageJ: a checkbox is on when its key appears as a word, off otherwise
                result[f.label] = (
                    re.search(rf"(^|\s){re.escape(key)}(\s|$)", self.options) is not None
                )
            else:
                value = self._value(key)
                if value is None:
                    result[f.label] = f.default
                elif f.kind == "number":
                    result[f.label] = float(value)
                else:
                    result[f.label] = value
        return result

    def _show(self) -> dict[str, Any]:
        import jpype

        gd = jpype.JClass("ij.gui.GenericDialog")(self.title)
        for f in self._fields:
            if f.kind == "choice":
                gd.addChoice(f.label, jpype.JArray(jpype.JString)(list(f.items)), f.default)
            elif f.kind == "number":
                gd.addNumericField(f.label, f.default, f.digits)
            elif f.kind == "checkbox":
                gd.addCheckbox(f.label, f.default)
            elif f.kind == "string":
                gd.addStringField(f.label, f.default, 20)
            elif f.kind == "directory":
                gd.addDirectoryField(f.label, f.default, 30)
            elif f.kind == "file":
                gd.addFileField(f.label, f.default, 30)
            else:
                gd.addMessage(f.label)
        gd.showDialog()
        if gd.wasCanceled():
            raise Cancelled
        result: dict[str, Any] = {}
        for f in self._fields:
            if f.kind == "choice":
                result[f.label] = str(gd.getNextChoice())
            elif f.kind == "number":
                result[f.label] = float(gd.getNextNumber())
            elif f.kind == "checkbox":
                result[f.label] = bool(gd.getNextBoolean())
            elif f.kind in ("string", "directory", "file"):
                result[f.label] = str(gd.getNextString())
        return result
