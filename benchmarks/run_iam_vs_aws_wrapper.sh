#!/usr/bin/env bash
# Run benchmarks/iam_connect.py in a throw-away environment that also holds the published
# AWS Advanced Python Wrapper (a test-only peer, never a dependency of awsdb), so that the
# raw driver, awsdb's iam plugin and the AWS wrapper's iam plugin run in one process,
# interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
venv=$(mktemp -d /tmp/awsdb-bench-XXXXXX)
trap 'rm -rf "$venv"' EXIT
uv venv -q -p python3 "$venv"
VIRTUAL_ENV="$venv" uv pip install -q -e "packages/core[pg,mysql]" -e packages/plugin-iam \
    -e packages/testing "aws-advanced-python-wrapper==3.1.0" "psycopg[binary]" \
    mysql-connector-python pytest
"$venv/bin/python" benchmarks/iam_connect.py "$@"
