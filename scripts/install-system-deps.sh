#!/usr/bin/env bash
# Install the system packages the integration tests need when they are missing:
#   - mariadb-server, mariadb-client  (the MariaDB cluster harness; nothing is started)
#   - nftables                        (the root-only network-namespace fault mode)
# Idempotent: when everything is present it only checks and exits (well under a second).
# As a non-root user it installs nothing and prints the command to run instead.
#
# Usage: scripts/install-system-deps.sh [--check]
#   --check   only report what is missing (exit 1 if anything is)
set -euo pipefail

check_only=0
if [[ "${1:-}" == "--check" ]]; then
    check_only=1
fi

missing=()

have_cmd() {
    command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]] || [[ -x "/sbin/$1" ]]
}

if ! have_cmd mariadbd || ! have_cmd mariadb-install-db; then
    missing+=(mariadb-server)
fi
if ! have_cmd mariadb; then
    missing+=(mariadb-client)
fi
if ! have_cmd nft; then
    missing+=(nftables)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system deps: all present (mariadb-server, mariadb-client, nftables)"
    exit 0
fi

echo "system deps: missing ${missing[*]}"
if [[ $check_only -eq 1 ]]; then
    exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "not root: install them with" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "(the MariaDB tests skip without mariadbd; the netns tests skip without root or nft)" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install ${missing[*]} with the system's package manager" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system deps: installed ${missing[*]}"
