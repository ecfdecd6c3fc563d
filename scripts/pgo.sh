#!/usr/bin/env bash
# Refreshes cmd/tunnelscope/default.pgo, the CPU profile the Go compiler
# optimises tunnelscope with (profile-guided optimisation: `go build` picks
# the file up by itself). The profile is of the workloads the benchmarks
# measure, so the hot paths it names are the ones that matter.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/pgo.sh [--seconds N]

Builds tunnelscope without a profile, then records CPU profiles
(TUNNELSCOPE_CPUPROFILE) of:
  - classify with the shipped model over the offline bench capture
    (.cache/bench-offline-1000000.pcap, read 20 times), with GOMAXPROCS=1
    as scripts/bench-offline.sh runs it;
  - run with the shipped model on net_pcap infinite_rx over the dataplane
    bench capture (.cache/bench-dataplane-32768-1518.pcap), 1 worker and 2
    workers with software dispatch, N seconds each (default 8), when DPDK
    is installed;
and merges them into cmd/tunnelscope/default.pgo. Rebuild afterwards
(`make build`) and compare with scripts/count-instructions.sh or the
benchmark scripts.

options:
  --seconds N   length of each live run (default 8)
  -h, --help    this help
EOF
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/bench.sh
source "$repo_root/scripts/lib/bench.sh"
seconds=8
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --seconds) (($# >= 2)) || die "--seconds needs a number"; seconds="$2"; shift 2 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer, got '$seconds'"

need go golang
need capinfos wireshark-common

set_model_args "$repo_root/configs/model.tsm"

scratch

tags=""
if pkg-config --exists libdpdk 2>/dev/null; then
  tags=dpdk
  # The dpdk build embeds the binding's C half (go:embed needs the file).
  make -C "$repo_root" --no-print-directory shim >&2
fi
# Without a profile, so the new one does not describe code the old one shaped.
bin="$tmp/tunnelscope"
(cd "$repo_root" && go build -pgo=off -tags "$tags" -o "$bin" ./cmd/tunnelscope)

offline="$repo_root/.cache/bench-offline-1000000.pcap"
"$repo_root/scripts/merge-captures.sh" "$offline" 1000000
files=()
for ((i = 0; i < 20; i++)); do files+=("$offline"); done
echo "$prog: profiling classify" >&2
TUNNELSCOPE_CPUPROFILE="$tmp/offline.prof" GOMAXPROCS=1 "$bin" classify "${model_args[@]}" -o /dev/null "${files[@]}" 2>"$tmp/offline.log" ||
  { tail -n 5 "$tmp/offline.log" >&2; die "classify failed"; }
profiles=("$tmp/offline.prof")

if [[ "$tags" == dpdk ]]; then
  live="$repo_root/.cache/bench-dataplane-32768-1518.pcap"
  "$repo_root/scripts/merge-captures.sh" "$live" 32768 1518
  replay_pool "$(count_packets "$live")"
  IFS=, read -r -a cpus <<<"$(allowed_cpus)"
  for workers in 1 2; do
    prefix="tspgo-$workers-$$"
    prefixes+=("$prefix")
    replay_setup "$tmp/live.toml" "$live" "$workers" software "$mbufs" "$mem_mb" "$prefix" "${cpus[@]}"
    echo "$prog: profiling run --workers $workers for ${seconds}s" >&2
    TUNNELSCOPE_CPUPROFILE="$tmp/live$workers.prof" "$bin" run -c "$tmp/live.toml" "${model_args[@]}" "${eal_args[@]}" \
      --workers "$workers" -o /dev/null --duration "${seconds}s" >"$tmp/live.log" 2>&1 ||
      { tail -n 20 "$tmp/live.log" >&2; die "run --workers $workers failed"; }
    profiles+=("$tmp/live$workers.prof")
  done
else
  echo "$prog: no libdpdk: profiling classify only" >&2
fi

out="$repo_root/cmd/tunnelscope/default.pgo"
go tool pprof -proto "${profiles[@]}" >"$tmp/merged.pgo" 2>"$tmp/pprof.log" ||
  { cat "$tmp/pprof.log" >&2; die "merging the profiles failed"; }
mv "$tmp/merged.pgo" "$out"
echo "$prog: wrote $out ($(wc -c <"$out") bytes from ${#profiles[@]} profiles)" >&2
