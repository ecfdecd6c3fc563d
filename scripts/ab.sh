#!/usr/bin/env bash
# Two tunnelscope builds timed against each other, interleaved: on a VM whose
# speed swings by 30% between minutes, only runs taken in turns can show a
# change of a few percent (DEVELOPERS.md, "Performance").
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/ab.sh [options] BIN_A BIN_B

Runs BIN_A and BIN_B in turns, ROUNDS times (A first in odd rounds, B first
in even ones), and prints each build's median and best, in how many rounds
B was faster, and the median of the rounds' speed ratios B/A (above 1: B is
faster). A round's two runs are seconds apart, so its ratio is what the VM's
swings disturb least.

Each binary is first copied to COPIES fresh files, which the rounds use
in turn: on this VM one file of a build can run up to 14% slower than
another file with the same bytes, for as long as its pages stay where
they landed (docs/performance-log.md, session 21), which would bias a
comparison of one file per build.

Offline (default): BIN classify -m MODEL -o /dev/null CAPTURE, pinned to one
CPU with GOMAXPROCS=1 as bench-offline.sh runs it; the measure is wall time.
CAPTURE defaults to the offline bench capture (.cache/bench-offline-1000000.pcap,
built by scripts/merge-captures.sh when missing).

--live WORKERS: BIN run for SECONDS on net_pcap's replay of the dataplane
bench capture (.cache/bench-dataplane-32768-1518.pcap unless --capture),
as bench-dataplane.sh runs it; the measure is packets processed per second.

options:
  --rounds N        rounds (default 20; an effect under 5% needs 30 or more)
  --copies N        fresh copies of each binary, used in turn (default 4)
  --live WORKERS    compare live runs with WORKERS worker lcores
  --seconds S       length of each live run (default 5)
  --dispatch MODE   live.dispatch of the live runs (default software)
  --capture FILE    the capture to run
  --model FILE      model for the runs (default configs/model.tsm)
  --no-model        run without a model
  --cpu N           the CPU offline runs are pinned to (default: the last
                    one this shell may use)
  -h, --help        this help
EOF
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/bench.sh
source "$repo_root/scripts/lib/bench.sh"
rounds=20
copies=4
live=0
seconds=5
dispatch=software
capture=""
cpu=""
model="$repo_root/configs/model.tsm"
pos=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --rounds) (($# >= 2)) || die "--rounds needs a count"; rounds="$2"; shift 2 ;;
    --copies) (($# >= 2)) || die "--copies needs a count"; copies="$2"; shift 2 ;;
    --live) (($# >= 2)) || die "--live needs a worker count"; live="$2"; shift 2 ;;
    --seconds) (($# >= 2)) || die "--seconds needs a count"; seconds="$2"; shift 2 ;;
    --dispatch) (($# >= 2)) || die "--dispatch needs software or none"; dispatch="$2"; shift 2 ;;
    --capture) (($# >= 2)) || die "--capture needs a file"; capture="$2"; shift 2 ;;
    --model) (($# >= 2)) || die "--model needs a file"; model="$2"; shift 2 ;;
    --no-model) model=""; shift ;;
    --cpu) (($# >= 2)) || die "--cpu needs a CPU number"; cpu="$2"; shift 2 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) pos+=("$1"); shift ;;
  esac
done
((${#pos[@]} == 2)) || die "need two binaries, BIN_A and BIN_B (see --help)"
for b in "${pos[@]}"; do
  [[ -x "$b" ]] || die "'$b' is not an executable"
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, got '$rounds'"
[[ "$copies" =~ ^[1-9][0-9]*$ ]] || die "--copies must be a positive integer, got '$copies'"
[[ "$live" =~ ^[0-9]+$ ]] || die "--live must be a worker count, got '$live'"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer, got '$seconds'"
need python3 python3
need capinfos wireshark-common
set_model_args "$model"
IFS=, read -r -a cpu_list <<<"$(allowed_cpus)"

scratch

if ((live)); then
  bench_capture bench-dataplane-32768-1518.pcap 32768 1518
  replay_pool "$(count_packets "$capture")"
  what="run --workers $live, ${seconds}s, dispatch $dispatch: Mpps processed"
else
  need taskset util-linux
  bench_capture bench-offline-1000000.pcap 1000000
  settle_page_cache "$capture"
  cpu="${cpu:-${cpu_list[-1]}}"
  what="classify pinned to CPU $cpu: seconds"
fi

# measure BIN sets m to BIN's measure for one run: seconds offline, Mpps
# live. It runs in this shell, not in $(...), so that the EAL file prefix
# replay_run records reaches the EXIT trap.
measure() {
  if ((live)); then
    ts=()
    replay_run "$1" "$live" "$dispatch"
    m="$(mpps "${ts[0]}" "${ts[1]}")"
    return
  fi
  m="$(GOMAXPROCS=1 time_run classify "$1" classify "${model_args[@]}" -o /dev/null "$capture")"
}

for ((k = 0; k < copies; k++)); do
  cp "${pos[0]}" "$tmp/a$k"
  cp "${pos[1]}" "$tmp/b$k"
done

echo "$prog: A $(basename "${pos[0]}"), B $(basename "${pos[1]}"), $copies copies each; $rounds rounds of $what" >&2
a=() b=() speedups=()
for ((r = 1; r <= rounds; r++)); do
  k=$(((r - 1) % copies))
  if ((r % 2)); then
    measure "$tmp/a$k"; x="$m"
    measure "$tmp/b$k"; y="$m"
  else
    measure "$tmp/b$k"; y="$m"
    measure "$tmp/a$k"; x="$m"
  fi
  a+=("$x") b+=("$y")
  # Speed of B over A: a rate's ratio live, a time's inverse offline.
  # Three decimals: the few percent a change is worth here.
  if ((live)); then s="$(ratio "$y" "$x" 3)"; else s="$(ratio "$x" "$y" 3)"; fi
  speedups+=("$s")
  echo "round $r: A $x, B $y, B/A speed ${s}x" >&2
done

best() { printf '%s\n' "$@" | sort -g | if ((live)); then tail -n 1; else head -n 1; fi; }
printf 'A %s: median %s, best %s\n' "${pos[0]}" "$(median_to 4 "${a[@]}")" "$(best "${a[@]}")"
printf 'B %s: median %s, best %s\n' "${pos[1]}" "$(median_to 4 "${b[@]}")" "$(best "${b[@]}")"
faster="$(printf '%s\n' "${speedups[@]}" | awk '$1 > 1 { n++ } END { print n + 0 }')"
echo "B faster in $faster of $rounds rounds; median B/A speed $(median_to 3 "${speedups[@]}")x"
