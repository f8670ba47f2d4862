"""The in-process transport: one JPype ``Endpoint`` proxy in the shim's ``Registry``.

When ImageJ runs in this process (``colocalize.imagej.start``, PyImageJ, Fiji's Python mode),
the shim's ``Dispatch`` hands every request to this endpoint instead of starting a worker
process: the same JSON messages and the same handlers, with pixels as direct ``ByteBuffer``
objects read without a copy on the Python side.
"""

from __future__ import annotations

import warnings
import zipfile
from typing import Any

from colocalize.imagej._catalog import commands
from colocalize.imagej._contract import Response

__all__ = ["display", "plugins_config_labels", "register_all", "shipped_labels", "to_message"]

_ENDPOINT: list[Any] = []  # keeps the JPype proxy alive


def to_message(text: str, arrays: list[Any]) -> Any:
    """A shim ``Message`` of JSON ``text`` and numpy ``arrays`` (direct buffers on their memory:
    keep ``arrays`` alive while Java reads them)."""
    import jpype
    import jpype.nio

    from colocalize.imagej._jvm import bridge_class

    byte_buffer = jpype.JClass("java.nio.ByteBuffer")
    buffers = jpype.JArray(byte_buffer)(
        [jpype.nio.convertToDirectBuffer(memoryview(a).cast("B")) for a in arrays]
    )
    return bridge_class("Message")(jpype.JString(text), buffers)


def display(response: Response) -> list[Any]:
    """Show a response's outputs in this process's ImageJ through the shim's ``Display`` (as
    the commands' outputs are shown); returns the ResultsTable / ImagePlus objects it made."""
    import json

    from colocalize.imagej._jvm import bridge_class
    from colocalize.imagej._protocol import encode_outputs

    outputs, arrays = encode_outputs(response)
    message = to_message(json.dumps(outputs, allow_nan=False), arrays)
    return list(bridge_class("Display").show(message))  # arrays stay alive until it returns


def _make_endpoint() -> Any:
    import jpype

    from colocalize.imagej._protocol import serve

    @jpype.JImplements("colocalize.bridge.Endpoint")
    class Endpoint:
        """Answers the shim's requests in this process."""

        def __init__(self) -> None:
            self.keep: list[Any] = []  # the last response's arrays, read by Java after return

        @jpype.JOverride
        def call(self, request: Any, listener: Any) -> Any:
            buffers = [memoryview(request.buffer(i)) for i in range(int(request.bufferCount()))]
            text, arrays = serve(
                str(request.json()),
                buffers,
                update=lambda line: listener.update(jpype.JString(line)),
                cancelled=lambda: bool(listener.cancelled()),
            )
            self.keep = [a if a.flags.writeable else a.copy() for a in arrays]
            return to_message(text, self.keep)

    return Endpoint()


def register_all() -> list[str]:
    """Register the in-process endpoint in the shim's Registry; returns the command keys.

    Needs a running JVM with the shim. Headless plain ImageJ also gets the commands in its
    command table (``HeadlessMenus``) so that macros can ``run(...)`` them. Idempotent.
    """
    from colocalize.imagej._jvm import bridge_class, is_headless

    if not _ENDPOINT:
        _ENDPOINT.append(_make_endpoint())
    bridge_class("Registry").setEndpoint(_ENDPOINT[0])
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
    return sorted(commands())


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
