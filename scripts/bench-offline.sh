#!/usr/bin/env bash
# Offline classification speed against the peer (nDPI's ndpiReader): same
# capture, same single CPU, best of several runs taken in turns, so the
# ratio says how much faster tunnelscope's offline path is than a
# well-known DPI engine.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench-offline.sh [options] [CAPTURE]

Times `ndpiReader -i CAPTURE -q` and
`GOMAXPROCS=1 bin/tunnelscope classify -m MODEL -o /dev/null CAPTURE`, both
pinned to one CPU with taskset, RUNS times each, taking turns (ndpiReader,
tunnelscope, ndpiReader, ...), and prints the packets/s of the best
(shortest wall time) run of each and the ratio
tunnelscope/ndpiReader, then, with RUNS of 2 or more, the median of the
turns' own ratios (informational). ndpiReader classifies every flow, so tunnelscope
does too: MODEL is the shipped configs/model.tsm (configs/model.json in
the compiled form `make model` writes beside it: the same forest, the
same records, loaded in 0.1 ms instead of 1.4) unless --model or
--no-model says otherwise.

Before the runs, CAPTURE is dropped from the page cache and read back
once, so both programs read it warm and laid out as a capture read from
disk is (see settle_page_cache in scripts/lib/bench.sh).

CAPTURE defaults to .cache/bench-offline-<MINPKTS>.pcap, built by
scripts/merge-captures.sh from ../shared/data/pcap (reused when present).
bin/tunnelscope (or $TUNNELSCOPE_BIN) is built with `make build` when missing.

options:
  --cpu N           CPU to pin both programs to (default 1)
  --runs N          runs per program (default 3)
  --min-packets N   size of the default capture (default 1000000)
  --model FILE      model for classify (default configs/model.tsm)
  --no-model        classify without a model (verdicts stay unknown)
  --peer-only       time ndpiReader only (no tunnelscope build or run)
  --check           exit 1 when the ratio is below the goal
  -h, --help        this help

Goal: ratio >= 5x.
EOF
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/bench.sh
source "$repo_root/scripts/lib/bench.sh"
cpu=1
runs=3
min_packets=1000000
peer_only=0
check=0
min_ratio=5 # the goal: classify at least this many times ndpiReader's rate
capture=""
model="$repo_root/configs/model.tsm"

while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --cpu) (($# >= 2)) || die "--cpu needs a CPU number"; cpu="$2"; shift 2 ;;
    --runs) (($# >= 2)) || die "--runs needs a count"; runs="$2"; shift 2 ;;
    --min-packets) (($# >= 2)) || die "--min-packets needs a count"; min_packets="$2"; shift 2 ;;
    --model) (($# >= 2)) || die "--model needs a file"; model="$2"; shift 2 ;;
    --no-model) model=""; shift ;;
    --peer-only) peer_only=1; shift ;;
    --check) check=1; shift ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [[ -z "$capture" ]] || die "only one CAPTURE may be given"; capture="$1"; shift ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, got '$runs'"
[[ "$cpu" =~ ^[0-9]+$ ]] || die "--cpu must be a CPU number, got '$cpu'"
[[ "$min_packets" =~ ^[1-9][0-9]*$ ]] || die "--min-packets must be a positive integer, got '$min_packets'"

need ndpiReader libndpi-bin
need taskset util-linux
need capinfos wireshark-common
taskset -c "$cpu" true 2>/dev/null || die "cannot pin to CPU $cpu (allowed: $(taskset -pc $$ | sed 's/.*: //')); pick one with --cpu"

bench_capture "bench-offline-$min_packets.pcap" "$min_packets"

((peer_only)) || ensure_binary "time tunnelscope"
set_model_args "$model"

settle_page_cache "$capture"
packets="$(count_packets "$capture")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# shorter A B prints the smaller of two times ("" counts as infinite).
shorter() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

rate() { awk -v n="$packets" -v t="$1" 'BEGIN { printf "%.0f", n / t }'; }

echo "capture $capture: $packets packets; CPU $cpu; best of $runs runs each, alternating; model ${model:-none}"

# -q: no per-flow or summary printing, so the run measures detection, not
# terminal output; the file is read exactly once (no -l loops). The two
# programs take turns, so a change in the machine's speed during the
# benchmark (this VM's drifts by 30%) reaches both alike instead of
# whichever ran second.
ndpi_t="" ts_t="" turn_ratios=()
for ((i = 1; i <= runs; i++)); do
  peer="$(time_run ndpiReader ndpiReader -i "$capture" -q)"
  echo "bench-offline.sh: ndpiReader run $i: ${peer}s" >&2
  ndpi_t="$(shorter "$ndpi_t" "$peer")"
  if ((!peer_only)); then
    # GOMAXPROCS reaches classify through the function's environment, not
    # through env(1): an exec of env would add its own start (about 0.6 ms
    # here, 1% of a run) to tunnelscope's time and not to ndpiReader's.
    t="$(GOMAXPROCS=1 time_run tunnelscope "$binary" classify "${model_args[@]}" -o /dev/null "$capture")"
    echo "bench-offline.sh: tunnelscope run $i: ${t}s" >&2
    ts_t="$(shorter "$ts_t" "$t")"
    turn_ratios+=("$(ratio "$peer" "$t")")
  fi
done
printf 'ndpiReader   %10.3f s  %12s packets/s\n' "$ndpi_t" "$(rate "$ndpi_t")"
if ((peer_only)); then
  exit 0
fi
printf 'tunnelscope  %10.3f s  %12s packets/s\n' "$ts_t" "$(rate "$ts_t")"
if [[ -s "$tmp/tunnelscope.err" ]]; then
  echo "tunnelscope summary (last run): $(tail -n 1 "$tmp/tunnelscope.err")"
fi

below=0
goal ratio "$ndpi_t" "$ts_t" "$min_ratio"
if ((runs > 1)); then
  # Informational, as in bench-dataplane.sh: each turn's two runs are a
  # second apart, so the median of the turns' own ratios moves less with
  # the VM's speed than the ratio of two bests taken minutes apart. The
  # goal stays on the bests.
  echo "median of the $runs turns' own ratios (ndpiReader run / the tunnelscope run after it): $(median "${turn_ratios[@]}")x"
fi
if ((check && below)); then
  echo "bench-offline.sh: below goal" >&2
  exit 1
fi
