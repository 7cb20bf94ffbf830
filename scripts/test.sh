#!/usr/bin/env bash
# The project's test command: lint, type-check and run every test against real servers
# that the tests start themselves. Works on a fresh Debian machine (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
# gRPC (e6data tests) and forked database servers share the pytest process: no gRPC fork hooks
export GRPC_ENABLE_FORK_SUPPORT=false

echo "== ruff"
uv run ruff check .
uv run ruff format --check .
echo "== mypy --strict"
uv run mypy packages/*/src examples/*/src
echo "== reference docs up to date"
uv run awsdb docs --write docs --check
echo "== pytest"
uv run pytest packages examples tests -q "$@"
echo "== each package's own tests with only that package installed"
bash scripts/test-isolated.sh
