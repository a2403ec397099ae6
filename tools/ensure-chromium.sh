#!/usr/bin/env bash
# Make sure a Chromium is available without downloading a browser at run time.
# 1. /usr/bin/chromium (Debian package) when present;
# 2. else install it with apt-get when we are root (or have sudo);
# 3. else fall back to Playwright's own Chromium where the machine can download it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ]; then
  echo "Installing Debian chromium (apt-get)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
else
  echo "No system chromium and no root: trying 'playwright install chromium'" >&2
  .venv/bin/python -m playwright install chromium
fi
