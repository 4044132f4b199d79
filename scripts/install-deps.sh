#!/usr/bin/env bash
# Installs the Debian packages lite needs to build, run and test, when they are missing.
# Idempotent and quick when everything is present. With --test it also installs what only the
# tests and the bench use (LXD 5.0, the reference lite is compared with).
set -euo pipefail

pkgs=(
  lxc lxc-dev golang-gopkg-lxc-go-lxc.v2-dev pkg-config gcc make   # liblxc and go-lxc (cgo)
  libdqlite-dev libraft-dev libsqlite3-dev golang-github-canonical-go-dqlite-dev  # cluster state (dqlite, cgo)
  debootstrap xz-utils squashfs-tools zstd bzip2                  # image builds and imports
  uidmap iproute2 nftables dnsmasq-base openssh-client             # containers and networks
  lxcfs                                                            # /proc views of a container's limits
  tcpdump                                                          # lite lab capture (run on the host)
  ca-certificates
)
if [ "${1:-}" = --test ]; then
  pkgs+=(lxd lxd-client)                                          # LXD 5.0: interop tests, bench
  pkgs+=(python3-pylxd ansible)                                   # pylxd and Ansible drive lited in e2e tests
  pkgs+=(dpkg-dev util-linux)                                     # local apt repositories (apt tests), setpriv
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "Go is not installed: install Go 1.22 or newer (Debian: golang-go from bookworm-backports)" >&2
  exit 1
fi
