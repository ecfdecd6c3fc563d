#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for building, testing and
# benchmarking tunnelscope. Idempotent: a second run installs nothing.
set -euo pipefail

pkgs=(
  dpdk dpdk-dev libdpdk-dev pkg-config libpcap-dev # live dataplane (cgo binding, net_pcap)
  tshark                                          # independent decoder for tests
  libndpi-bin                                     # ndpiReader, the offline speed peer
  python3-sklearn                                 # reference model accuracy
  nfdump                                          # IPFIX collector for export tests
  prometheus                                      # promtool check metrics
  shellcheck                                      # lint for scripts/
  vagrant                                         # `vagrant validate` of the Vagrantfile in scripts/lint.sh
  lua5.4                                          # luac -p of scripts/pktgen/*.lua in scripts/lint.sh
  valgrind                                        # scripts/count-instructions.sh (cachegrind)
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
