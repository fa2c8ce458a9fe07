#!/bin/sh
# One-shot job (temporalio/admin-tools): creates Temporal's two PostgreSQL databases and brings
# both schemas up to the version this admin-tools image ships. Idempotent: it runs on every
# `docker compose up`, and after a version bump it applies only the new migrations. The server
# starts only when this job has exited 0 (depends_on: service_completed_successfully).
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
  # The password travels in SQL_PASSWORD (read by temporal-sql-tool), never on the command line.
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

create_database() {
  if output=$(sql_tool --db "$1" create 2>&1); then
    echo "created database $1"
    return 0
  fi
  case "$output" in
    *"already exists"*) echo "database $1 already exists" ;;
    *)
      echo "$output" >&2
      return 1
      ;;
  esac
}

for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  schema=${pair#*:}
  create_database "$db"
  # setup-schema -v 0.0 only creates the version table (a no-op when it exists);
  # update-schema then applies every versioned migration not yet recorded.
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done

echo 'Temporal schema is up to date'
