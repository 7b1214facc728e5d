#!/usr/bin/env bash
# Fuzzes the REST surface against its own OpenAPI document with schemathesis: starts the debug
# binary on a free port with a temporary SQLite database, signs up one account to give the fuzzer a
# bearer token, and fails on any 5xx or any answer (status, content type, headers, body) that the
# document does not describe. Installs schemathesis from PyPI into a venv outside the repository on
# first use. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tantana-target}"
VENV="${TANTANA_SCHEMATHESIS_VENV:-$HOME/.cache/tantana-schemathesis}"
# Pinned: the CLI's flags changed between major versions.
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-30}"
# A hard ceiling for the fuzzing run, in seconds; a normal run on 2 cores takes far less.
TIME_LIMIT="${SCHEMATHESIS_TIME_LIMIT:-600}"

installed="$("$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}' || true)"
if [ "$installed" != "$SCHEMATHESIS_VERSION" ]; then
  echo "==> installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

echo "==> cargo build --bin tantana"
cargo build --quiet --bin tantana
BIN="$CARGO_TARGET_DIR/debug/tantana"

workdir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
# The document's own example values, so that the example phase signs in for real.
test_phone="+998901234567"
test_code="482913"
password="Tashkent-2024!"

# Limits high enough that the fuzzer reaches the handlers instead of hearing 429 throughout; the
# 429 answers stay documented and are still checked whenever one occurs.
env -i PATH="$PATH" HOME="$HOME" \
  BIND="127.0.0.1:$port" \
  DATABASE_URL="sqlite://$workdir/tantana.sqlite3?mode=rwc" \
  SECRET_KEY="schemathesis-secret-key-that-is-long-enough-for-hs256" \
  DEBUG=true \
  SMS_BACKEND=file SMS_OUTBOX="$workdir/outbox.jsonl" \
  OTP_TEST_NUMBERS="$test_phone=$test_code" \
  OTP_RESEND_COOLDOWN=0 OTP_MAX_PER_HOUR=1000000 \
  RATE_LIMIT_OTP_PER_IP_PER_HOUR=1000000 RATE_LIMIT_SMS_PER_HOUR=1000000 \
  RATE_LIMIT_AUTH_PER_IP_PER_MINUTE=1000000 RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE=1000000 \
  RATE_LIMIT_PASSWORD_PER_ACCOUNT_PER_HOUR=1000000 RATE_LIMIT_SMS_ACCOUNTS_PER_HOUR=1000000 \
  RATE_LIMIT_SMS_PER_PREFIX_PER_HOUR=1000000 \
  RATE_LIMIT_LOGIN_FAILURES=100 RATE_LIMIT_LOGIN_LOCK_SECS=1 \
  RUST_LOG=warn \
  "$BIN" >"$workdir/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "tantana exited before answering:" >&2
    cat "$workdir/server.log" >&2
    exit 1
  fi
  sleep 0.3
done
curl -fsS "$base/healthz" >/dev/null || { echo "tantana did not answer $base/healthz" >&2; exit 1; }

# One account, signed in by password: its token opens the bearer operations. A password login
# (not the registration's OTP token) makes set-password ask for the old password as well.
post() { curl -fsS -X POST "$base/api/v1/users/$1" -H 'content-type: application/json' -d "$2"; }
field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
session="$(post send-otp/ "{\"type\":\"auth\",\"phone_number\":\"$test_phone\"}" | field '["session"]')"
post verify-otp/ "{\"type\":\"auth\",\"phone_number\":\"$test_phone\",\"session\":\"$session\",\"otp_code\":\"$test_code\"}" >/dev/null
post register/ "{\"phone_number\":\"$test_phone\",\"password\":\"$password\",\"password2\":\"$password\",\"full_name\":\"Schemathesis\",\"session\":\"$session\"}" >/dev/null
access="$(post login/ "{\"phone_number\":\"$test_phone\",\"password\":\"$password\"}" | field '["tokens"]["access"]')"

echo "==> schemathesis $SCHEMATHESIS_VERSION against $base/api/v1/openapi.json"
status=0
# One worker: Python 3.11's `ast` is not thread-safe, and with two workers Hypothesis fails at
# random while describing its strategies ("AST constructor recursion depth mismatch").
# SCHEMATHESIS_EXTRA adds flags, e.g. "--report har --report-dir /tmp/st" (an absolute path) to
# see every exchange.
# shellcheck disable=SC2086
# From the scratch folder: schemathesis keeps a `.schemathesis/` cache in its working directory,
# which would otherwise land in the clone and replay earlier runs.
(cd "$workdir" && timeout --signal=INT "$TIME_LIMIT" "$VENV/bin/schemathesis" run "$base/api/v1/openapi.json" \
  --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --header "Authorization: Bearer $access" \
  --workers 1 \
  --seed 20261124 \
  --request-timeout 30 \
  --no-color \
  ${SCHEMATHESIS_EXTRA:-} \
  --warnings off) || status=$?

if grep -qi "panicked" "$workdir/server.log"; then
  echo "tantana panicked during the run:" >&2
  grep -i -A5 "panicked" "$workdir/server.log" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "schemathesis found problems (exit $status); server log tail:" >&2
  tail -n 40 "$workdir/server.log" >&2
fi
exit "$status"
