#!/usr/bin/env bash
# Creates or updates .venv with the test dependencies and the Debian packages the ImageJ tests need
# (libij-java for ij.jar, xvfb for the GUI tests), checks style and types, then runs the whole test suite.
# Extra arguments are passed to pytest, e.g. scripts/test.sh -k kendall
set -euo pipefail
source "$(dirname "$0")/_env.sh"
cd "$ROOT"
ensure_debian_packages default-jdk-headless libij-java xvfb libcommons-math3-java
setup_venv test
echo "==> ruff"
"$VENV/bin/ruff" check src tests scripts
echo "==> mypy"
"$VENV/bin/mypy"
echo "==> pytest"
exec "$PY" -m pytest "$@"
