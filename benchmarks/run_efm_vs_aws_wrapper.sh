#!/usr/bin/env bash
# Run benchmarks/efm.py with the published AWS Advanced Python Wrapper beside awsdb: a
# throw-away environment holds awsdb (core, efm, testing) and aws-advanced-python-wrapper
# 3.1.0 (a test-only peer, never a dependency of awsdb), so that awsdb's efm, the wrapper's
# host_monitoring_v2 and the plain driver face the same faults in one process.
# Needs root (network namespaces, like benchmarks/efm.py). Arguments go to efm.py; by default
# PostgreSQL detection only, results in benchmarks/results/efm-vs-aws-wrapper.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
venv=$(mktemp -d /tmp/awsdb-efm-bench-XXXXXX)
trap 'rm -rf "$venv"' EXIT
uv venv -q -p python3 "$venv"
VIRTUAL_ENV="$venv" uv pip install -q -e "packages/core[pg,mysql]" -e packages/plugin-efm \
    -e packages/testing "aws-advanced-python-wrapper==3.1.0" "psycopg[binary]" \
    mysql-connector-python
if [[ $# -eq 0 ]]; then
    set -- --only pg --skip-overhead --reps 3 --slow-reps 2 \
        --out benchmarks/results/efm-vs-aws-wrapper.json
fi
"$venv/bin/python" benchmarks/efm.py "$@"
