#!/usr/bin/env bash
# Vendors Redoc's standalone bundle into the sandbox's console (go:embed'd,
# so the console works offline and needs no build step).
#
#   bash sandbox/console/update.sh            re-fetch the pinned version, check its sha256
#   bash sandbox/console/update.sh 2.5.5      move the pin: fetch, record version and sha256
#
# It uses npm pack (the npm registry through the ordinary client); nothing is
# installed. Review the new bundle's diff size and run `make console-test`.
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
	want=$(cut -d' ' -f1 vendor/redoc.standalone.js.sha256)
	if [[ "$sum" != "$want" ]]; then
		echo "update.sh: redoc@$version from the registry has sha256 $sum; the pin says $want" >&2
		exit 1
	fi
fi
cp "$scratch/package/bundles/redoc.standalone.js" vendor/
cat "$scratch/package/LICENSE" "$scratch/package/bundles/redoc.standalone.js.LICENSE.txt" >vendor/redoc.LICENSE.txt
echo "$version" >vendor/REDOC_VERSION
echo "$sum  redoc.standalone.js" >vendor/redoc.standalone.js.sha256
echo "update.sh: redoc $version, sha256 $sum"
