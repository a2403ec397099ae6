#!/usr/bin/env bash
# The separate-hosts test (tests/test_queue_hosts.py) builds network namespaces with `ip` (Debian's
# iproute2), as root. Idempotent; installs with apt-get when missing.
set -euo pipefail
command -v ip >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != "0" ]; then
  echo "iproute2 is missing and this is not root: apt-get install iproute2" >&2
  exit 0  # the hosts test then fails and says why
fi
echo "Installing iproute2 (apt-get)..."
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
