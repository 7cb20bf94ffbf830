#!/usr/bin/env bash
# Run benchmarks/core_overhead.py in a throw-away environment that also holds the published
# AWS Advanced Python Wrapper (a test-only peer, never a dependency of awsdb), so that raw
# driver, awsdb and the AWS wrapper are measured in one process, interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
venv=$(mktemp -d /tmp/awsdb-bench-XXXXXX)
trap 'rm -rf "$venv"' EXIT
uv venv -q -p python3 "$venv"
VIRTUAL_ENV="$venv" uv pip install -q -e "packages/core[pg,mysql]" \
    "aws-advanced-python-wrapper==3.1.0" "psycopg[binary]" mysql-connector-python
"$venv/bin/python" benchmarks/core_overhead.py "$@"
