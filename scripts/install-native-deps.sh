#!/usr/bin/env bash
# Install the Debian packages that native mode and the config tests need:
#   prometheus              -> prometheus, promtool
#   prometheus-alertmanager -> prometheus-alertmanager, amtool
#   postgresql              -> initdb, pg_ctl, postgres (only when no server binaries are found:
#                              some images ship them outside the Debian package)
# With --bench, also the tools the benchmarks drive (make bench-deps):
#   wrk                     -> the HTTP load generator of bench-overhead and http_ingest.py
#   valgrind                -> callgrind, for bench-instructions
#
# Idempotent: installed packages are left alone and `apt-get update` runs only when
# something is missing. Without root it prints what is missing and exits 0, so a
# developer can run it anywhere to see what CI will install.
#
# The Debian packages start their services from maintainer scripts. Native mode runs
# its own Prometheus/Alertmanager on 9090/9093, so a packaged service left running
# would take those ports; the install therefore runs under a policy-rc.d that denies
# every service start (exit 101, see /usr/share/doc/init-system-helpers/README.policy-rc.d).
set -euo pipefail

PACKAGES=(prometheus prometheus-alertmanager)
if ! command -v initdb >/dev/null && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  PACKAGES+=(postgresql)
fi
case "${1:-}" in
  "") ;;
  --bench) PACKAGES+=(wrk valgrind) ;;
  *) echo "usage: install-native-deps.sh [--bench]" >&2; exit 2 ;;
esac
readonly PACKAGES
readonly POLICY=/usr/sbin/policy-rc.d

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-native-deps: all present: ${PACKAGES[*]}"
  exit 0
fi

if ((EUID != 0)); then
  echo "install-native-deps: missing Debian packages: ${missing[*]}"
  echo "install-native-deps: not root, installing nothing; run as root:"
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  exit 0
fi

# Keep a policy-rc.d that was already there (Docker images ship one) and put it back
# afterwards instead of deleting it.
backup=""
if [[ -e "$POLICY" ]]; then
  backup="$(mktemp)"
  cp -p "$POLICY" "$backup"
fi
restore_policy() {
  if [[ -n "$backup" ]]; then
    cp -p "$backup" "$POLICY"
    rm -f "$backup"
  else
    rm -f "$POLICY"
  fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# written by scripts/install-native-deps.sh: no service starts during the install\nexit 101\n' >"$POLICY"
chmod 755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg run instead of failing on its lock.
apt-get -o DPkg::Lock::Timeout=300 update
apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}"

# On a systemd host the packages also enable their units for the next boot, which
# would collide with native mode on 9090/9093 after a reboot: disable what we installed.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
  for pkg in "${missing[@]}"; do
    systemctl disable --now "$pkg.service" 2>/dev/null || true
  done
fi

for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || { echo "install-native-deps: $pkg failed to install" >&2; exit 1; }
done
echo "install-native-deps: installed: ${missing[*]}"
