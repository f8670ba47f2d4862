"""The bridge protocol: JSON plus binary buffers <-> contract objects, and :func:`serve`, which
answers one request message. One codec for both transports: the in-process JPype endpoint
(buffers are direct ``ByteBuffer`` objects) and the worker process (buffers are memory-mapped
files). The message format is documented in ``docs/bridge-protocol.md``.
"""

from __future__ import annotations

import json
import math
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from colocalize._image import Image
from colocalize._io import _TIME_SECONDS, imagej_pixels
from colocalize._validation import ColocalizeWarning
from colocalize.imagej._contract import (
    Cancelled,
    ImageData,
    Overlay,
    Plot,
    Progress,
    Request,
    Response,
    RoiMask,
    Table,
    refuse_existing_saves,
)
from colocalize.imagej._spec import NONE, CommandSpec, Field

__all__ = [
    "Buffers",
    "decode_image",
    "decode_request",
    "describe",
    "encode_image",
    "encode_outputs",
    "serve",
]

_UNCALIBRATED = ("", "pixel", "pixels")


def version() -> str:
    from colocalize._version import __version__

    return str(__version__)


# ---------------------------------------------------------------------------------------------
# arrays


class Buffers:
    """The buffer list of a message being encoded."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []

    def add(self, data: np.ndarray) -> dict[str, Any]:
        data = np.ascontiguousarray(data)
        if data.dtype.byteorder == ">":
            data = data.astype(data.dtype.newbyteorder("<"))
        self.arrays.append(data)
        return {"buffer": len(self.arrays) - 1, "dtype": data.dtype.str, "shape": list(data.shape)}


def _array(spec: Mapping[str, Any], buffers: Sequence[Any]) -> np.ndarray:
    dtype = np.dtype(str(spec["dtype"]))
    shape = tuple(int(n) for n in spec["shape"])
    data = np.frombuffer(buffers[int(spec["buffer"])], dtype=dtype, count=math.prod(shape))
    return data.reshape(shape)


# ---------------------------------------------------------------------------------------------
# requests


def decode_image(spec: Mapping[str, Any], buffers: Sequence[Any]) -> ImageData:
    """An IMAGE (JSON and its message's buffers) as :class:`ImageData` (no copy)."""
    data = _array(spec["data"], buffers)
    axes = str(spec["axes"])
    unit = str(spec.get("unit") or "pixel")
    calibrated = unit.strip().lower() not in _UNCALIBRATED
    raw = [float(s) for s in spec.get("spacing") or [1.0] * len(axes)]
    factor = _TIME_SECONDS.get(str(spec.get("time_unit") or "sec").strip().lower(), 1.0)
    frame_interval = 0.0
    spacing = []
    for axis, value in zip(axes, raw):
        if axis == "T":
            frame_interval = value * factor if value > 0 else 0.0
            spacing.append(frame_interval or 1.0)
        elif axis == "C" or not calibrated or not (value > 0 and math.isfinite(value)):
            spacing.append(1.0)
        else:
            spacing.append(value)
    names: tuple[str, ...] = ()
    given = spec.get("channel_names") or []
    if "C" in axes and all(isinstance(n, str) and n.strip() for n in given):
        candidate = tuple(str(n).split("\n")[0] for n in given)
        if len(candidate) == data.shape[axes.index("C")] and len(set(candidate)) == len(candidate):
            names = candidate
    image = Image(
        data,
        axes=axes,
        spacing=tuple(spacing),
        unit=unit if calibrated else "pixel",
        channel_names=names,
        name=str(spec.get("title", "")),
    )
    ranges = tuple((float(lo), float(hi)) for lo, hi in spec.get("display_ranges") or [])
    return ImageData(image, frame_interval, tuple(spec.get("luts") or ()), ranges)


def decode_request(message: Mapping[str, Any], buffers: Sequence[Any]) -> Request:
    """The :class:`Request` of an EXECUTE message."""
    images = {str(k): decode_image(v, buffers) for k, v in (message.get("images") or {}).items()}
    masks = {
        str(k): tuple(
            RoiMask(str(m.get("name", "")), _array(m["data"], buffers).astype(bool, copy=False))
            for m in v
        )
        for k, v in (message.get("masks") or {}).items()
    }
    options = message.get("options")
    return Request(
        command=str(message["command"]),
        options=None if options is None else str(options),
        values=dict(message.get("values") or {}),
        images=images,
        masks=masks,
    )


# ---------------------------------------------------------------------------------------------
# responses


def _number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def encode_image(item: ImageData, buffers: Buffers) -> dict[str, Any]:
    """The IMAGE JSON of ``item``, its pixels (in a type ImageJ stores) added to ``buffers``."""
    image = item.image
    data = imagej_pixels(np.asarray(image.data), name=image.name or "output image")
    spacing = [s for s in image.spacing]
    out: dict[str, Any] = {
        "title": image.name,
        "axes": image.axes,
        "spacing": spacing,
        "unit": image.unit,
        "time_unit": "sec",
        "channel_names": list(image.channel_names),
        "data": buffers.add(data),
        "show": item.show,
    }
    if "T" in image.axes:
        out["spacing"][image.axes.index("T")] = item.frame_interval
    if item.lut is not None:
        out["lut"] = item.lut
    if item.luts:
        out["luts"] = list(item.luts)
    if item.display_ranges:
        out["display_ranges"] = [list(r) for r in item.display_ranges]
    if item.save is not None:
        out["save"] = item.save
    return out


def _encode_table(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": table.title,
        "columns": [{"name": n, "values": list(v)} for n, v in table.columns],
        "mode": table.mode,
        "results": table.results,
    }
    if table.save is not None:
        out["save"] = table.save
    return out


def _encode_plot(plot: Plot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": plot.title,
        "x_label": plot.x_label,
        "y_label": plot.y_label,
        "series": [
            {
                "label": s.label,
                "x": [_number(v) for v in s.x],
                "y": [_number(v) for v in s.y],
                "style": s.style,
                "color": s.color,
                "width": s.width,
            }
            for s in plot.series
        ],
        "legend": plot.legend,
        "x_log": plot.x_log,
        "y_log": plot.y_log,
    }
    if plot.limits is not None:
        out["limits"] = [_number(v) for v in plot.limits]
    if plot.save is not None:
        out["save"] = plot.save
    return out


def _encode_overlay(overlay: Overlay, buffers: Buffers) -> dict[str, Any]:
    """OVERLAY JSON; the labels go as the narrowest of |u1, <u2, <i4 that holds them."""
    labels = np.asarray(overlay.labels)
    top = int(labels.max(initial=0))
    kind = "|u1" if top < 2**8 else "<u2" if top < 2**16 else "<i4"
    return {
        "image": overlay.image,
        "name": overlay.name,
        "labels": buffers.add(labels.astype(kind, copy=False)),
        "axes": overlay.axes,
        "objects": [
            {"label": int(o.label), "name": o.name, "color": o.color} for o in overlay.objects
        ],
        "fill": float(overlay.fill),
    }


def encode_outputs(response: Response) -> tuple[dict[str, Any], list[np.ndarray]]:
    """OUTPUTS JSON (as a dict) and its buffers for a :class:`Response`."""
    buffers = Buffers()
    outputs = {
        "tables": [_encode_table(t) for t in response.tables],
        "images": [encode_image(i, buffers) for i in response.images],
        "plots": [_encode_plot(p) for p in response.plots],
        "overlays": [_encode_overlay(o, buffers) for o in response.overlays],
        "log": list(response.log),
        "status": response.status,
    }
    return outputs, buffers.arrays


def _field_json(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": f.kind, "key": f.key, "label": f.label}
    if f.kind != "message":
        out["default"] = f.default
    if f.kind == "choice":
        out["choices"] = list(f.choices)
    if f.kind == "number":
        out["digits"] = f.digits
    if f.optional:
        out["optional"] = True
    if f.options:
        out["options"] = list(f.options)
    return out


def _spec_json(spec: CommandSpec) -> dict[str, Any]:
    return {
        "key": spec.key,
        "label": spec.label,
        "title": spec.title,
        "help": spec.help,
        "fields": [_field_json(f) for f in spec.fields],
    }


def describe() -> dict[str, Any]:
    """The DESCRIBE outputs: this colocalize's version and every command's dialog."""
    from colocalize.imagej._catalog import commands

    return {"version": version(), "commands": [_spec_json(c.spec) for c in commands().values()]}


# ---------------------------------------------------------------------------------------------
# serving one request


def _checked_values(spec: CommandSpec, request: Request) -> dict[str, Any]:
    """Every field's value, defaults filled in, checked against the dialog's declaration."""
    values: dict[str, Any] = {}
    for f in spec.fields:
        if f.kind == "message":
            continue
        value = request.values.get(f.key, f.default)
        if f.kind == "image":
            if value == NONE and f.optional:
                values[f.key] = NONE
                continue
            if f.key not in request.images:
                if not request.images:
                    raise ValueError(f"{spec.title} needs an open image; open one first.")
                titles = sorted({i.title for i in request.images.values()})
                raise ValueError(
                    f"{f.key}={value!r}: no open image has this title; open images include "
                    f"{', '.join(titles)}"
                )
            values[f.key] = request.images[f.key].title
        elif f.kind == "choice":
            if str(value) not in f.choices:
                raise ValueError(
                    f"{f.key}={str(value)!r} is not one of {', '.join(f.choices)}; "
                    f"use e.g. {f.key}=[{f.choices[0]}]"
                )
            values[f.key] = str(value)
        elif f.kind == "number":
            try:
                values[f.key] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{f.key}={value!r} is not a number") from None
        elif f.kind == "checkbox":
            values[f.key] = bool(value)
        else:
            values[f.key] = "" if value is None else str(value)
    return values


def run(request: Request, progress: Progress) -> Response:
    """Run the command of ``request`` (values checked and completed); warnings become log lines."""
    from dataclasses import replace

    from colocalize.imagej._catalog import commands

    command = commands().get(request.command)
    if command is None:
        raise LookupError(
            f"no colocalize command {request.command!r}; this colocalize ({version()}) has "
            f"{', '.join(sorted(commands()))}: update colocalize or the ImageJ shim "
            f"(colocalize install-fiji) so that both match"
        )
    request = replace(request, values=_checked_values(command.spec, request))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColocalizeWarning)
        response = command.handler(request, progress)
    title = command.spec.title
    _refuse_existing_saves(response)
    log = [f"{title}: {line}" for line in response.log]
    log += [
        f"{title}: warning: {w.message}"
        for w in caught
        if issubclass(w.category, ColocalizeWarning)
    ]
    return replace(response, log=tuple(log))


def _refuse_existing_saves(response: Response) -> None:
    """Refuse, before ImageJ shows or writes anything, a response that would save over a file
    (a save folder of an earlier run, an input): no command writes over an existing file."""
    saves = [t.save for t in response.tables] + [i.save for i in response.images]
    refuse_existing_saves(saves + [p.save for p in response.plots])


def failure(exc: BaseException) -> dict[str, Any]:
    """A FAILURE message body: one line for the user, the traceback as detail."""
    detail = "".join(traceback.format_exception(exc))
    if isinstance(exc, (ValueError, TypeError, LookupError, OSError)):
        error = str(exc) or type(exc).__name__
        if isinstance(exc, KeyError) and exc.args:
            error = str(exc.args[0])
        if isinstance(exc, OSError) and exc.strerror and exc.filename:
            error = f"{exc.strerror}: {exc.filename}"  # without Python's "[Errno 2]"
    else:
        print(detail, file=sys.stderr)
        error = f"internal error ({type(exc).__name__}: {exc}); please report it with this message"
    return {"responseType": "FAILURE", "error": " ".join(error.split()), "detail": detail}


def serve(
    text: str,
    buffers: Sequence[Any],
    *,
    update: Callable[[str], None] = lambda text: None,
    cancelled: Callable[[], bool] = lambda: False,
) -> tuple[str, list[np.ndarray]]:
    """Answer one request message (JSON ``text`` + ``buffers``): the final response message.

    ``update`` receives UPDATE messages (JSON) while the command runs; ``cancelled`` is polled at
    the handler's progress checks.
    """
    arrays: list[np.ndarray] = []
    task = None
    try:
        message = json.loads(text)
        task = message.get("task")
        kind = message.get("requestType")
        if kind == "DESCRIBE":
            body: dict[str, Any] = {"responseType": "COMPLETION", "outputs": describe()}
        elif kind == "EXECUTE":

            def report(text: str, current: int, maximum: int) -> None:
                update(
                    json.dumps(
                        {
                            "task": task,
                            "responseType": "UPDATE",
                            "message": text,
                            "current": current,
                            "maximum": maximum,
                        }
                    )
                )

            request = decode_request(message, buffers)
            response = run(request, Progress(report, cancelled))
            outputs, arrays = encode_outputs(response)
            body = {"responseType": "COMPLETION", "outputs": outputs}
        else:
            raise ValueError(f"unknown requestType {kind!r}; expected DESCRIBE or EXECUTE")
    except Cancelled:
        body = {"responseType": "CANCELATION"}
    except Exception as exc:
        body = failure(exc)
    return json.dumps({"task": task, **body}, allow_nan=False), arrays
