#!/usr/bin/env bash
# Shared set-up for scripts/test.sh and scripts/demo.sh on a fresh Debian machine:
# uv from PyPI when missing, system packages (PostgreSQL, MariaDB, nftables) when missing,
# and the workspace's virtual environment with every member installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."

export UV_PYTHON_DOWNLOADS=never
PYTHON="${PYTHON:-python3}"

if ! command -v uv >/dev/null 2>&1; then
    echo "bootstrap: installing uv from PyPI"
    "$PYTHON" -m pip install --quiet uv 2>/dev/null \
        || "$PYTHON" -m pip install --quiet --user uv 2>/dev/null \
        || "$PYTHON" -m pip install --quiet --break-system-packages uv
    export PATH="$HOME/.local/bin:$PATH"
fi

# PostgreSQL server binaries: the tests start their own servers from them.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [[ -z "${PGBIN:-}" ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing postgresql-15"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
    else
        echo "bootstrap: no PostgreSQL binaries; install postgresql-15 or set PGBIN" >&2
    fi
fi
bash scripts/install-system-deps.sh

uv sync --all-packages --all-extras -p "$PYTHON" --quiet
