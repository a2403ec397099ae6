#!/usr/bin/env bash
# Make sure the desktop client can run headless: Xvfb (virtual X display), xclip (the clipboard
# pyperclip uses) and Tk for the venv's Python. Idempotent; installs with apt-get as root (or sudo).
set -euo pipefail
PY="${PY:-.venv/bin/python}"
missing=()
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v xclip >/dev/null 2>&1 || missing+=(xclip)
# The venv's Python (pyenv 3.11) is built with Tk; a Debian Python needs python3-tk.
if [ -x "$PY" ] && ! "$PY" -c "import tkinter" >/dev/null 2>&1; then
  missing+=(python3-tk)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "Installing ${missing[*]} (apt-get)..."
if [ "$(id -u)" = "0" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" fonts-dejavu-core >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" fonts-dejavu-core >/dev/null
else
  echo "Missing ${missing[*]} and no root to install them: the desktop client cannot run headless" >&2
  exit 1
fi
