#!/usr/bin/env bash
# make demo: start lited (unless one already answers), launch web1 from debian/12 and show it.
# "make demo-stop" deletes web1 (and db1), stops the demo daemon and takes down what its
# networks left running (dnsmasq, bridges, lite's nftables tables); a later "make demo" rebuilds them.
set -euo pipefail
cd "$(dirname "$0")/.."
LITE_DIR=${LITE_DIR:-/var/lib/lite}
export LITE_DIR
lite=./bin/lite
mkdir -p "$LITE_DIR"

if [ "${1:-}" = stop ]; then
  $lite delete --force web1 db1 2>/dev/null || true
  if [ -f "$LITE_DIR/lited.pid" ]; then
    pid=$(cat "$LITE_DIR/lited.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$LITE_DIR/lited.pid"
  fi
  for d in "$LITE_DIR"/networks/*/; do
    [ -d "$d" ] || continue
    [ -f "$d/dnsmasq.pid" ] && kill "$(cat "$d/dnsmasq.pid")" 2>/dev/null || true
    ip link del "$(basename "$d")" 2>/dev/null || true
  done
  if [ "$LITE_DIR" = /var/lib/lite ]; then for family in inet bridge; do nft delete table "$family" lite 2>/dev/null || true; done; fi
  echo "demo stopped"
  exit 0
fi

if ! $lite version >/dev/null 2>&1 || ! $lite info >/dev/null 2>&1; then
  echo "Starting lited (state in $LITE_DIR, log in $LITE_DIR/lited.log)"
  # On this machine containers only talk to the host and each other: no NAT on the default
  # network (export LITE_DEFAULT_NAT=true for a machine where they may reach out).
  LITE_DEFAULT_NAT=${LITE_DEFAULT_NAT:-false} setsid ./bin/lited >>"$LITE_DIR/lited.log" 2>&1 < /dev/null &
  echo $! > "$LITE_DIR/lited.pid"
  for _ in $(seq 1 100); do [ -S "$LITE_DIR/unix.socket" ] && $lite info >/dev/null 2>&1 && break; sleep 0.1; done
fi

if ! $lite list -c n --format csv | grep -qx web1; then
  echo "Launching web1 from debian/12 (the first launch builds the image with debootstrap: a minute or two)"
  $lite launch debian/12 web1
elif ! $lite list -c ns --format csv | grep -qx 'web1,RUNNING'; then
  $lite start web1
fi
$lite exec web1 -- systemctl is-system-running --wait || true
for _ in $(seq 1 100); do [ -n "$($lite list -c 4 --format csv web1)" ] && break; sleep 0.1; done
$lite list
$lite network list
echo
echo "Try: ./bin/lite exec web1 -- bash     (stop the demo with: make demo-stop)"
echo "     ./bin/lite launch debian/12 db1 && ./bin/lite exec web1 -- ping -c1 db1.lite"
