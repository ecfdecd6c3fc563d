# shellcheck shell=bash
# Sourced by the benchmark scripts (bench-offline.sh, bench-dataplane.sh,
# count-instructions.sh) after they set repo_root; not run on its own.
# Messages carry the calling script's name.

prog="${0##*/}"

die() { echo "$prog: $*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' (Debian package: $2; scripts/deps.sh installs it)"
}

# ensure_binary WHAT sets binary to $TUNNELSCOPE_BIN or bin/tunnelscope and
# runs `make build` when it is missing; WHAT ends the failure message
# ("make build failed; cannot WHAT").
ensure_binary() {
  binary="${TUNNELSCOPE_BIN:-$repo_root/bin/tunnelscope}"
  [[ -x "$binary" ]] && return 0
  need make make
  echo "$prog: $binary missing, running make build" >&2
  make -C "$repo_root" build >&2 || die "make build failed; cannot $1"
  [[ -x "$binary" ]] || die "make build succeeded but did not produce $binary"
}

# count_packets FILE prints how many packets FILE holds.
count_packets() {
  local n
  n="$(capinfos -T -r -M -c "$1" | cut -f2)"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "capinfos could not count packets in '$1'"
  echo "$n"
}
