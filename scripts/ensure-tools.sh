#!/usr/bin/env bash
# Installs the system tools that the test suite shells out to; silent when they are already there.
#   docker-compose   tests/test_compose.py validates docker-compose.yml
#   prometheus       its promtool checks and unit-tests deploy/prometheus (tests/test_prometheus_rules.py)
#   chromium         the browser tests (tests/browser/) and `make screenshots` drive Debian's Chromium
#   fonts-noto-cjk   so that the pages' Chinese renders in that browser (axe checks contrast on real glyphs)
set -euo pipefail

missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ensure-tools: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# A new machine may carry stale or empty package lists: refresh them only when the first try fails.
if ! $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v docker-compose >/dev/null
command -v promtool >/dev/null
[ -x /usr/bin/chromium ]
