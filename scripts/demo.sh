#!/usr/bin/env bash
# The demo: start a local 3-node PostgreSQL cluster that emulates Aurora, run a write
# workload, kill the writer and show what the client saw and how long recovery took.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec uv run awsdb demo "$@"
