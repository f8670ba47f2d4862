"""``colocalize imagej``, ``colocalize doctor`` and ``colocalize install-fiji``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "imagej",
        help="start ImageJ/Fiji with colocalize's commands under Analyze > Colocalization",
        description=(
            "Start ImageJ (Fiji through PyImageJ with --fiji, otherwise ImageJ 1.x through JPype) "
            "with colocalize's commands. Without --macro, opens the GUI and waits until it is "
            "closed; with --macro, runs an ImageJ macro file and exits (exit status 1 when a "
            "colocalize command in it failed)."
        ),
    )
    p.add_argument("--fiji", type=Path, help="a Fiji.app (or ImageJ 1.x) folder")
    p.add_argument("--macro", type=Path, help="run this .ijm macro file and exit")
    p.add_argument("--arg", default="", help="the macro's argument (getArgument())")
    p.add_argument("--headless", action="store_true", help="no display (batch macros)")
    p.set_defaults(func=_imagej)

    d = subparsers.add_parser("doctor", help="report Java, ImageJ/Fiji and PyImageJ status")
    d.add_argument("--fiji", type=Path, help="also check this Fiji.app")
    d.set_defaults(func=_doctor)

    i = subparsers.add_parser(
        "install-fiji",
        help="install colocalize's commands into a Fiji.app or ImageJ folder",
        description=(
            "Copy colocalize's ImageJ shim into DIR/plugins (created for a plain ImageJ folder), "
            "record this Python in DIR/plugins/colocalize-python.txt (ImageJ started the normal "
            "way runs the commands in a worker with it) and copy the Fiji Python-mode scripts."
        ),
    )
    i.add_argument("fiji", type=Path, help="the Fiji.app or ImageJ folder")
    i.set_defaults(func=_install)

    # started by the shim in ImageJ launches without Python inside: not for users
    w = subparsers.add_parser("imagej-worker")
    w.add_argument("--buffer-dir", type=Path, help="folder for response buffers")
    w.set_defaults(func=_worker)


def _imagej(args: argparse.Namespace) -> int:
    from colocalize.imagej import start
    from colocalize.imagej._jvm import bridge_class

    gateway = start(args.fiji, mode="headless" if args.headless else None, gui=args.macro is None)
    if args.macro is not None:
        if not args.macro.is_file():
            raise FileNotFoundError(f"--macro {str(args.macro)!r} is not a file")
        failed = _run_macro(args.macro, args.arg)
        error = bridge_class("Dispatch").lastError()
        _exit(1 if error is not None or failed else 0, gateway.headless)
    print(f"ImageJ {gateway.version} is running with colocalize's commands; close it to quit.")
    sys.stdout.flush()
    deadline = time.monotonic() + 60  # Fiji's UI may open its ImageJ window a little later
    while gateway.IJ.getInstance() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    while gateway.IJ.getInstance() is not None:
        time.sleep(0.5)
    _exit(0, gateway.headless)
    return 0  # pragma: no cover - _exit does not return


def _run_macro(path: Path, arg: str) -> bool:
    """Run the macro file; True when it stopped on an error.

    With a display, ImageJ reports a macro-language error in a modal "Macro Error" dialog that
    would wait forever for a click: a watcher closes it (the macro then stops) and the error is
    printed instead. ImageJ's other error messages go to the Log (``redirectErrorMessages``).
    """
    import threading

    import jpype

    interpreter = jpype.JClass("ij.macro.Interpreter")()
    jpype.JClass("ij.IJ").redirectErrorMessages(True)
    finished = threading.Event()

    def close_error_dialogs() -> None:
        window_class = jpype.JClass("java.awt.Window")
        dialog_class = jpype.JClass("java.awt.Dialog")
        while not finished.wait(0.1):
            for window in window_class.getWindows():
                if (
                    isinstance(window, dialog_class)
                    and bool(window.isVisible())
                    and str(window.getTitle()) == "Macro Error"
                ):
                    window.dispose()

    watcher = threading.Thread(target=close_error_dialogs, daemon=True)
    if not jpype.JClass("java.awt.GraphicsEnvironment").isHeadless():
        watcher.start()
    text = path.read_text(encoding="utf-8")
    returned = None
    try:
        returned = interpreter.run(text, arg)
    except jpype.JException:
        # after an error ImageJ cancels the macro (RuntimeException "Macro canceled"); headless,
        # its error dialog fails with a HeadlessException
        if not interpreter.wasError():
            raise
    finally:
        finished.set()
    if interpreter.wasError():
        print(f"{path.name}: macro error: {interpreter.getErrorMessage()}")
        return True
    # ImageJ returns "[aborted]" when the macro stopped on an error of its own
    return returned is not None and str(returned) == "[aborted]"


def _exit(status: int, headless: bool) -> None:
    """Leave the process: AWT's threads would keep a GUI JVM alive after the main thread ends."""
    import jpype

    sys.stdout.flush()
    sys.stderr.flush()
    if not headless:
        jpype.JClass("java.lang.System").exit(status)
    sys.exit(status)


def _doctor(args: argparse.Namespace) -> int:
    from colocalize.imagej._fiji import doctor

    rows = doctor(args.fiji)
    width = max(len(item) for item, _, _ in rows)
    for item, ok, detail in rows:
        print(f"{'ok ' if ok else '-- '} {item:<{width}}  {detail}")
    essential = {"Java", "JPype", "ImageJ 1.x (ij.jar)", "colocalize shim jar"}
    return 0 if all(ok for item, ok, _ in rows if item in essential) else 1


def _install(args: argparse.Namespace) -> int:
    from colocalize.imagej._fiji import install_fiji

    for path in install_fiji(args.fiji):
        print(path)
    print(
        f"ImageJ will run the commands with {sys.executable}. Restart Fiji/ImageJ to see "
        f"Analyze > Colocalization > Coloc ... commands."
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from colocalize.imagej._worker import main

    return main([] if args.buffer_dir is None else ["--buffer-dir", str(args.buffer_dir)])
