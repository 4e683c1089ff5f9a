#!/usr/bin/env bash
# Vendors Redoc's standalone bundle into the sandbox's console (go:embed'd,
# so the console works offline and needs no build step).
#
#   bash sandbox/console/update.sh            re-fetch the pinned version, check its sha256
#   bash sandbox/console/update.sh 2.5.5      move the pin: fetch, record version and sha256
#
# It uses npm pack (the npm registry through the ordinary client); nothing is
# installed. One patch is applied: the sidebar's "API docs by Redocly" logo
# is loaded from Redocly's CDN at every page view, which an offline console
# cannot reach (and the page's Content-Security-Policy refuses, logging an
# error); it becomes an empty data: URL, which Redoc's own onError hides.
# vendor/redoc.standalone.js.sha256 records the registry's file, then the
# patched one. Review the diff and run `make console-test`.
set -euo pipefail
cd "$(dirname "$0")"
pinned=$(cat vendor/REDOC_VERSION)
version=${1:-$pinned}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && npm pack --silent "redoc@$version" >/dev/null)
tar -xzf "$scratch/redoc-$version.tgz" -C "$scratch" package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt package/LICENSE
sum=$(sha256sum "$scratch/package/bundles/redoc.standalone.js" | cut -d' ' -f1)
if [[ "$version" == "$pinned" ]]; then
	want=$(head -1 vendor/redoc.standalone.js.sha256 | cut -d' ' -f1)
	if [[ "$sum" != "$want" ]]; then
		echo "update.sh: redoc@$version from the registry has sha256 $sum; the pin says $want" >&2
		exit 1
	fi
fi
cdn='https://cdn.redoc.ly/redoc/logo-mini.svg'
grep -q "$cdn" "$scratch/package/bundles/redoc.standalone.js" || { echo "update.sh: the logo patch no longer applies; check the bundle for new external URLs" >&2; exit 1; }
sed "s#$cdn#data:,#" "$scratch/package/bundles/redoc.standalone.js" >vendor/redoc.standalone.js
if grep -q 'cdn\.redoc\.ly' vendor/redoc.standalone.js; then
	echo "update.sh: the bundle still names cdn.redoc.ly after the patch" >&2
	exit 1
fi
patched=$(sha256sum vendor/redoc.standalone.js | cut -d' ' -f1)
cat "$scratch/package/LICENSE" "$scratch/package/bundles/redoc.standalone.js.LICENSE.txt" >vendor/redoc.LICENSE.txt
echo "$version" >vendor/REDOC_VERSION
printf '%s  redoc.standalone.js (registry)\n%s  redoc.standalone.js\n' "$sum" "$patched" >vendor/redoc.standalone.js.sha256
echo "update.sh: redoc $version, sha256 $sum from the registry, $patched patched"
