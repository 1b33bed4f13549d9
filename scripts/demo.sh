#!/usr/bin/env bash
# Run Ballast on one machine: SQLite, a filesystem broker, a real Celery worker, gunicorn.
set -euo pipefail
# Everything the demo writes (the secret key, the logins, the database, the logs) is its owner's
# alone: files 0600, folders 0700.
umask 077
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${BALLAST_PORT:-8000}"
export BALLAST_VAR_DIR="${BALLAST_VAR_DIR:-$PWD/var}"
export BALLAST_DEMO_FEED=true  # the sample traces continue as live metrics (apps/control/demo.py)
VAR="$BALLAST_VAR_DIR"
mkdir -p "$VAR"
if [ ! -f "$VAR/demo.env" ]; then
  echo "BALLAST_SECRET_KEY=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(50))')" > "$VAR/demo.env"
  chmod 600 "$VAR/demo.env"
fi
if ! grep -q '^BALLAST_METRICS_TOKEN=' "$VAR/demo.env"; then
  echo "BALLAST_METRICS_TOKEN=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(32))')" >> "$VAR/demo.env"
fi
chmod 600 "$VAR/demo.env" "$VAR/demo-seed.log" "$VAR/demo-logins.txt" 2>/dev/null || true
set -a; . "$VAR/demo.env"; set +a

$BIN/python manage.py migrate --noinput -v0
# Static files under hashed names with .br/.gz beside them, which WhiteNoise caches for a year.
$BIN/python manage.py collectstatic --noinput -v0
# The seed log says where the logins are; the passwords and the CI token go only to the 0600
# $VAR/demo-logins.txt. /metrics gets a token of its own (kept in demo.env, printed below).
$BIN/python manage.py seed_demo > "$VAR/demo-seed.log"

# -B: the worker also runs Celery beat (plan expiry, scheduled plans, webhook retries, the
# live controller's steps and the demo's metrics feed).
# One worker takes every queue here (production gives actuation and webhooks their own).
$BIN/celery -A controlplane worker -B -Q cpu,gpu,control,actuation,webhooks --concurrency=2 -l INFO > "$VAR/worker.log" 2>&1 &
WORKER=$!
# Stop the worker warmly (it finishes its task), but not forever: after 20 s a cold shutdown,
# then a kill. Tasks are acknowledged late and the demo's broker keeps a taken task until it is
# acknowledged (controlplane/broker.py), so an interrupted one runs again when the demo starts next.
running() { ps -o stat= -p "$WORKER" 2>/dev/null | grep -qv Z; }
stop_worker() {
  kill -TERM "$WORKER" 2>/dev/null || return 0
  for _ in $(seq 20); do
    running || { wait "$WORKER" 2>/dev/null; return 0; }
    sleep 1
  done
  kill -QUIT "$WORKER" 2>/dev/null
  sleep 3
  kill -KILL "$WORKER" 2>/dev/null
  wait "$WORKER" 2>/dev/null
  return 0
}
trap stop_worker EXIT INT TERM

cat <<MSG

Ballast is running at http://127.0.0.1:$PORT/   (API docs: /api/docs/, admin: /admin/)
A worker (pid $WORKER, log $VAR/worker.log) is importing the sample traces.
Demo logins (also in $VAR/demo-logins.txt, readable only by you; the CI token expires in
${BALLAST_TOKEN_TTL_DAYS:-30} days):
$(grep -E '^(login|token)' "$VAR/demo-logins.txt")
Prometheus metrics (the token is BALLAST_METRICS_TOKEN in $VAR/demo.env):
  curl -H "Authorization: Bearer $BALLAST_METRICS_TOKEN" http://127.0.0.1:$PORT/metrics

Stop with Ctrl-C.
MSG
$BIN/gunicorn controlplane.wsgi -b "127.0.0.1:$PORT" -w 2 --access-logfile - --error-logfile -
