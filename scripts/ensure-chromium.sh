#!/usr/bin/env bash
# npm test's pretest: test/ops-page.test.ts drives Debian's Chromium through playwright-core, which
# brings no browser. Installs the Debian package when it is missing and this user may (root), else
# says what to install. Nothing is downloaded beyond Debian's own packages.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "npm test needs Debian's Chromium for test/ops-page.test.ts: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
echo "pretest: installing Debian's chromium (once)"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
