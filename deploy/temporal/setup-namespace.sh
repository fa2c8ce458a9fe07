#!/bin/sh
# One-shot job (temporalio/admin-tools), run once the server is up: creates the namespace Tunnus
# uses and registers the custom search attributes its workflows set. Idempotent. The worker
# starts only when this job has exited 0 (depends_on: service_completed_successfully), so a
# workflow never upserts an attribute the namespace does not know.
#
# TUNNUS_SEARCH_ATTRIBUTES is "Name=Type ..." and must match searchAttributeDefinitions in
# src/workflows/messages.ts (test/unit/compose.test.ts checks that it does).
set -eu

: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${TUNNUS_SEARCH_ATTRIBUTES:?}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-30d}"

retry() {
  # retry <what> <command...>: 30 attempts, 2 s apart.
  what=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge 30 ]; then
      echo "gave up: $what" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep 2
  done
}

# The server's own healthcheck only probes the port; wait here until the cluster answers.
retry 'Temporal cluster health' temporal operator cluster health --address "$TEMPORAL_ADDRESS"

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
fi

has_attribute() {
  temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" |
    awk '{ print $1 }' | grep -qx "$1"
}

ensure_attribute() {
  # A namespace created a moment ago can take a few seconds to reach every frontend: retry.
  has_attribute "$1" ||
    temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" \
      --name "$1" --type "$2" ||
    has_attribute "$1"
}

for definition in $TUNNUS_SEARCH_ATTRIBUTES; do
  name=${definition%%=*}
  type=${definition#*=}
  retry "search attribute $name" ensure_attribute "$name" "$type"
  echo "search attribute $name ($type) registered"
done
