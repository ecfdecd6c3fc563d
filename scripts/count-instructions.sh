#!/usr/bin/env bash
# Instructions executed per packet by `tunnelscope classify` and by nDPI's
# ndpiReader on the same capture, counted by valgrind's cachegrind. Unlike
# wall time on a shared machine, the counts repeat to within a fraction of a
# percent from run to run, so a change to the hot path can be judged by one
# run of this script even when the timings of bench-offline.sh swing by 30%.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/count-instructions.sh [options] [CAPTURE]

Runs, under `valgrind --tool=cachegrind --cache-sim=no`:
  GOMAXPROCS=1 bin/tunnelscope classify -m MODEL -o /dev/null CAPTURE
  ndpiReader -i CAPTURE -q
and prints the instructions each executed, per packet, their ratio, and
tunnelscope's functions by instructions (self).

CAPTURE defaults to .cache/bench-offline-<MINPKTS>.pcap, built by
scripts/merge-captures.sh from ../shared/data/pcap (reused when present).
bin/tunnelscope (or $TUNNELSCOPE_BIN) is built with `make build` when missing.

Instructions are not time: ndpiReader runs fewer instructions per cycle
than tunnelscope, so its time ratio (bench-offline.sh) is larger than this
one. Use this script to compare two builds of tunnelscope; use
bench-offline.sh for the speed goal.

options:
  --min-packets N   size of the default capture (default 1000000)
  --top N           functions to list (default 15; 0 for none)
  --no-peer         count tunnelscope only
  --model FILE      model for classify (default configs/model.tsm, as
                    bench-offline.sh uses)
  --no-model        classify without a model
  -h, --help        this help
EOF
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/bench.sh
source "$repo_root/scripts/lib/bench.sh"
min_packets=1000000
top=15
peer=1
model="$repo_root/configs/model.tsm"
capture=""

while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --min-packets) (($# >= 2)) || die "--min-packets needs a count"; min_packets="$2"; shift 2 ;;
    --top) (($# >= 2)) || die "--top needs a count"; top="$2"; shift 2 ;;
    --no-peer) peer=0; shift ;;
    --model) (($# >= 2)) || die "--model needs a file"; model="$2"; shift 2 ;;
    --no-model) model=""; shift ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [[ -z "$capture" ]] || die "only one CAPTURE may be given"; capture="$1"; shift ;;
  esac
done
[[ "$min_packets" =~ ^[1-9][0-9]*$ ]] || die "--min-packets must be a positive integer, got '$min_packets'"
[[ "$top" =~ ^[0-9]+$ ]] || die "--top must be a count, got '$top'"

need valgrind valgrind
need cg_annotate valgrind
need capinfos wireshark-common
((peer)) && need ndpiReader libndpi-bin

bench_capture "bench-offline-$min_packets.pcap" "$min_packets"

ensure_binary "count tunnelscope's instructions"

packets="$(count_packets "$capture")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# count NAME CMD... runs CMD under cachegrind and prints the instructions it
# executed (the "I refs" total of its summary).
count() {
  local name="$1"; shift
  if ! valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$tmp/$name.cg" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    tail -n 20 "$tmp/$name.err" >&2
    die "$name failed under valgrind: $*"
  fi
  local n
  n="$(sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' "$tmp/$name.err" | tr -d ,)"
  [[ "$n" =~ ^[0-9]+$ ]] || die "no instruction count in valgrind's output for $name"
  echo "$n"
}

per_packet() { awk -v n="$1" -v p="$packets" 'BEGIN { printf "%.0f", n / p }'; }

echo "capture $capture: $packets packets; model ${model:-none}"
set_model_args "$model"
ts_ir="$(GOMAXPROCS=1 count tunnelscope "$binary" classify "${model_args[@]}" -o /dev/null "$capture")"
printf 'tunnelscope  %15s instructions  %6s per packet\n' "$ts_ir" "$(per_packet "$ts_ir")"
if ((peer)); then
  ndpi_ir="$(count ndpiReader ndpiReader -i "$capture" -q)"
  printf 'ndpiReader   %15s instructions  %6s per packet\n' "$ndpi_ir" "$(per_packet "$ndpi_ir")"
  awk -v a="$ndpi_ir" -v b="$ts_ir" 'BEGIN { printf "ratio ndpiReader/tunnelscope %.2fx (instructions, not time)\n", a / b }'
fi
if ((top > 0)); then
  echo "tunnelscope functions by instructions executed (self):"
  # cg_annotate's table: "count (pct)  file:function"; keep the top rows.
  cg_annotate "$tmp/tunnelscope.cg" 2>/dev/null |
    awk '/file:function/ { on = 1; getline; next } on && NF == 0 { exit } on' |
    head -n "$top"
fi
