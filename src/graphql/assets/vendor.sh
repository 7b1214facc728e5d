#!/usr/bin/env bash
# Re-vendors GraphiQL and the React it runs on from the npm registry, at the pinned versions.
# The binary serves these files itself (include_bytes!), so GraphiQL works with no internet.
# Usage: src/graphql/assets/vendor.sh   (then review `git diff --stat` and commit)
set -euo pipefail

GRAPHIQL_VERSION=3.8.3 # the last line with a browser (UMD) bundle
REACT_VERSION=18.3.1   # the last React with UMD builds, which GraphiQL 3 expects as globals

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null
unpack() { mkdir "$1" && tar -xzf "$1-$2.tgz" -C "$1" --strip-components=1; }
unpack graphiql "$GRAPHIQL_VERSION"
unpack react "$REACT_VERSION"
unpack react-dom "$REACT_VERSION"

cp graphiql/graphiql.min.js graphiql/graphiql.min.css "$here/"
cp react/umd/react.production.min.js "$here/"
cp react-dom/umd/react-dom.production.min.js "$here/"
cp graphiql/LICENSE "$here/LICENSE.graphiql"
cp react/LICENSE "$here/LICENSE.react"
cp react-dom/LICENSE "$here/LICENSE.react-dom"

cd "$here"
sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js > SHA256SUMS
echo "vendored graphiql $GRAPHIQL_VERSION and react/react-dom $REACT_VERSION into $here"
