#!/bin/sh
# Nightly backup of the stack's three databases (docs/operations.md, "Backups"): Temporal's
# temporal and temporal_visibility, and the record index tunnus. Run it from the directory that
# holds docker-compose.yml, e.g. from cron:
#
#   15 1 * * *  cd /srv/tunnus && sh deploy/backup.sh /srv/backups/tunnus
#
# Each run writes <dir>/<UTC stamp>/<database>.dump (pg_dump custom format, for pg_restore), all
# three in one go, and fails as a whole if any dump fails. It connects as the cluster's superuser
# over the container's local socket: no password on a command line. The dumps hold personal data:
# put <dir> on encrypted storage and expire old runs as the record of processing says.
set -eu

target="${1:?usage: sh deploy/backup.sh <backup directory>}"
user="${POSTGRES_USER:-temporal}"
stamp=$(date -u +%Y%m%dT%H%MZ)
dir="$target/$stamp"
umask 077
mkdir -p "$dir"

# The record index keeps its compose name (RECORD_INDEX_DB, default tunnus).
for db in temporal temporal_visibility "${RECORD_INDEX_DB:-tunnus}"; do
  # -T: no terminal, so the binary archive reaches the file unchanged. -Fc: compressed, for pg_restore.
  if ! docker compose exec -T postgresql pg_dump -U "$user" -Fc -d "$db" >"$dir/$db.dump.partial"; then
    echo "backup failed: pg_dump of $db" >&2
    exit 1
  fi
  mv "$dir/$db.dump.partial" "$dir/$db.dump"
done

echo "backup written: $dir"
