#!/usr/bin/env bash
# Install the system packages the hub needs (deploy/debian-packages.txt) when they are absent.
# Needs root only when something is missing; prints what it would install otherwise.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=()
while IFS='|' read -r package probe; do
  package=$(echo "$package" | xargs)
  [ -z "$package" ] || [[ "$package" == \#* ]] && continue
  bash -c "$probe" >/dev/null 2>&1 || missing+=("$package")
done < "$here/debian-packages.txt"
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "error: missing system packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
