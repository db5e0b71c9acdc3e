#!/usr/bin/env bash
# Installs Debian's Chromium and the Noto CJK fonts used by the end-to-end tests.
# Playwright's own browser download is impossible offline; the tests launch /usr/bin/chromium.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
/usr/bin/chromium --version
