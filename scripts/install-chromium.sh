#!/bin/sh
# Install Debian's chromium for the browser tests (Playwright drives it through
# executable_path=/usr/bin/chromium). We use the distribution package rather than
# `playwright install` because the latter downloads browser builds from a CDN, which
# offline and locked-down CI machines cannot reach. Idempotent: does nothing when present.
set -eu

if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

# sudo only when we are not already root (containers usually are; dev laptops are not).
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core

/usr/bin/chromium --version
