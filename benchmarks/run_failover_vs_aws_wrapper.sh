#!/usr/bin/env bash
# Run benchmarks/failover.py with the published AWS Advanced Python Wrapper beside awsdb and
# plain psycopg: a throw-away environment holds awsdb (core, failover, testing) and
# aws-advanced-python-wrapper 3.1.0 (a test-only peer, never a dependency of awsdb), so the
# three clients face the same SIGKILL failovers of one emulated cluster, interleaved.
#
# The wrapper resolves names only through the system resolver, so the benchmark runs in a
# private mount namespace (`unshare --mount --propagation private`) where a generated hosts
# file is bind-mounted over /etc/hosts; the system file is never written. failover.py puts
# the Aurora-shaped names there (awsdb.cluster-c0ffee..., awsdb.cluster-ro-c0ffee...,
# instance-N.c0ffee.us-east-1.rds.amazonaws.com on 127.0.0.1N, one port) and rewrites the
# file in place when the writer endpoint follows a failover; glibc re-reads it per lookup.
# Wrapper settings: plugins=failover_v2, wrapper_dialect=aurora-pg, failover_timeout_sec=60
# (as awsdb), topology_refresh_ms / cluster_topology_high_refresh_rate_ms at their defaults
# (30000 / 100), cluster_instance_host_pattern derived from the cluster endpoint.
#
# Needs root (mount namespace). Arguments go to failover.py; by default 20 failovers per
# client, results in benchmarks/results/failover-vs-aws-wrapper.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
    echo "run as root: the hosts file is bind-mounted in a private mount namespace" >&2
    exit 2
fi
export UV_PYTHON_DOWNLOADS=never
work=$(mktemp -d /tmp/awsdb-failover-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
venv="$work/venv"
uv venv -q -p python3 "$venv"
VIRTUAL_ENV="$venv" uv pip install -q -e "packages/core[pg]" -e packages/plugin-failover \
    -e packages/testing "aws-advanced-python-wrapper==3.1.0" "psycopg[binary]"
hosts="$work/hosts"
cp /etc/hosts "$hosts"
if [[ $# -eq 0 ]]; then
    set -- --failovers 20 --out benchmarks/results/failover-vs-aws-wrapper.json
fi
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private -- bash -c '
    set -euo pipefail
    hosts=$1; python=$2; shift 2
    mount --bind "$hosts" /etc/hosts
    exec "$python" benchmarks/failover.py --hosts-file "$hosts" "$@"
' bash "$hosts" "$venv/bin/python" "$@"
