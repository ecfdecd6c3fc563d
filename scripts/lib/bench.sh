# shellcheck shell=bash
# Sourced by the benchmark scripts (bench-offline.sh, bench-dataplane.sh,
# count-instructions.sh, ab.sh) and pgo.sh after they set repo_root; not
# run on its own.
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

# bench_capture NAME MERGE-ARGS... sets capture, when it is empty, to
# .cache/NAME, which scripts/merge-captures.sh builds from MERGE-ARGS
# (MINPKTS [MAXFRAME]) or reuses; then checks that capture exists and
# makes its path absolute (EAL device arguments need one).
bench_capture() {
  if [[ -z "$capture" ]]; then
    capture="$repo_root/.cache/$1"
    "$repo_root/scripts/merge-captures.sh" "$capture" "${@:2}"
  fi
  [[ -f "$capture" ]] || die "capture '$capture' not found"
  capture="$(cd "$(dirname "$capture")" && pwd)/$(basename "$capture")"
}

# settle_page_cache FILE writes FILE back if dirty, drops it from the page
# cache and reads it once, so every timed run reads it from a warm cache in
# one known layout: that of a capture read from disk. A capture just
# written (merge-captures.sh) sits in 4 KiB pages; one read from disk, on
# kernels with large folios (ext4 from Linux 6.16), in folios of up to
# 2 MiB, which make classify's memory-mapped reading cheaper (README). Both
# programs then read the same cached file.
settle_page_cache() {
  sync "$1"
  dd if="$1" iflag=nocache count=0 status=none || die "cannot drop '$1' from the page cache"
  cat "$1" >/dev/null
}

# count_packets FILE prints how many packets FILE holds.
count_packets() {
  local n
  n="$(capinfos -T -r -M -c "$1" | cut -f2)"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "capinfos could not count packets in '$1'"
  echo "$n"
}

# replay_pool PACKETS sets mbufs and mem_mb for one net_pcap infinite_rx
# queue replaying a capture of PACKETS packets. infinite_rx copies the whole
# capture into mbufs at queue setup and then allocates one more mbuf per
# received packet, so the pool must hold the capture plus everything in
# flight (descriptors, rings, per-lcore caches); memory is about 2.5 KiB
# per mbuf of 2176 bytes data room, plus room for rings and driver state.
# --no-huge backs it with ordinary pages.
replay_pool() {
  mbufs=$(($1 + 32768))
  mem_mb=$((mbufs * 2560 / 1048576 + 512))
}

# replay_memory backs the replay's EAL memory, which holds the mbufs
# (mem_eal_args): "no-huge", the default, with ordinary pages, which need
# no reservation and are how the project's VM and CI run it; "huge" with
# 2 MiB huge pages, as an appliance runs (see need_hugepages). Set it
# before replay_setup.
replay_memory=no-huge

# mem_eal_args MB sets mem_args to the EAL arguments that give the EAL MB
# MiB of memory as replay_memory says. Huge-page files are unlinked as
# soon as they are mapped (--huge-unlink), so a killed run leaves none
# behind in hugetlbfs.
# shellcheck disable=SC2034 # mem_args is for the caller
mem_eal_args() {
  if [[ "$replay_memory" == huge ]]; then
    mem_args=(-m "$1" --huge-unlink)
  else
    mem_args=(--no-huge -m "$1")
  fi
}

# need_hugepages MB dies unless a hugetlbfs is mounted and MB MiB of huge
# pages are free, saying how to reserve them.
# It counts pages of the kernel's default size (Hugepagesize), 2 MiB on
# x86 unless the boot line says otherwise, and names that size in its hint.
need_hugepages() {
  local free page_kb free_kb size pages mounted=1
  read -r free page_kb < <(awk '/^HugePages_Free:/ { f = $2 } /^Hugepagesize:/ { s = $2 } END { print f + 0, s + 0 }' /proc/meminfo)
  ((page_kb > 0)) || die "huge pages: /proc/meminfo gives no Hugepagesize"
  free_kb=$((free * page_kb))
  size=2M
  ((page_kb == 1048576)) && size=1G
  pages=$(((($1 * 1024) + page_kb - 1) / page_kb))
  grep -q ' hugetlbfs ' /proc/mounts || mounted=0
  if ((!mounted || free_kb < $1 * 1024)); then
    die "huge pages: need $1 MiB free in a mounted hugetlbfs, have $((free_kb / 1024)) MiB free$( ((mounted)) || echo ' and no hugetlbfs mounted'); reserve them with: sudo scripts/hugepages.sh reserve -s $size -p $pages"
  fi
}

# replay_vdev CAPTURE QUEUES prints the net_pcap device that replays
# CAPTURE from memory (infinite_rx) on each of QUEUES RX queues.
replay_vdev() {
  local q rx=""
  for ((q = 0; q < $2; q++)); do
    rx+=",rx_pcap=$1"
  done
  echo "net_pcap0${rx},infinite_rx=1"
}

# replay_lcores N CPU... prints an EAL --lcores value: the main lcore on the
# first CPU and lcores 1..N pinned one to a CPU, dealt over the CPUs given
# from the second on (with two CPUs, lcore 2 shares the main lcore's).
replay_lcores() {
  local n="$1" i map
  shift
  local cpu_set=("$@")
  map="0@${cpu_set[0]}"
  for ((i = 1; i <= n; i++)); do
    map+=",$i@${cpu_set[i % ${#cpu_set[@]}]}"
  done
  echo "$map"
}

# replay_setup CFG CAPTURE WORKERS DISPATCH MBUFS MEM_MB PREFIX CPU...
# writes CFG, a live config in which net_pcap replays CAPTURE from memory
# (infinite_rx) on one RX queue per worker, as RSS would give a NIC (the
# capture is replayed once per queue; software dispatch still sends every
# flow to a single worker), and sets eal_args to the --eal flags of
# `tunnelscope run`: the main lcore and one pinned lcore per worker, dealt
# over the CPUs given. The main lcore only wakes every 1-10 ms to drain
# flow records. MBUFS and MEM_MB are per worker. replay_burst, when set,
# becomes [live] burst; otherwise tunnelscope's default applies.
replay_setup() {
  local cfg="$1" capture="$2" workers="$3" dispatch="$4" mbufs="$5" mem_mb="$6" prefix="$7"
  shift 7
  local q a lcores="" map
  for ((q = 0; q < workers; q++)); do
    lcores+="${lcores:+, }$q"
  done
  map="$(replay_lcores "$workers" "$@")"
  cat >"$cfg" <<CFG
[live]
mbufs = $((mbufs * workers))
dispatch = "$dispatch"
${replay_burst:+burst = $replay_burst}

[[live.port]]
device = "$(replay_vdev "$capture" "$workers")"
rx_queues = $workers
lcores = [$lcores]
CFG
  eal_args=()
  mem_eal_args "$((mem_mb * workers))"
  for a in "${mem_args[@]}" --no-shconf --no-pci --file-prefix="$prefix" --lcores="$map"; do
    eal_args+=("--eal=$a")
  done
}

# replay_run BINARY WORKERS DISPATCH runs `BINARY run` for $seconds on
# net_pcap's replay of $capture (replay_setup, over the CPUs in cpu_list,
# with $mbufs and $mem_mb from replay_pool, and model_args) and sets
# ts=(processed packets, elapsed_s, imissed, rx_nombuf, ring drops) from
# its summary; packets a ring dropped were received but not processed, so
# they do not count. It writes its files under $tmp and adds its EAL file
# prefix to prefixes, for the caller's cleanup (remove_eal_dirs).
# shellcheck disable=SC2154,SC2034 # tmp, cpu_list and seconds are the caller's; ts is for it
replay_run() {
  local binary="$1" workers="$2" dispatch="$3" prefix="tsbench-ts$2-$$-${#prefixes[@]}"
  local cfg="$tmp/live.toml" summary="$tmp/summary-$2.json" log="$tmp/tunnelscope-$2.log" fields
  prefixes+=("$prefix")
  replay_setup "$cfg" "$capture" "$workers" "$dispatch" "$mbufs" "$mem_mb" "$prefix" "${cpu_list[@]}"
  rm -f "$summary"
  if ! timeout $((seconds + 300)) "$binary" run -c "$cfg" "${model_args[@]}" "${eal_args[@]}" --workers "$workers" \
    -o /dev/null --duration "${seconds}s" --summary "$summary" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "$binary run --workers $workers failed (log above)"
  fi
  [[ -s "$summary" ]] || die "$binary run --workers $workers wrote no summary to $summary"
  fields="$(python3 - "$summary" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    s = json.load(f)
d = s.get("drops", {})
print(s["rx_packets"] - d.get("ring", 0), s["elapsed_s"], d.get("imissed", 0), d.get("rx_nombuf", 0), d.get("ring", 0))
EOF
)" || die "cannot read rx_packets/elapsed_s from $summary: $(head -c 300 "$summary")"
  read -r -a ts <<<"$fields"
}

# scratch sets tmp to a new temporary directory and prefixes to an empty
# list of EAL file prefixes, and removes the directory and those prefixes'
# runtime directories (remove_eal_dirs) when the script exits.
# shellcheck disable=SC2034 # tmp and prefixes are the caller's
scratch() {
  tmp="$(mktemp -d)"
  prefixes=()
  trap 'remove_eal_dirs "${prefixes[@]}"; rm -rf "$tmp"' EXIT
}

# time_run NAME CMD... runs CMD once on $cpu, its output in $tmp/NAME.out
# and .err, and prints its wall time in seconds. A failing run aborts the
# benchmark: a crashed or erroring program has no meaningful speed.
# shellcheck disable=SC2154 # cpu and tmp are the caller's
time_run() {
  local name="$1" start end
  shift
  start="$EPOCHREALTIME"
  if ! taskset -c "$cpu" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    echo "$prog: $name failed: $*" >&2
    tail -n 20 "$tmp/$name.err" >&2
    exit 1
  fi
  end="$EPOCHREALTIME"
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }'
}

# mpps PACKETS SECONDS: the rate in millions of packets a second.
mpps() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.3f", n / t / 1e6 }'; }

# remove_eal_dirs PREFIX... removes what EAL left in its runtime directories
# for each file prefix (--no-shconf still creates them). Where they are
# follows DPDK's rule, as dpdk.RuntimeBase does: /var/run/dpdk for root,
# else $XDG_RUNTIME_DIR/dpdk, else /tmp/dpdk.
remove_eal_dirs() {
  local p base=/var/run/dpdk
  if ((EUID != 0)); then
    base="${XDG_RUNTIME_DIR:-/tmp}/dpdk"
  fi
  for p in "$@"; do
    rm -rf "${base:?}/$p"
  done
}

# set_model_args MODEL sets model_args to the -m flag for MODEL, or to
# nothing when MODEL is empty (--no-model); a missing file is fatal.
# shellcheck disable=SC2034 # model_args is read by the sourcing script
set_model_args() {
  model_args=()
  if [[ -n "$1" ]]; then
    [[ -f "$1" ]] || die "model '$1' not found"
    model_args=(-m "$1")
  fi
}

# allowed_cpus prints the CPUs this process may run on, comma-separated.
allowed_cpus() {
  python3 -c 'import os; print(",".join(str(c) for c in sorted(os.sched_getaffinity(0))))'
}

# median X...: the median of numbers (the mean of the middle two for an
# even count).
median() { median_to 2 "$@"; }

# median_to DIGITS X...: the median to DIGITS decimals.
median_to() {
  local d="$1"
  shift
  printf '%s\n' "$@" | sort -g | awk -v d="$d" '{ v[NR] = $1 } END { printf "%.*f", d, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B [DIGITS]: A/B to DIGITS decimals (default two).
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, a / b }'; }

# goal NAME A B MIN prints the ratio A/B to three decimals against its
# goal MIN, and whether it met it, and sets below=1 when it falls short.
# The unrounded ratio is what is compared: a rounded one let 0.4985 pass
# as 0.50 and 4.996 as 5.00.
# shellcheck disable=SC2034 # below is the caller's
goal() {
  local shown
  shown="$(ratio "$2" "$3" 3)"
  if awk -v a="$2" -v b="$3" -v g="$4" 'BEGIN { exit !(a / b < g) }'; then
    below=1
    echo "$1 ${shown}x (goal >= ${4}x: missed)"
  else
    echo "$1 ${shown}x (goal >= ${4}x: met)"
  fi
}
