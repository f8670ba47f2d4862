"""The command framework: a Python handler per menu entry of the shim's ``plugins.config``.

A command is a function ``run(call: Call) -> None`` registered with :func:`command` under the key
that ``plugins.config`` passes to ``colocalize.bridge.Dispatch``. :func:`register_all` installs
one JPype proxy per command in the shim's ``Registry``. Errors reach the user as one line (an
ImageJ error dialog, or a log line plus an aborted macro when a macro runs), never as a traceback
and never as a modal dialog that stalls a macro.
"""

from __future__ import annotations

import sys
import traceback
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from colocalize._validation import ColocalizeWarning
from colocalize.imagej._dialog import Cancelled, Dialog

__all__ = ["COMMANDS", "Call", "Command", "command", "plugins_config_labels", "register_all"]


@dataclass(frozen=True)
class Command:
    """A menu command: ``key`` (the Dispatch argument), ``label`` (the menu text), ``run``."""

    key: str
    label: str
    run: Callable[[Call], None]


COMMANDS: dict[str, Command] = {}


def command(key: str, label: str) -> Callable[[Callable[[Call], None]], Callable[[Call], None]]:
    """Decorator registering a command handler under ``key`` with its menu ``label``."""

    def decorate(run: Callable[[Call], None]) -> Callable[[Call], None]:
        COMMANDS[key] = Command(key, label, run)
        return run

    return decorate


class Call:
    """One run of a command: its options, dialog, images and outputs."""

    def __init__(self, cmd: Command, options: str | None, *, headless: bool) -> None:
        self.command = cmd
        self.options = options
        self.headless = headless

    @property
    def ij(self) -> Any:
        import jpype

        return jpype.JClass("ij.IJ")

    def dialog(self) -> Dialog:
        return Dialog(self.command.label.rstrip("."), self.options, headless=self.headless)

    def image_titles(self) -> list[str]:
        """Titles of the open images (batch-mode images included), oldest first."""
        import jpype

        window_manager = jpype.JClass("ij.WindowManager")
        ids = window_manager.getIDList()
        if ids is None:
            return []
        return [str(window_manager.getImage(int(i)).getTitle()) for i in ids]

    def current_title(self) -> str | None:
        import jpype

        imp = jpype.JClass("ij.WindowManager").getCurrentImage()
        return None if imp is None else str(imp.getTitle())

    def image(self, title: str) -> Any:
        """The open image called ``title``."""
        import jpype

        imp = jpype.JClass("ij.WindowManager").getImage(title)
        if imp is None:
            raise ValueError(
                f"no open image is called {title!r}; open images: {self.image_titles()}"
            )
        return imp

    def show_image(self, imp: Any) -> None:
        """Display an output image (kept as a batch-mode image when a batch macro runs)."""
        imp.show()

    def log(self, message: str) -> None:
        self.ij.log(f"{self.command.label.rstrip('.')}: {message}")


def _run(cmd: Command, options: str | None) -> str | None:
    """Run ``cmd``; returns None or the one-line error message for the user."""
    from colocalize.imagej._jvm import is_headless

    call = Call(cmd, options, headless=is_headless())
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ColocalizeWarning)
            cmd.run(call)
        for w in caught:
            if issubclass(w.category, ColocalizeWarning):
                call.log(f"warning: {w.message}")
    except Cancelled:
        return None
    except (ValueError, TypeError, LookupError, OSError) as exc:
        return str(exc) or type(exc).__name__
    except Exception as exc:
        if "Macro canceled" in str(exc):
            raise
        traceback.print_exc(file=sys.stderr)
        return f"internal error ({type(exc).__name__}: {exc}); please report it with this message"
    return None


_PROXIES: dict[str, Any] = {}  # keeps the JPype proxies alive


def register_all() -> list[str]:
    """Install a handler for every command in the shim's Registry; returns the keys.

    Needs a running JVM with the shim. Headless plain ImageJ also gets the commands in its
    command table (``HeadlessMenus``) so that macros can ``run(...)`` them. Idempotent.
    """
    import jpype

    from colocalize.imagej import _commands  # noqa: F401 - registers the commands
    from colocalize.imagej._jvm import bridge_class, is_headless

    registry = bridge_class("Registry")

    @jpype.JImplements("colocalize.bridge.Handler")
    class Handler:
        def __init__(self, cmd: Command) -> None:
            self.cmd = cmd

        @jpype.JOverride
        def run(self, key: Any, options: Any) -> Any:
            error = _run(self.cmd, None if options is None else str(options))
            return None if error is None else jpype.JString(error)

    for key, cmd in COMMANDS.items():
        proxy = Handler(cmd)
        _PROXIES[key] = proxy
        registry.register(key, proxy)
    if is_headless():  # Fiji's ij1-patcher registers them itself; plain ImageJ 1.x cannot
        try:
            bridge_class("HeadlessMenus").install()
        except Exception as exc:  # a patched or newer ImageJ without Menus.pluginsTable
            warnings.warn(
                f"could not add colocalize's commands to ImageJ's headless command table "
                f"({exc}); run(...) of them may fail in this headless ImageJ",
                RuntimeWarning,
                stacklevel=2,
            )
    return sorted(COMMANDS)


def run_command(key: str, options: str | None = None) -> str | None:
    """Run a registered command directly (Fiji's Python-mode scripts); returns the error or None."""
    from colocalize.imagej import _commands  # noqa: F401 - registers the commands

    if key not in COMMANDS:
        raise KeyError(f"no colocalize command {key!r}; commands: {sorted(COMMANDS)}")
    error = _run(COMMANDS[key], options)
    if error is not None:
        from colocalize.imagej._jvm import bridge_class

        bridge_class("Dispatch").report(key, error)
    return error


def plugins_config_labels(config: str) -> dict[str, str]:
    """``{key: label}`` of the Dispatch entries in a ``plugins.config`` text."""
    labels = {}
    for line in config.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "colocalize.bridge.Dispatch(" not in line:
            continue
        label = line.split('"')[1]
        key = line.split('Dispatch("')[1].split('"')[0]
        labels[key] = label
    return labels


def shipped_labels() -> dict[str, str]:
    """``{key: label}`` from the shipped jar's ``plugins.config``."""
    from colocalize.imagej._jvm import bridge_jar

    with zipfile.ZipFile(bridge_jar()) as jar:
        return plugins_config_labels(jar.read("plugins.config").decode())
