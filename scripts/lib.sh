# Shared by scripts/run and scripts/test: a virtual environment with the pinned dependencies.
# Re-installs only when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

ensure_venv() {
  local python_bin="${PYTHON:-python3}"
  if [ ! -x "$PY" ]; then
    echo "==> creating virtual environment in .venv ($($python_bin --version))"
    "$python_bin" -m venv "$VENV"
  fi
  local stamp="$VENV/.tongban-installed" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing pinned dependencies (first run takes a minute or two)"
    mkdir -p "$ROOT/var"
    if ! { "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
           "$PY" -m pip install --quiet --disable-pip-version-check -e ".[dev]"; } >"$ROOT/var/pip-install.log" 2>&1; then
      tail -n 40 "$ROOT/var/pip-install.log"
      echo "installing the dependencies failed; the full log is var/pip-install.log" >&2
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
}

compile_translations() {
  "$PY" manage.py compilemessages --ignore=.venv --ignore=var -v 0
}
