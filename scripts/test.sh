#!/usr/bin/env bash
# Creates or updates .venv with the test dependencies and the Debian packages the ImageJ tests need
# (libij-java for ij.jar, xvfb, xdotool and imagemagick for the GUI tests), checks style and types, then
# runs the test suite: headless first, then the GUI tests (pytest -m gui) under xvfb-run.
# Extra arguments are passed to pytest, e.g. scripts/test.sh -k kendall. A first argument --quick
# leaves out the tests marked slow (a fast local loop; CI runs everything). The wall time is printed
# at the end, also when a step fails.
set -euo pipefail
started=$SECONDS
finish() {
    local status=$?
    if ((status == 0)); then
        echo "==> all checks passed in $((SECONDS - started)) s"
    else
        echo "==> FAILED (exit status $status) after $((SECONDS - started)) s" >&2
    fi
}
trap finish EXIT
quick=()
if [[ ${1:-} == --quick ]]; then
    quick=(and not slow)
    shift
fi
source "$(dirname "$0")/_env.sh"
cd "$ROOT"
ensure_debian_packages default-jdk-headless libij-java xvfb libcommons-math3-java xdotool imagemagick
setup_venv test
echo "==> ruff"
"$VENV/bin/ruff" check src tests scripts
"$VENV/bin/ruff" format --check src tests scripts
echo "==> mypy"
"$VENV/bin/mypy"
echo "==> pytest (headless)"
env -u DISPLAY -u WAYLAND_DISPLAY "$PY" -m pytest -m "not gui ${quick[*]}" "$@"
# GUI tests (ImageJ dialogs, Macro Recorder, menu, screenshots) need a display: a virtual one.
# Exit status 5 means no GUI test was selected by the extra arguments.
echo "==> pytest (gui, under xvfb-run)"
status=0
# Without extra arguments the ImageJ command tests run here again, now reading their parameters
# through ImageJ's GenericDialog (with a display) instead of the headless parser.
gui_selection=(-m "gui ${quick[*]}")
(($#)) || gui_selection=(-m "(gui or imagej_command) ${quick[*]}")
xvfb-run -a -s "-screen 0 1280x1024x24" "$PY" -m pytest -p no:cacheprovider "${gui_selection[@]}" "$@" \
    || status=$?
if [[ $status -ne 0 && $status -ne 5 ]]; then
    exit "$status"
fi
