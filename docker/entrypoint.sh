#!/bin/sh
# Entrypoint of both images: optional migrations for the web process, then the given command.
set -eu

migrate_on_start="${BALLAST_MIGRATE_ON_START:-false}"
case "$migrate_on_start" in
  true | false) ;;
  *)
    echo "BALLAST_MIGRATE_ON_START must be 'true' or 'false', got '$migrate_on_start'" >&2
    exit 2
    ;;
esac

# Only the web process migrates (compose, one replica). Kubernetes runs the migrate Job instead,
# so several web replicas never race on the same migration.
if [ "$migrate_on_start" = "true" ] && [ "${1:-}" = "gunicorn" ]; then
  python manage.py migrate --noinput
fi

# prometheus_client's multiprocess mode (several gunicorn workers) wants an empty folder per start.
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

exec "$@"
