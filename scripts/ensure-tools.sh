#!/usr/bin/env bash
# Installs the system tools that the test suite shells out to; silent when they are already there.
set -euo pipefail

command -v docker-compose >/dev/null 2>&1 && exit 0

echo "ensure-tools: installing docker-compose (tests/test_compose.py validates docker-compose.yml)" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# A new machine may carry stale or empty package lists: refresh them only when the first try fails.
if ! $sudo apt-get install -y -qq docker-compose >/dev/null 2>&1; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq docker-compose >/dev/null
fi
command -v docker-compose >/dev/null
