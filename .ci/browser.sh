#!/usr/bin/env bash
# Make sure Debian's Chromium is there for the browser tests. In CI (CI=true) it is
# installed with apt when missing; elsewhere we try as root and otherwise say why.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  echo "== installing Debian's chromium for the browser tests =="
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }) && exit 0
fi
if [ "${CI:-}" = true ]; then
  echo "chromium could not be installed; CI requires the browser tests." >&2
  exit 1
fi
echo "== chromium not installed: browser tests will be skipped (apt-get install chromium) =="
