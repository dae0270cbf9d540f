#!/usr/bin/env bash
# Checks that vendor/burn-flex is the crates.io package burn-flex 0.22.1 plus vendor/burn-flex.diff and
# the two licence files, against crates.io itself: downloads the package, checks its sha256, compares its
# files with vendor/burn-flex-0.22.1.sha256 (the manifest tests/vendored.rs checks offline), applies the
# diff and compares the trees. `--write` rewrites the manifest from the package instead of comparing.
set -euo pipefail
cd "$(dirname "$0")/.."
CRATE_SHA256=7e05d08ef48d738fadf13f8689b634f8b396d5a8cbb27d0a87f61e163d241846
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -sSfL -o "$work/burn-flex.crate" https://static.crates.io/crates/burn-flex/burn-flex-0.22.1.crate
echo "$CRATE_SHA256  $work/burn-flex.crate" | sha256sum -c --quiet
tar xzf "$work/burn-flex.crate" -C "$work"
published="$work/burn-flex-0.22.1"
manifest() {
  echo "# sha256 of every file of the crates.io package burn-flex 0.22.1"
  echo "# (burn-flex-0.22.1.crate, sha256 $CRATE_SHA256),"
  echo "# written by scripts/verify-vendored.sh --write; tests/vendored.rs checks vendor/burn-flex against it."
  (cd "$published" && find . -type f | sed 's#^\./##' | LC_ALL=C sort | xargs sha256sum)
}
if [ "${1:-}" = "--write" ]; then
  manifest > vendor/burn-flex-0.22.1.sha256
  echo "wrote vendor/burn-flex-0.22.1.sha256"
  exit 0
fi
diff <(manifest) vendor/burn-flex-0.22.1.sha256
(cd "$published" && patch -s -p1 < "$OLDPWD/vendor/burn-flex.diff")
diff -r -x LICENSE-MIT -x LICENSE-APACHE "$published" vendor/burn-flex
echo "vendor/burn-flex = crates.io burn-flex 0.22.1 + vendor/burn-flex.diff + licence files"
