#!/usr/bin/env bash
# Make sure the browsers are available without downloading one at run time:
#   chromium-headless-shell (Debian) for headless runs, the default;
#   chromium (Debian) for headed runs and debugging (BISTAND_BROWSER=chromium).
# 1. nothing to do when both are present;
# 2. else install the missing Debian packages with apt-get when we are root (or have sudo);
# 3. else say what to install: no browser is ever downloaded (not even by Playwright).
set -euo pipefail
missing=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium fonts-dejavu-core)
fi
if [ ! -x /usr/lib/chromium/chromium-headless-shell ] && [ ! -x /usr/bin/chromium-headless-shell ]; then
  missing+=(chromium-headless-shell)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ]; then
  echo "Installing Debian ${missing[*]} (apt-get)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "No Debian chromium and no root: run 'apt-get install ${missing[*]}' as root" >&2
  exit 1
else
  echo "No chromium-headless-shell and no root: headless runs use the full chromium" >&2
fi
