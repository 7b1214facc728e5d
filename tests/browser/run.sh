#!/usr/bin/env bash
# Browser test of GraphiQL: headless Chromium opens GET /graphql on a freshly started binary,
# runs `checkUser` and fails if the page loads anything from a host other than this machine.
# Installs what it needs when missing: Debian's chromium, and playwright-core into a cache
# outside the repository (nothing is downloaded again on a warm run). Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tantana-target}"
BROWSER_CACHE="${TANTANA_BROWSER_CACHE:-$HOME/.cache/tantana-browser}"
PLAYWRIGHT_VERSION=1.64.1

if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "==> installing node and npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

installed="$(node -p "require('$BROWSER_CACHE/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$PLAYWRIGHT_VERSION" ]; then
  echo "==> installing playwright-core $PLAYWRIGHT_VERSION into $BROWSER_CACHE"
  mkdir -p "$BROWSER_CACHE"
  npm install --prefix "$BROWSER_CACHE" --no-audit --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION"
fi

if [ -z "${TANTANA_BIN:-}" ]; then
  echo "==> cargo build --bin tantana"
  cargo build --quiet --bin tantana
  TANTANA_BIN="$CARGO_TARGET_DIR/debug/tantana"
fi

TANTANA_BIN="$TANTANA_BIN" TANTANA_BROWSER_CACHE="$BROWSER_CACHE" node tests/browser/graphiql.test.cjs
