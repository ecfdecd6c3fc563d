#!/usr/bin/env bash
# Reserves, shows and releases hugepages for the DPDK appliance. DPDK's
# mempools live in hugepages so the NIC can DMA into them and the TLB covers
# the whole pool; without them tunnelscope can only run with --no-huge
# (tests, net_pcap replay), which is slower and unfit for a real NIC.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/hugepages.sh COMMAND [options]

commands:
  show                 hugepages per NUMA node and page size, and hugetlbfs mounts
  reserve              reserve pages on each selected NUMA node and mount hugetlbfs
  release              give pages back to the kernel (and optionally unmount)

options:
  -s, --size 2M|1G     page size (default 2M; release: also "all")
  -p, --pages N        pages per NUMA node to reserve (default 1024, i.e. 2 GiB of 2M pages)
  -n, --node N|all     NUMA node (default all nodes)
  -d, --mount-dir DIR  hugetlbfs mount point (default /dev/hugepages)
      --no-mount       reserve without mounting hugetlbfs
      --unmount        release: also unmount DIR
      --dry-run        print what would be written, change nothing
      --sysfs          write sysfs directly even when dpdk-hugepages.py exists
  -h, --help           this help

Examples:
  sudo scripts/hugepages.sh reserve                     # 2 GiB of 2M pages per node
  sudo scripts/hugepages.sh reserve -s 1G -p 4 -n 0     # 4 GiB of 1G pages on node 0
  scripts/hugepages.sh show
  sudo scripts/hugepages.sh release --unmount

Uses dpdk-hugepages.py (Debian package dpdk) when installed, sysfs otherwise.
1G pages can rarely be found at run time once memory is fragmented: reserve
them at boot instead, on the kernel command line, e.g.
  default_hugepagesz=1G hugepagesz=1G hugepages=4
DPDK runs "reserve" only once per boot; reservations do not survive a reboot
(add this script to a systemd unit or use the kernel command line).
EOF
}

die() { echo "hugepages.sh: $*" >&2; exit 1; }
warn() { echo "hugepages.sh: $*" >&2; }

cmd=""
size="2M"
pages=1024
node="all"
mount_dir="/dev/hugepages"
do_mount=1
do_unmount=0
dry_run=0
use_py=1

while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -s|--size) (($# >= 2)) || die "$1 needs 2M or 1G"; size="$2"; shift 2 ;;
    -p|--pages) (($# >= 2)) || die "$1 needs a page count"; pages="$2"; shift 2 ;;
    -n|--node) (($# >= 2)) || die "$1 needs a NUMA node number or 'all'"; node="$2"; shift 2 ;;
    -d|--mount-dir) (($# >= 2)) || die "$1 needs a directory"; mount_dir="$2"; shift 2 ;;
    --no-mount) do_mount=0; shift ;;
    --unmount) do_unmount=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    --sysfs) use_py=0; shift ;;
    show|reserve|release)
      [[ -z "$cmd" ]] || die "only one command may be given ('$cmd' and '$1')"
      cmd="$1"; shift ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n "$cmd" ]] || { usage >&2; exit 2; }

case "$size" in
  2M|2m|2048k|2048K|2048kB) size=2M; kb=2048 ;;
  1G|1g|1024M|1048576k|1048576K|1048576kB) size=1G; kb=1048576 ;;
  all) [[ "$cmd" == release ]] || die "--size all only applies to release"; kb=0 ;;
  *) die "unsupported page size '$size' (use 2M or 1G)" ;;
esac
[[ "$pages" =~ ^[0-9]+$ ]] || die "--pages must be a non-negative integer, got '$pages'"

[[ -d /sys/kernel/mm/hugepages ]] || die "this kernel has no hugepage support (/sys/kernel/mm/hugepages missing; CONFIG_HUGETLBFS)"

# Nodes as sysfs directories; a kernel without NUMA has only the global knob.
nodes=()
if [[ -d /sys/devices/system/node/node0 ]]; then
  if [[ "$node" == all ]]; then
    for d in /sys/devices/system/node/node[0-9]*; do
      nodes+=("${d##*node}")
    done
  else
    [[ "$node" =~ ^[0-9]+$ ]] || die "--node must be a number or 'all', got '$node'"
    [[ -d "/sys/devices/system/node/node$node" ]] || die "NUMA node $node does not exist"
    nodes=("$node")
  fi
elif [[ "$node" != all && "$node" != 0 ]]; then
  die "this kernel has no NUMA nodes; --node must be 0 or all"
fi

# nr_file KB [NODE] prints the sysfs file holding the page count.
nr_file() {
  if [[ $# -ge 2 ]]; then
    echo "/sys/devices/system/node/node$2/hugepages/hugepages-$1kB/nr_hugepages"
  else
    echo "/sys/kernel/mm/hugepages/hugepages-$1kB/nr_hugepages"
  fi
}

need_root() {
  if ((dry_run)); then return; fi
  [[ "$(id -u)" -eq 0 ]] || die "'$cmd' writes to /sys and mounts filesystems: run it as root (sudo scripts/hugepages.sh $cmd ...)"
}

run() {
  if ((dry_run)); then
    echo "+ $*"
  else
    "$@"
  fi
}

write_sysfs() { # write_sysfs VALUE FILE
  if ((dry_run)); then
    echo "+ echo $1 > $2"
  else
    echo "$1" >"$2" || die "cannot write $1 to $2"
  fi
}

size_name() { if (($1 >= 1048576)); then echo "$(($1 / 1048576))G"; else echo "$(($1 / 1024))M"; fi; }

have_py() { ((use_py)) && command -v dpdk-hugepages.py >/dev/null 2>&1; }

is_mounted() { awk -v d="$1" '$3 == "hugetlbfs" && $2 == d { found = 1 } END { exit !found }' /proc/mounts; }

show() {
  local d f n k any=0
  printf '%-6s %-6s %8s %8s %10s\n' node size total free reserved_MiB
  for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
    [[ -d "$d" ]] || continue
    k="${d##*hugepages-}"; k="${k%kB}"
    if ((${#nodes[@]})); then
      for n in "${nodes[@]}"; do
        f="$(nr_file "$k" "$n")"
        [[ -r "$f" ]] || continue
        local total free
        total="$(cat "$f")"
        free="$(cat "${f%nr_hugepages}free_hugepages")"
        printf '%-6s %-6s %8s %8s %10s\n' "$n" "$(size_name "$k")" "$total" "$free" "$((total * k / 1024))"
        ((total == 0)) || any=1
      done
    else
      total="$(cat "$d/nr_hugepages")"
      free="$(cat "$d/free_hugepages")"
      printf '%-6s %-6s %8s %8s %10s\n' - "$(size_name "$k")" "$total" "$free" "$((total * k / 1024))"
      ((total == 0)) || any=1
    fi
  done
  ((any)) || echo "(no hugepages reserved)"
  echo "hugetlbfs mounts:"
  awk '$3 == "hugetlbfs" { print "  " $2 " (" $4 ")"; found = 1 } END { if (!found) print "  (none)" }' /proc/mounts
}

reserve() {
  need_root
  local n f got want="$pages" bytes
  bytes=$((pages * kb / 1024))M
  if ((${#nodes[@]})); then
    for n in "${nodes[@]}"; do
      f="$(nr_file "$kb" "$n")"
      [[ -e "$f" ]] || die "node $n has no $size pages ($f missing; 1G pages need CPU support 'pdpe1gb')"
      if have_py; then
        run dpdk-hugepages.py --pagesize "$size" --node "$n" --reserve "$bytes"
      else
        write_sysfs "$pages" "$f"
      fi
      if ((!dry_run)); then
        got="$(cat "$f")"
        if ((got < want)); then
          warn "node $n: asked for $want $size pages, the kernel gave $got (memory fragmented or too small; reserve at boot: hugepagesz=$size hugepages=N)"
        fi
      fi
    done
  else
    f="$(nr_file "$kb")"
    [[ -e "$f" ]] || die "no $size pages on this kernel ($f missing)"
    if have_py; then
      run dpdk-hugepages.py --pagesize "$size" --reserve "$bytes"
    else
      write_sysfs "$pages" "$f"
    fi
  fi
  if ((do_mount)); then
    if is_mounted "$mount_dir"; then
      echo "hugepages.sh: hugetlbfs already mounted at $mount_dir" >&2
    elif have_py; then
      run mkdir -p "$mount_dir"
      run dpdk-hugepages.py --pagesize "$size" --mount --directory "$mount_dir"
    else
      run mkdir -p "$mount_dir"
      run mount -t hugetlbfs -o "pagesize=$size" nodev "$mount_dir"
    fi
  fi
  ((dry_run)) || show
}

release() {
  need_root
  local d k n
  for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
    [[ -d "$d" ]] || continue
    k="${d##*hugepages-}"; k="${k%kB}"
    ((kb == 0 || kb == k)) || continue
    # The kernel frees in-use pages only when their process exits; until
    # then they stay counted as surplus pages.
    if (($(cat "$d/free_hugepages") < $(cat "$d/nr_hugepages"))); then
      warn "$((k / 1024))M pages are in use (a DPDK process is running?): they return to the kernel when it exits"
    fi
    if ((${#nodes[@]})); then
      for n in "${nodes[@]}"; do
        if [[ -e "$(nr_file "$k" "$n")" ]]; then
          write_sysfs 0 "$(nr_file "$k" "$n")"
        fi
      done
    else
      write_sysfs 0 "$d/nr_hugepages"
    fi
  done
  if ((do_unmount)) && is_mounted "$mount_dir"; then
    run umount "$mount_dir"
  fi
  ((dry_run)) || show
}

case "$cmd" in
  show) show ;;
  reserve) reserve ;;
  release) release ;;
esac
