#!/usr/bin/env bash
# Live-path speed against DPDK's own floor: testpmd in rxonly mode receives
# and frees packets and does nothing else, so tunnelscope's rate on the same
# net_pcap replay shows what decode + flow table + features cost per packet.
# A second run with two workers shows whether the dataplane scales.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench-dataplane.sh [options] [CAPTURE] [SECONDS]

Replays CAPTURE from memory through DPDK's net_pcap driver
(--vdev=net_pcap0,rx_pcap=CAPTURE,infinite_rx=1, --no-huge unless
--hugepages) and measures:
  1. dpdk-testpmd --forward-mode=rxonly, one forwarding lcore, SECONDS long:
     RX packets from testpmd's accumulated forward statistics;
  2. bin/tunnelscope run -m MODEL --workers 1 --duration SECONDS --summary FILE:
     (rx_packets - ring drops) / elapsed_s from the summary: packets processed;
  3. the same with --workers 2.
  4. with --peer-scaling, testpmd again with two forwarding lcores, each on
     its own replayed queue, as tunnelscope's two workers receive.
Prints each rate in Mpps, tunnelscope/testpmd (goal >= 0.5x) and
workers 2/1 (goal >= 1.6x), and tunnelscope's drop counters. The goals are
judged on the best rate of each run over the rounds; each round's own
ratios go to stderr, and with --runs of 2 or more their medians follow
the goals.

CAPTURE defaults to .cache/bench-dataplane-<MINPKTS>-1518.pcap, built by
scripts/merge-captures.sh with frames of at most 1518 bytes (net_pcap rejects
frames longer than one mbuf). infinite_rx keeps the whole capture in mbufs,
so the mbuf pool is sized to the capture's packet count plus descriptors.
SECONDS defaults to 10; each of the three runs is repeated --runs times.
MODEL, the shipped configs/model.tsm unless --model or --no-model says
otherwise, classifies every flow: the full pipeline.
bin/tunnelscope (or $TUNNELSCOPE_BIN) is built with `make build` when missing.

options:
  --cpus LIST       CPUs to run lcores on (default: the CPUs this shell may use)
  --min-packets N   size of the default capture (default 32768)
  --testpmd-only    measure testpmd only (no tunnelscope build or run)
  --peer-scaling    also measure testpmd with two lcores and print its own
                    scaling 2/1 beside tunnelscope's: the driver's replay
                    copy, shared by the two CPUs, keeps even testpmd below
                    2x, so this is the ceiling tunnelscope's scaling is
                    read against (informational; the goal stays 1.6x)
  --dispatch MODE   live.dispatch for the 2-worker run: software (default;
                    every flow to one worker over rings) or none (each
                    worker keeps its own queue's replay, as behind NIC RSS)
  --burst N         receive burst size of both testpmd (--burst) and
                    tunnelscope ([live] burst); default 64, tunnelscope's
                    default
  --hugepages       back both programs' EAL memory, where the replay's mbufs
                    live, with 2 MiB huge pages instead of --no-huge, as an
                    appliance runs; needs twice the printed MiB free
                    (sudo scripts/hugepages.sh reserve). net_pcap's copy of
                    each frame, all of testpmd's work, gains most from it,
                    so the ratio is lower than with --no-huge (the goals
                    are set for the default)
  --model FILE      model for the runs (default configs/model.tsm)
  --no-model        run without a model (verdicts stay unknown)
  --runs N          rounds of the three measurements, interleaved so that
                    noise from other jobs hits each alike; the best rate of
                    each is reported (default 3)
  --check           exit 1 when a ratio is below its goal
  -h, --help        this help
EOF
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/bench.sh
source "$repo_root/scripts/lib/bench.sh"
min_packets=32768
testpmd_only=0
peer_scaling=0
dispatch=software
burst=64
runs=3
check=0
cpus=""
model="$repo_root/configs/model.tsm"
pos=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --cpus) (($# >= 2)) || die "--cpus needs a list such as 0,1"; cpus="$2"; shift 2 ;;
    --min-packets) (($# >= 2)) || die "--min-packets needs a count"; min_packets="$2"; shift 2 ;;
    --testpmd-only) testpmd_only=1; shift ;;
    --peer-scaling) peer_scaling=1; shift ;;
    --dispatch) (($# >= 2)) || die "--dispatch needs software or none"; dispatch="$2"; shift 2 ;;
    --runs) (($# >= 2)) || die "--runs needs a count"; runs="$2"; shift 2 ;;
    --burst) (($# >= 2)) || die "--burst needs a size"; burst="$2"; shift 2 ;;
    --model) (($# >= 2)) || die "--model needs a file"; model="$2"; shift 2 ;;
    --no-model) model=""; shift ;;
    --hugepages) replay_memory=huge; shift ;;
    --check) check=1; shift ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) pos+=("$1"); shift ;;
  esac
done
((${#pos[@]} <= 2)) || die "too many arguments (see --help)"
capture="${pos[0]:-}"
seconds="${pos[1]:-10}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive integer, got '$seconds'"
[[ "$min_packets" =~ ^[1-9][0-9]*$ ]] || die "--min-packets must be a positive integer, got '$min_packets'"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, got '$runs'"
if ! [[ "$burst" =~ ^[1-9][0-9]{0,2}$ ]] || ((burst > 512)); then
  die "--burst must be an integer in 1..512, got '$burst'"
fi
# replay_setup writes it into tunnelscope's config.
replay_burst="$burst"

need dpdk-testpmd dpdk-dev
need capinfos wireshark-common
need stdbuf coreutils
need python3 python3

if [[ -z "$cpus" ]]; then
  cpus="$(allowed_cpus)"
fi
[[ "$cpus" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--cpus must be a comma-separated list of CPU numbers, got '$cpus'"
IFS=, read -r -a cpu_list <<<"$cpus"
for c in "${cpu_list[@]}"; do
  [[ -d "/sys/devices/system/cpu/cpu$c" ]] || die "CPU $c does not exist"
done

bench_capture "bench-dataplane-$min_packets-1518.pcap" "$min_packets" 1518
case "$capture" in
  *,*|*=*) die "capture path '$capture' contains ',' or '=', which devargs cannot carry" ;;
esac
packets="$(count_packets "$capture")"

((testpmd_only)) || ensure_binary "measure tunnelscope"
set_model_args "$model"

replay_pool "$packets"
if [[ "$replay_memory" == huge ]]; then
  need_hugepages "$((2 * mem_mb))" # the two-lcore runs', the most at once
fi

tmp="$(mktemp -d)"
prefixes=()
child=""
cleanup() {
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  remove_eal_dirs "${prefixes[@]}"
  rm -rf "$tmp"
}
trap cleanup EXIT

# lcore_map N prints an EAL --lcores value for N lcores: one per CPU when
# there are enough CPUs, else all lcores floating over the CPU set (polling
# threads then share CPUs, which the printed rates will show).
lcore_map() {
  local n="$1" i map=""
  if ((${#cpu_list[@]} >= n)); then
    for ((i = 0; i < n; i++)); do
      map+="${map:+,}$i@${cpu_list[i]}"
    done
  else
    map="(0-$((n - 1)))@($cpus)"
  fi
  echo "$map"
}

# run_testpmd [LCORES] sets tp_rx: testpmd with LCORES (1, the default, or
# 2) forwarding lcores, each polling its own RX queue of the replay. Two
# are placed as tunnelscope's two workers are (replay_setup): the main
# lcore, which sleeps on stdin while forwarding runs, shares the first CPU.
# It and run_tunnelscope run in this shell, not in $(...), so the EXIT
# trap sees their child and runtime directories.
run_testpmd() {
  local n="${1:-1}" log="$tmp/testpmd.log" fifo="$tmp/testpmd.in" i
  local prefix="tsbench-testpmd-$$-$n" map
  prefixes+=("$prefix")
  if ((${#cpu_list[@]} < 2)); then
    echo "bench-dataplane.sh: only one CPU: testpmd's main and forwarding lcores share it" >&2
  fi
  map="$(lcore_map 2)"
  if ((n > 1)); then
    map="$(replay_lcores "$n" "${cpu_list[@]}")"
  fi
  mem_eal_args "$((n * mem_mb))"
  rm -f "$fifo"
  mkfifo "$fifo"
  # Non-interactive testpmd forwards until a line arrives on stdin; stdbuf
  # makes its "Press enter to exit" visible as soon as forwarding starts.
  stdbuf -oL -eL dpdk-testpmd "${mem_args[@]}" --no-shconf --no-pci \
    --vdev="$(replay_vdev "$capture" "$n")" --file-prefix="$prefix" \
    --lcores="$map" -- \
    --forward-mode=rxonly --nb-cores="$n" --rxq="$n" --txq="$n" \
    --total-num-mbufs="$((n * mbufs))" --burst="$burst" \
    <"$fifo" >"$log" 2>&1 &
  child=$!
  exec 3>"$fifo"
  # testpmd prints the line once forwarding has started, so every moment
  # between the print and its noticing here is forwarding the rate below
  # does not divide by: polled every 0.1 s, that was 50 ms on average, 1%
  # of a 5 s run added to testpmd's rate. Every 5 ms leaves 0.05%.
  for ((i = 0; i < 24000; i++)); do
    grep -q "Press enter to exit" "$log" && break
    kill -0 "$child" 2>/dev/null || break
    sleep 0.005
  done
  if ! grep -q "Press enter to exit" "$log"; then
    exec 3>&-
    tail -n 30 "$log" >&2
    die "testpmd did not start forwarding (log above)"
  fi
  sleep "$seconds"
  echo >&3
  exec 3>&-
  wait "$child" || { tail -n 30 "$log" >&2; die "testpmd exited with an error (log above)"; }
  child=""
  tp_rx="$(awk '/Accumulated forward statistics/ { acc = 1 } acc && /RX-packets:/ { print $2; exit }' "$log")"
  [[ "$tp_rx" =~ ^[0-9]+$ ]] || { tail -n 30 "$log" >&2; die "no RX-packets in testpmd's statistics (log above)"; }
}

# run_tunnelscope WORKERS sets ts=(processed packets elapsed_s imissed rx_nombuf ring).
run_tunnelscope() { replay_run "$binary" "$1" "$dispatch"; }

echo "capture $capture: $packets packets; ${seconds}s per run; CPUs $cpus; $mbufs mbufs, ${mem_mb} MiB of $( [[ "$replay_memory" == huge ]] && echo "huge pages" || echo "ordinary pages (--no-huge)"); burst $burst; model ${model:-none}"

below=0
# better A B: the larger of two rates.
better() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? a : b }'; }

tp_mpps=0 tp2_mpps=0 ts1_mpps=0 ts2_mpps=0 ts1_line="" ts2_line=""
# The same ratios within each round (one round's runs are seconds apart),
# printed beside the best-of ratios to show how much the VM's noise moves them.
round_tp=() round_ts1=() round_ratio=() round_scaling=() round_tp_scaling=()
for ((r = 1; r <= runs; r++)); do
  tp_rx=""
  run_testpmd
  rate="$(mpps "$tp_rx" "$seconds")"
  echo "round $r: testpmd $rate Mpps" >&2
  tp_mpps="$(better "$tp_mpps" "$rate")"
  round_tp+=("$rate")
  if ((peer_scaling)); then
    tp_rx=""
    run_testpmd 2
    rate="$(mpps "$tp_rx" "$seconds")"
    round_tp_scaling+=("$(ratio "$rate" "${round_tp[-1]}")")
    echo "round $r: testpmd (2 lcores) $rate Mpps, scaling 2/1 ${round_tp_scaling[-1]}x" >&2
    tp2_mpps="$(better "$tp2_mpps" "$rate")"
  fi
  ((testpmd_only)) && continue
  for w in 1 2; do
    ts=()
    run_tunnelscope "$w"
    rate="$(mpps "${ts[0]}" "${ts[1]}")"
    line="$(printf '%s packets processed in %ss; drops imissed=%s rx_nombuf=%s ring=%s' "${ts[0]}" "${ts[1]}" "${ts[2]}" "${ts[3]}" "${ts[4]}")"
    echo "round $r: tunnelscope --workers $w $rate Mpps ($line)" >&2
    if [[ "$w" == 1 ]]; then
      round_ts1+=("$rate")
      round_ratio+=("$(ratio "$rate" "${round_tp[-1]}")")
      echo "round $r: ratio tunnelscope/testpmd ${round_ratio[-1]}x" >&2
    else
      round_scaling+=("$(ratio "$rate" "${round_ts1[-1]}")")
      echo "round $r: scaling workers 2/1 ${round_scaling[-1]}x" >&2
    fi
    if [[ "$w" == 1 && "$(better "$ts1_mpps" "$rate")" == "$rate" ]]; then ts1_mpps="$rate" ts1_line="$line"; fi
    if [[ "$w" == 2 && "$(better "$ts2_mpps" "$rate")" == "$rate" ]]; then ts2_mpps="$rate" ts2_line="$line"; fi
  done
done

echo "best of $runs rounds:"
printf 'testpmd rxonly (1 lcore)        %8s Mpps\n' "$tp_mpps"
if ((peer_scaling)); then
  printf 'testpmd rxonly (2 lcores)       %8s Mpps\n' "$tp2_mpps"
  echo "testpmd's own scaling 2/1 $(ratio "$tp2_mpps" "$tp_mpps" 3)x"
fi
if ((testpmd_only)); then
  exit 0
fi
printf 'tunnelscope run --workers 1     %8s Mpps  (%s)\n' "$ts1_mpps" "$ts1_line"
goal "ratio tunnelscope/testpmd" "$ts1_mpps" "$tp_mpps" 0.5
printf 'tunnelscope run --workers 2 (%s) %8s Mpps  (%s)\n' "$dispatch" "$ts2_mpps" "$ts2_line"
goal "scaling workers 2/1" "$ts2_mpps" "$ts1_mpps" 1.6
# The best rates of different rounds may come from different minutes of a
# VM whose speed drifts; each round's runs are seconds apart, so the
# median of the per-round ratios is the steadier reading (informational:
# the goals above are judged on the best rates).
if ((runs > 1)); then
  echo "median of the $runs rounds' own ratios: tunnelscope/testpmd $(median "${round_ratio[@]}")x, workers 2/1 $(median "${round_scaling[@]}")x"
fi
if ((peer_scaling)); then
  # Each round's two scalings come from the same minute of the VM.
  fractions=()
  for ((r = 0; r < runs; r++)); do
    fractions+=("$(ratio "${round_scaling[r]}" "${round_tp_scaling[r]}")")
  done
  echo "tunnelscope's scaling as a fraction of testpmd's: $(ratio "$(ratio "$ts2_mpps" "$ts1_mpps" 4)" "$(ratio "$tp2_mpps" "$tp_mpps" 4)")x of the bests, median of the rounds $(median "${fractions[@]}")x"
fi

if ((check && below)); then
  echo "bench-dataplane.sh: below goal" >&2
  exit 1
fi
