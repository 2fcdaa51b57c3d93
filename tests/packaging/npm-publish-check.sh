#!/usr/bin/env bash
# `npm publish --dry-run` on each packed tarball: fails on any warning npm gives about the package
# (manifest fields it corrects or drops, files, bins...). The one warning a dry run always gives
# without registry credentials, that publishing needs a login, is not about the package.
# Usage: tests/packaging/npm-publish-check.sh <tarball>...
set -euo pipefail
for tarball in "$@"; do
  report="$(cd "$(dirname "$tarball")" && npm publish --dry-run "./$(basename "$tarball")" 2>&1)" || { echo "$report" >&2; exit 1; }
  warnings="$(grep '^npm warn' <<<"$report" | grep -v 'requires you to be logged in' || true)"
  if [ -n "$warnings" ]; then
    echo "$report" >&2
    echo "npm publish --dry-run warns about $(basename "$tarball")" >&2
    exit 1
  fi
  grep -E '^\+ |package size|total files' <<<"$report" | sed "s|^|$(basename "$tarball"): |"
done
