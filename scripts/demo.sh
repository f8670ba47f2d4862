#!/usr/bin/env bash
# Creates .venv, installs colocalize with its sample data, runs the main job on real images
# (coefficients of all channel pairs and triples of the neuron-4Ch sample) and writes tables and
# figures to results/ (replacing those of an earlier run).
set -euo pipefail
source "$(dirname "$0")/_env.sh"
cd "$ROOT"
setup_venv all
# results/ belongs to this script: each run replaces the previous one
exec "$VENV/bin/colocalize" demo --out "$ROOT/results" --overwrite "$@"
