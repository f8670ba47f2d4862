"""Benchmark: the bridge's per-call overhead, Python worker against in-process.

Workload (issue 12): *Coloc Coefficients* on two 2048 x 2048 16-bit images (``threshold=None``)
run N times from one ImageJ macro, timed inside the macro with ``getTime()``:

- **worker**: plain ImageJ 1.x, ``java -jar ij.jar -ijpath DIR -batch bench.ijm`` (under
  ``xvfb-run -a`` when there is no display) after ``colocalize install-fiji DIR``: the shim
  starts a Python worker on the first call (JSON lines, pixels in memory-mapped files);
- **in-process**: ``colocalize imagej --headless --macro bench.ijm`` (ImageJ in this Python
  through JPype; the shim calls the Python endpoint with direct buffers);
- **direct**: the same handler's computation in Python without ImageJ
  (:func:`colocalize.coefficient_table` on the two arrays), best of N.

Overhead of the worker once warm = median worker call - median in-process call (target < 50 ms);
first call of a session = the first worker call, which starts the worker (target < 2 s).

Run: .venv/bin/python scripts/bench_bridge.py [--size 2048] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _bench import best_time

IJ_JAR = Path("/usr/share/java/ij.jar")

MACRO = """
dir = getArgument();
setBatchMode(true);
open(dir + "A.tif");
open(dir + "B.tif");
open(dir + "M.tif");
function calls(name, options, n) {{
    for (i = 0; i < n; i++) {{
        t0 = getTime();
        run("Coloc Coefficients...", "image_1=A.tif image_2=B.tif threshold=None " + options);
        print(name + " " + i + " ms " + (getTime() - t0));
    }}
}}
calls("small", "mask=M.tif", {repeat} + 1);
calls("full", "", {repeat});
"""


def _images(size: int, folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from scipy import ndimage

    import colocalize

    rng = np.random.default_rng(0)
    base = ndimage.gaussian_filter(rng.random((size, size), np.float32), 3)
    base = (base - base.min()) / np.ptp(base)
    a = (base * 40000 + rng.random((size, size)) * 4000).astype(np.uint16)
    b = (np.roll(base, 2, axis=1) * 30000 + rng.random((size, size)) * 4000).astype(np.uint16)
    colocalize.write_image(folder / "A.tif", a)
    colocalize.write_image(folder / "B.tif", b)
    mask = np.zeros((size, size), bool)
    mask[:8, :8] = True
    colocalize.write_image(folder / "M.tif", mask)
    return a, b, mask


def _calls(output: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"small": [], "full": []}
    for line in output.splitlines():
        name = line.split(" ")[0]
        if name in times and " ms " in line:
            times[name].append(float(line.split(" ms ")[1]))
    if not all(times.values()):
        raise RuntimeError(f"the benchmark macro printed no timings:\n{output}")
    return times


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if not IJ_JAR.is_file() or shutil.which("java") is None:
        sys.exit("needs java and Debian's ImageJ (apt-get install default-jdk-headless libij-java)")
    import colocalize
    from colocalize.imagej._fiji import install_fiji

    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as tmp:
        folder = Path(tmp)
        a, b, mask = _images(args.size, folder)
        (folder / "bench.ijm").write_text(MACRO.format(repeat=args.repeat))
        app = folder / "ImageJ"
        app.mkdir()
        install_fiji(app)

        plain = ["java", "-jar", str(IJ_JAR), "-ijpath", str(app), "-batch", "bench.ijm"]
        if not os.environ.get("DISPLAY"):
            plain = ["xvfb-run", "-a", *plain]
        worker = _calls(_run([*plain, f"{folder}/"], folder))
        in_process = _calls(
            _run(
                [
                    sys.executable,
                    "-m",
                    "colocalize",
                    "imagej",
                    "--headless",
                    "--macro",
                    "bench.ijm",
                    "--arg",
                    f"{folder}/",
                ],
                folder,
            )
        )
        stack = np.stack([a, b])
        small, _ = best_time(
            lambda: colocalize.coefficient_table(stack, channel_axis=0, mask=mask), args.repeat
        )
        full, _ = best_time(lambda: colocalize.coefficient_table(stack, channel_axis=0), 3)

    def median(times: list[float]) -> float:
        return statistics.median(times[1:]) if len(times) > 1 else times[0]

    size = f"{args.size} x {args.size}"
    print(f"Coloc Coefficients (threshold=None) on two {size} uint16 images, from a macro")
    print("A. pixels of both images and a mask image sent, 8 x 8 pixels measured (transport):")
    print(f"   direct Python (coefficient_table), best:       {small * 1e3:8.1f} ms")
    print(
        f"   in-process (JPype), median of warm calls:      {median(in_process['small']):8.1f} ms"
    )
    print(f"   worker (plain ImageJ), median of warm calls:   {median(worker['small']):8.1f} ms")
    overhead = median(worker["small"]) - median(in_process["small"])
    print(f"   worker overhead once warm (worker - in-process): {overhead:6.1f} ms  (target < 50)")
    print(
        f"   first call of the session: worker {worker['small'][0]:.0f} ms (starts the worker; "
        f"target < 2000), in-process {in_process['small'][0]:.0f} ms"
    )
    print("B. all pixels measured:")
    print(f"   direct Python (coefficient_table), best:       {full * 1e3:8.1f} ms")
    print(f"   in-process (JPype), median:                    {median(in_process['full']):8.1f} ms")
    print(f"   worker (plain ImageJ), median:                 {median(worker['full']):8.1f} ms")
    for name, times in (("worker", worker), ("in-process", in_process)):
        for kind, values in times.items():
            print(f"   {name} {kind} calls (ms): {', '.join(f'{t:.0f}' for t in values)}")


if __name__ == "__main__":
    main()
