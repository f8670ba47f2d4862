"""The bridge protocol without Java: dialog declarations, the JSON+buffers codec, and the worker
process spoken to as the shim does (JSON lines, buffers in files)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import colocalize
from colocalize.imagej._catalog import commands
from colocalize.imagej._protocol import describe, serve

DOCS = Path(__file__).resolve().parents[1] / "docs" / "macros.md"


def _image(title: str, index: int, data: np.ndarray, **extra) -> dict:
    spec = {
        "title": title,
        "axes": "YX",
        "spacing": [0.1, 0.1],
        "unit": "µm",
        "time_unit": "sec",
        "channel_names": [None],
        "data": {"buffer": index, "dtype": data.dtype.str, "shape": list(data.shape)},
    }
    return spec | extra


def _pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 4000, (40, 36)).astype("<u2")
    b = (a // 2 + rng.integers(0, 600, a.shape)).astype("<u2")
    return a, b


def _coefficients(values: dict, a, b, task: str = "7") -> dict:
    defaults = {
        "image_1": "A",
        "image_2": "B",
        "channel_1": 1,
        "channel_2": 2,
        "channel_3": 0,
        "mask": "<None>",
        "threshold": "Costes",
        "threshold_1": 0,
        "threshold_2": 0,
        "exclude_zero-zero_pixels": False,
        "colocalized_pixel_mask": False,
    }
    return {
        "task": task,
        "requestType": "EXECUTE",
        "command": "coefficients",
        "options": None,
        "values": defaults | values,
        "images": {"image_1": _image("A", 0, a), "image_2": _image("B", 1, b)},
        "masks": {},
    }


def _column(outputs: dict, table: int, name: str) -> list:
    columns = outputs["tables"][table]["columns"]
    return next(c["values"] for c in columns if c["name"] == name)


def test_every_documented_macro_key_is_declared():
    """docs/macros.md's option table names each command's keys: all of them stay declared (so
    recorded macros still run) and every declared key is documented."""
    declared = {c.spec.label: {f.key for f in c.spec.fields if f.key} for c in commands().values()}
    rows = [
        line
        for line in DOCS.read_text().splitlines()
        if line.startswith("| `") and line.split("`")[1] in declared
    ]
    assert len(rows) == len(declared)
    for row in rows:
        label = row.split("`")[1]
        documented = set(re.findall(r"`([a-z_0-9-]+)(?:=|`)", row.split("|")[2]))
        spec = next(c.spec for c in commands().values() if c.spec.label == label)
        values = {v for f in spec.fields for v in f.choices}  # e.g. `planes` of stack_mode
        assert declared[label] <= documented, label
        assert documented - declared[label] <= values, label


def test_describe_lists_every_command_with_json_safe_fields():
    outputs = json.loads(json.dumps(describe(), allow_nan=False))
    assert outputs["version"] == colocalize.__version__
    keys = [c["key"] for c in outputs["commands"]]
    assert keys == list(commands())
    coefficients = outputs["commands"][0]
    fields = {f["key"]: f for f in coefficients["fields"] if f["kind"] != "message"}
    assert fields["image_1"]["default"] == "@current"
    assert fields["image_2"]["default"] == "@second"
    assert fields["threshold"]["default"] == "Costes"
    assert "Otsu" in fields["threshold"]["choices"]
    assert fields["mask"]["options"] == ["none", "selection", "roi_manager"]


def test_execute_equals_the_python_api_and_never_modifies_the_buffers():
    a, b = _pair()
    buffers = [bytearray(a.tobytes()), bytearray(b.tobytes())]
    before = [bytes(x) for x in buffers]
    text, arrays = serve(json.dumps(_coefficients({"colocalized_pixel_mask": True}, a, b)), buffers)
    reply = json.loads(text)
    assert reply["task"] == "7"
    assert reply["responseType"] == "COMPLETION", reply
    outputs = reply["outputs"]
    expected = colocalize.coefficients(a, b, thresholds="costes")
    assert _column(outputs, 0, "pearson") == [expected.pearson]
    assert _column(outputs, 0, "Image 1") == ["A"]
    assert outputs["tables"][0]["results"] is True
    image = outputs["images"][0]
    assert image["title"] == "Colocalized pixels of A and B"
    assert (image["spacing"], image["unit"]) == ([0.1, 0.1], "um")
    mask = np.frombuffer(arrays[image["data"]["buffer"]], image["data"]["dtype"])
    expected_mask = (a > expected.threshold0) & (b > expected.threshold1)
    np.testing.assert_array_equal(mask.reshape(a.shape), expected_mask.astype(np.uint8) * 255)
    assert [bytes(x) for x in buffers] == before


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"threshold": "Sauvola"}, "threshold='Sauvola' is not one of None, Manual, Costes"),
        ({"channel_1": "lots"}, "channel_1='lots' is not a number"),
    ],
)
def test_bad_values_are_one_line_failures(values, message):
    a, b = _pair()
    text, arrays = serve(json.dumps(_coefficients(values, a, b)), [a.tobytes(), b.tobytes()])
    reply = json.loads(text)
    assert reply["responseType"] == "FAILURE"
    assert message in reply["error"]
    assert "\n" not in reply["error"]
    assert arrays == []


def test_no_open_image_names_the_command():
    message = {"task": "1", "requestType": "EXECUTE", "command": "auto_threshold", "values": {}}
    reply = json.loads(serve(json.dumps(message), [])[0])
    assert reply["error"] == "Coloc Auto Threshold needs an open image; open one first."


def test_unexpected_errors_say_internal_error_and_keep_the_traceback(monkeypatch):
    import dataclasses

    from colocalize.imagej import _spec

    def broken(request, progress):
        raise ZeroDivisionError("division by zero in a handler")

    command = commands()["auto_threshold"]
    monkeypatch.setitem(
        _spec.COMMANDS, "auto_threshold", dataclasses.replace(command, handler=broken)
    )
    a, _ = _pair()
    message = {
        "task": "2",
        "requestType": "EXECUTE",
        "command": "auto_threshold",
        "values": {"image": "A"},
        "images": {"image": _image("A", 0, a)},
    }
    reply = json.loads(serve(json.dumps(message), [a.tobytes()])[0])
    assert "internal error (ZeroDivisionError: division by zero in a handler)" in reply["error"]
    assert "Traceback" in reply["detail"]


def test_degenerate_input_is_a_logged_warning_and_nan_is_null():
    flat = np.full((10, 10), 7, np.uint8)
    ramp = np.arange(100, dtype=np.uint8).reshape(10, 10)
    message = _coefficients({"threshold": "None"}, flat, ramp)
    reply = json.loads(serve(json.dumps(message), [flat.tobytes(), ramp.tobytes()])[0])
    assert _column(reply["outputs"], 0, "pearson") == [None]
    assert any(line.startswith("Coloc Coefficients: warning:") for line in reply["outputs"]["log"])


def _worker(tmp_path: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "colocalize", "imagej-worker", "--buffer-dir", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    return process


def _send(process: subprocess.Popen, message: dict) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()


def _receive(process: subprocess.Popen) -> dict:
    assert process.stdout is not None
    return json.loads(process.stdout.readline())


def test_worker_speaks_json_lines_with_buffers_in_files(tmp_path):
    a, b = _pair(3)
    paths = []
    for i, data in enumerate((a, b)):
        paths.append(tmp_path / f"q{i}.bin")
        data.tofile(paths[-1])
    process = _worker(tmp_path)
    try:
        ready = _receive(process)
        assert ready["responseType"] == "READY"
        assert ready["pid"] == process.pid
        _send(process, {"task": "1", "requestType": "DESCRIBE"})
        assert _receive(process)["outputs"]["version"] == ready["version"]
        request = _coefficients({"colocalized_pixel_mask": True}, a, b, task="2")
        request["buffers"] = [{"path": str(p), "size": p.stat().st_size} for p in paths]
        _send(process, request)
        reply = _receive(process)
        while reply["responseType"] == "UPDATE":
            assert reply["task"] == "2"
            reply = _receive(process)
        assert reply["responseType"] == "COMPLETION"
        expected = colocalize.coefficients(a, b, thresholds="costes")
        assert _column(reply["outputs"], 0, "pearson") == [expected.pearson]
        (entry,) = reply["buffers"]
        assert Path(entry["path"]).parent == tmp_path
        assert Path(entry["path"]).stat().st_size == entry["size"] == a.size
        assert process.stdin is not None
        process.stdin.close()  # ImageJ quit: the worker ends
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait(timeout=30)


def test_worker_output_from_print_goes_to_stderr(tmp_path, monkeypatch):
    """A handler that prints must not corrupt the protocol on stdout."""
    code = (
        "import sys, json\n"
        "from colocalize.imagej import _worker, _spec, _contract\n"
        "import colocalize.imagej._catalog\n"
        "def noisy(request, progress):\n"
        "    print('hello from a handler')\n"
        "    return _contract.Response(log=('ok',))\n"
        "c = _spec.COMMANDS['batch']\n"
        "import dataclasses\n"
        "_spec.COMMANDS['batch'] = dataclasses.replace(c, handler=noisy)\n"
        "sys.exit(_worker.main(['--buffer-dir', sys.argv[1]]))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _receive(process)["responseType"] == "READY"
        _send(process, {"task": "9", "requestType": "EXECUTE", "command": "batch", "values": {}})
        reply = _receive(process)
        assert reply["responseType"] == "COMPLETION"
        assert reply["outputs"]["log"] == ["Coloc Batch: ok"]
        process.stdin.close()
        assert process.wait(timeout=30) == 0
        assert "hello from a handler" in process.stderr.read()
    finally:
        process.kill()
        process.wait(timeout=30)


def test_cancel_stops_a_running_command_at_its_next_progress_check(tmp_path):
    code = (
        "import sys, time\n"
        "from colocalize.imagej import _worker, _spec, _contract\n"
        "import colocalize.imagej._catalog\n"
        "def slow(request, progress):\n"
        "    for i in range(600):\n"
        "        progress('working', i, 600)\n"
        "        time.sleep(0.05)\n"
        "    return _contract.Response()\n"
        "import dataclasses\n"
        "c = _spec.COMMANDS['batch']\n"
        "_spec.COMMANDS['batch'] = dataclasses.replace(c, handler=slow)\n"
        "sys.exit(_worker.main(['--buffer-dir', sys.argv[1]]))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert _receive(process)["responseType"] == "READY"
        _send(process, {"task": "5", "requestType": "EXECUTE", "command": "batch", "values": {}})
        assert _receive(process)["responseType"] == "UPDATE"
        start = time.monotonic()
        _send(process, {"task": "5", "requestType": "CANCEL"})
        reply = _receive(process)
        while reply["responseType"] == "UPDATE":
            reply = _receive(process)
        assert reply == {"task": "5", "responseType": "CANCELATION"}
        assert time.monotonic() - start < 5
        # the worker serves the next request
        _send(process, {"task": "6", "requestType": "DESCRIBE"})
        assert _receive(process)["responseType"] == "COMPLETION"
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize(("interval", "label"), [(0.0, "Frame"), (0.5, "Time (s)")])
def test_an_unset_frame_interval_plots_frames(interval, label):
    """ImageJ's frame interval 0 means "not set": times are frame numbers and the plot says so."""
    yy, xx = np.mgrid[:32, :32]
    disk = ((yy - 16) ** 2 + (xx - 16) ** 2 < 25).astype(np.uint16)
    movie = np.stack([np.stack([disk * 200 + 10, disk * 50 + 40]) for _ in range(3)])
    nuclei = np.stack([disk] * 3)
    image = _image("movie", 0, movie, axes="TCYX", spacing=[interval, 1.0, 1.0, 1.0])
    image["channel_names"] = [None, None]
    labels = _image("nuclei", 1, nuclei, axes="TYX", spacing=[interval, 1.0, 1.0])
    message = {
        "task": "3",
        "requestType": "EXECUTE",
        "command": "translocation",
        "values": {"image": "movie", "nuclei": "nuclei", "inner": 1, "outer": 4, "plot": True},
        "images": {"image": image, "nuclei": labels},
    }
    reply = json.loads(serve(json.dumps(message), [movie.tobytes(), nuclei.tobytes()])[0])
    assert reply["responseType"] == "COMPLETION", reply
    (plot,) = reply["outputs"]["plots"]
    assert plot["x_label"] == label
    step = interval if interval > 0 else 1.0
    assert plot["series"][0]["x"] == [0.0, step, 2 * step]


def _significance(values: dict, a, b, task: str = "4") -> dict:
    return {
        "task": task,
        "requestType": "EXECUTE",
        "command": "costes_significance",
        "values": {"image_1": "A", "image_2": "B", "psf_size": 3, "randomizations": 40} | values,
        "images": {"image_1": _image("A", 0, a), "image_2": _image("B", 1, b)},
    }


def test_costes_significance_plots_the_randomized_r_and_the_observed_r():
    a, b = _pair(2)
    message = _significance({"seed": 5, "histogram": True}, a, b)
    updates: list[dict] = []
    text, _ = serve(
        json.dumps(message),
        [a.tobytes(), b.tobytes()],
        update=lambda u: updates.append(json.loads(u)),
    )
    reply = json.loads(text)
    assert reply["responseType"] == "COMPLETION", reply
    expected = colocalize.costes_significance(a, b, psf=3, n=40, rng=5)
    assert _column(reply["outputs"], 0, "P(r_rand < r_obs) normal") == [expected.p_value]
    (plot,) = reply["outputs"]["plots"]
    assert plot["title"] == "Costes significance of A and B"
    assert plot["x_label"] == "Pearson's r (randomized: grey bars; observed: red line)"
    assert plot["y_label"] == "Randomizations (count)"
    bars, line = plot["series"]
    counts, edges = expected.histogram()
    assert bars["style"] == "bar"
    assert bars["y"] == counts.tolist()
    np.testing.assert_allclose(bars["x"], (edges[:-1] + edges[1:]) / 2, rtol=1e-15, atol=1e-15)
    assert bars["label"] == "randomized r (n = 40)"
    assert line["x"] == [expected.observed, expected.observed]
    assert line["label"] == f"observed r = {expected.observed:.4g}"
    # progress goes to ImageJ's status line and progress bar: 0 .. n
    assert [(u["current"], u["maximum"]) for u in updates] == [(0, 40), (40, 40)]
    assert updates[0]["message"] == "Coloc Costes Significance: 0 of 40 randomizations"
    # a macro without the histogram key (recorded before it existed) gets no plot
    text, _ = serve(json.dumps(_significance({"histogram": False}, a, b)), [a, b])
    assert json.loads(text)["outputs"]["plots"] == []


def test_a_cancelled_costes_significance_answers_cancelation_within_a_chunk(tmp_path):
    """Esc in ImageJ sends CANCEL: the randomizations stop at the next chunk (before, the
    command ran all of them and answered COMPLETION, or ImageJ killed the worker after 3 s)."""
    a, b = _pair(4)
    a, b = np.tile(a, (3, 3)), np.tile(b, (3, 3))  # 120x108: 323 randomizations per chunk
    paths = []
    for i, data in enumerate((a, b)):
        paths.append(tmp_path / f"s{i}.bin")
        data.tofile(paths[-1])
    process = _worker(tmp_path)
    try:
        assert _receive(process)["responseType"] == "READY"
        request = _significance({"randomizations": 200000, "seed": 1}, a, b, task="8")
        request["buffers"] = [{"path": str(p), "size": p.stat().st_size} for p in paths]
        _send(process, request)
        first = _receive(process)
        assert first["responseType"] == "UPDATE", first
        assert (first["current"], first["maximum"]) == (0, 200000)
        start = time.monotonic()
        _send(process, {"task": "8", "requestType": "CANCEL"})
        reply = _receive(process)
        seen = [first]
        while reply["responseType"] == "UPDATE":
            seen.append(reply)
            reply = _receive(process)
        assert reply == {"task": "8", "responseType": "CANCELATION"}  # no table, no plot
        # typically < 1.5 s on a loaded machine; ImageJ kills a worker that takes over 3 s
        assert time.monotonic() - start < 5
        assert seen[-1]["current"] < 200000
        # the worker serves the next request
        _send(process, {"task": "9", "requestType": "DESCRIBE"})
        assert _receive(process)["responseType"] == "COMPLETION"
    finally:
        process.kill()
        process.wait(timeout=30)
