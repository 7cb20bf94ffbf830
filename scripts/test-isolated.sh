#!/usr/bin/env bash
# Install each workspace member ALONE (with its declared dependencies only) into a fresh
# virtual environment and run its own tests: catches undeclared imports of sibling packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
PYTHON="${PYTHON:-python3}"
work=$(mktemp -d /tmp/awsdb-isolated-XXXXXX)
trap 'rm -rf "$work"' EXIT

uv build --all-packages -o "$work/dist" --quiet
run_alone() {  # <dist name> <extras> <tests dir> [pytest args...]
    local dist=$1 extras=$2 tests=$3; shift 3
    local venv="$work/venv-$dist"
    uv venv -q -p "$PYTHON" "$venv"
    local wheel
    wheel=$(ls "$work"/dist/"${dist//-/_}"-*.whl)
    # Sibling workspace wheels are offered as a local index so declared deps resolve.
    VIRTUAL_ENV="$venv" uv pip install -q --find-links "$work/dist" \
        "${wheel}${extras}" pytest pytest-timeout hypothesis
    echo "-- $dist alone"
    (cd "$tests/.." && "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        --rootdir . -c /dev/null --import-mode=importlib "$tests" "$@")
}
run_alone awsdb-core "[pg,mysql,cli]" "$PWD/packages/core/tests"
run_alone awsdb-connector-e6data "[engine,awsdb,test]" "$PWD/packages/connector-e6data/tests"
run_alone awsdb-testing "" "$PWD/packages/testing/tests"
run_alone awsdb-plugin-example "[test]" "$PWD/examples/awsdb-plugin-example/tests"
run_alone awsdb-plugin-iam "[test]" "$PWD/packages/plugin-iam/tests"
run_alone awsdb-plugin-bluegreen "[test]" "$PWD/packages/plugin-bluegreen/tests"
run_alone awsdb-plugin-efm "[test]" "$PWD/packages/plugin-efm/tests"
run_alone awsdb-plugin-failover "[test]" "$PWD/packages/plugin-failover/tests"
