#!/usr/bin/env bash
# Debian's chromium, which the browser test of `zoo serve`'s page drives through playwright
# (tests/jobs/test_serve_page.py). Called by `make setup`; does nothing when /usr/bin/chromium is there.
set -euo pipefail
BROWSER=/usr/bin/chromium
if [ -x "$BROWSER" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: $BROWSER is missing (the browser test of zoo serve's page needs it): run 'sudo apt-get install -y chromium' (Debian's package)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
test -x "$BROWSER" || { echo "setup: apt-get installed chromium but $BROWSER is not there" >&2; exit 1; }
