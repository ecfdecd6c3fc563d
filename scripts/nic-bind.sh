#!/usr/bin/env bash
# Hands a NIC to DPDK (vfio-pci) and gives it back to its kernel driver.
# The original driver is remembered in a state file, because once a NIC is on
# vfio-pci nothing on the system says which driver it came from.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/nic-bind.sh COMMAND [options] [DEVICE...]

commands:
  list                   NICs and their drivers (dpdk-devbind.py --status-dev net)
  bind DEVICE...         unbind from the kernel driver, bind to vfio-pci,
                         remember the kernel driver in the state file
  restore DEVICE...|all  bind back to the remembered kernel driver
  iommu                  explain whether vfio-pci can run with an IOMMU here

DEVICE is a PCI address (0000:03:00.0 or 03:00.0) or a kernel interface name
(eth1, enp3s0f0).

options:
  --force        bind even when the interface is up with an IP address or a
                 route (you will lose that connectivity)
  --noiommu      allow vfio's unsafe no-IOMMU mode when the machine has no
                 IOMMU (VMs without a virtual IOMMU); see "iommu"
  --driver NAME  DPDK-side driver (default vfio-pci)
  --state FILE   state file (default /var/lib/tunnelscope/nic-bind.state,
                 or $TUNNELSCOPE_NIC_STATE)
  --dry-run      print what would be done, change nothing
  -h, --help     this help

Examples:
  scripts/nic-bind.sh list
  sudo scripts/nic-bind.sh bind 0000:03:00.0 0000:03:00.1
  sudo scripts/nic-bind.sh bind --noiommu eth1      # in a VM
  sudo scripts/nic-bind.sh restore all
EOF
}

die() { echo "nic-bind.sh: $*" >&2; exit 1; }
warn() { echo "nic-bind.sh: $*" >&2; }
need() {
  command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' (Debian package: $2)"
}

cmd=""
force=0
noiommu=0
dry_run=0
driver="vfio-pci"
state="${TUNNELSCOPE_NIC_STATE:-/var/lib/tunnelscope/nic-bind.state}"
devices=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --force) force=1; shift ;;
    --noiommu) noiommu=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    --driver) (($# >= 2)) || die "--driver needs a name"; driver="$2"; shift 2 ;;
    --state) (($# >= 2)) || die "--state needs a file"; state="$2"; shift 2 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *)
      if [[ -z "$cmd" ]]; then cmd="$1"; else devices+=("$1"); fi
      shift ;;
  esac
done
[[ -n "$cmd" ]] || { usage >&2; exit 2; }

run() {
  if ((dry_run)); then echo "+ $*"; else "$@"; fi
}

need_root() {
  ((dry_run)) && return 0
  [[ "$(id -u)" -eq 0 ]] || die "'$cmd' changes driver bindings: run it as root (sudo scripts/nic-bind.sh $cmd ...)"
}

# pci_of DEVICE prints the full PCI address of a PCI address or interface.
pci_of() {
  local d="$1" link
  if [[ "$d" =~ ^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]]; then
    d="0000:$d"
  fi
  if [[ "$d" =~ ^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$ ]]; then
    [[ -d "/sys/bus/pci/devices/$d" ]] || die "no PCI device $d"
    echo "${d,,}"
    return
  fi
  [[ -e "/sys/class/net/$d" ]] || die "'$d' is neither a PCI address nor a network interface"
  link="$(readlink -f "/sys/class/net/$d/device" 2>/dev/null)" || true
  # virtio NICs hang off a virtioN child of the PCI function.
  while [[ -n "$link" && ! "$(basename "$link")" =~ ^[0-9a-f]{4}: ]]; do
    [[ "$link" == / ]] && link="" && break
    link="$(dirname "$link")"
  done
  [[ -n "$link" ]] || die "interface '$d' is not a PCI device (virtual or USB NICs cannot be bound)"
  basename "$link"
}

# ifaces_of PCI prints the kernel interfaces on a PCI function.
ifaces_of() {
  local n
  for n in /sys/class/net/*; do
    [[ -e "$n/device" ]] || continue
    if [[ "$(readlink -f "$n/device")" == *"/$1"* ]]; then
      basename "$n"
    fi
  done
}

current_driver() {
  if [[ -e "/sys/bus/pci/devices/$1/driver" ]]; then
    basename "$(readlink -f "/sys/bus/pci/devices/$1/driver")"
  fi
}

# in_use IFACE prints why the interface carries traffic the host relies on.
in_use() {
  local ifc="$1" addrs routes
  need ip iproute2
  addrs="$(ip -o addr show dev "$ifc" scope global 2>/dev/null | awk '{ print $4 }' | tr '\n' ' ')"
  routes="$(ip route show dev "$ifc" 2>/dev/null | head -n 3 | sed 's/ *$//' | paste -sd ';' -)"
  if [[ -n "$addrs" ]]; then echo "has address(es) ${addrs% }"; fi
  if [[ -n "$routes" ]]; then echo "carries route(s): $routes"; fi
}

have_iommu() {
  compgen -G '/sys/kernel/iommu_groups/*' >/dev/null
}

iommu_report() {
  if have_iommu; then
    echo "IOMMU: present ($(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 | wc -l) groups)."
    echo "  vfio-pci gives DPDK safe DMA: the NIC can only reach the memory DPDK mapped."
    echo "  All devices of one IOMMU group must be bound to vfio-pci (or no driver) together."
  else
    cat <<'EOF'
IOMMU: none visible (/sys/kernel/iommu_groups is empty).
  On bare metal: enable VT-d / AMD-Vi in the firmware and boot with
  intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD).
  In a VM without a virtual IOMMU (e.g. Vagrant with VirtualBox or libvirt
  defaults): vfio can still run in "no-IOMMU" mode
  (vfio.enable_unsafe_noiommu_mode=1). The device can then DMA anywhere in
  the guest's memory, which the kernel marks as tainting; this is acceptable
  for a test VM, never for a production box. Pass --noiommu to bind in this
  mode, or use the kernel command line option above.
EOF
  fi
  if [[ -r /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ]]; then
    echo "vfio no-IOMMU mode: $(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode)"
  fi
  if [[ -d /sys/bus/pci/drivers/vfio-pci ]]; then
    echo "vfio-pci: loaded"
  else
    echo "vfio-pci: not loaded (bind loads it with modprobe)"
  fi
}

load_vfio() {
  if [[ "$driver" != vfio-pci ]]; then
    if [[ ! -d "/sys/bus/pci/drivers/$driver" ]]; then
      need modprobe kmod
      run modprobe "$driver" || die "cannot load driver module '$driver'"
    fi
    return
  fi
  if ! have_iommu; then
    ((noiommu)) || die "no IOMMU on this machine: vfio-pci cannot bind safely. Enable the IOMMU, or pass --noiommu for vfio's unsafe no-IOMMU mode (test VMs only; run 'scripts/nic-bind.sh iommu' for details)"
    if [[ -w /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ]]; then
      run sh -c 'echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode'
    else
      need modprobe kmod
      run modprobe vfio enable_unsafe_noiommu_mode=1 || die "cannot load the vfio module (no kernel modules in this environment?)"
    fi
  fi
  if [[ ! -d /sys/bus/pci/drivers/vfio-pci ]]; then
    need modprobe kmod
    run modprobe vfio-pci || die "cannot load vfio-pci (is CONFIG_VFIO_PCI built for this kernel?)"
  fi
}

state_get() { # state_get PCI -> driver
  [[ -f "$state" ]] || return 0
  awk -v p="$1" '$1 == p { d = $2 } END { if (d != "") print d }' "$state"
}

state_put() { # state_put PCI DRIVER
  ((dry_run)) && { echo "+ record $1 $2 in $state"; return; }
  mkdir -p "$(dirname "$state")"
  local tmp="$state.tmp.$$"
  { [[ -f "$state" ]] && awk -v p="$1" '$1 != p' "$state"; echo "$1 $2"; } >"$tmp"
  mv -f "$tmp" "$state"
}

state_drop() { # state_drop PCI
  ((dry_run)) && { echo "+ forget $1 in $state"; return; }
  [[ -f "$state" ]] || return 0
  local tmp="$state.tmp.$$"
  awk -v p="$1" '$1 != p' "$state" >"$tmp"
  mv -f "$tmp" "$state"
}

bind() {
  ((${#devices[@]})) || die "bind needs at least one DEVICE (see 'scripts/nic-bind.sh list')"
  need_root
  need dpdk-devbind.py dpdk
  local d pci cur ifc why
  local pcis=()
  for d in "${devices[@]}"; do
    pci="$(pci_of "$d")"
    cur="$(current_driver "$pci")"
    if [[ "$cur" == "$driver" ]]; then
      echo "$pci: already on $driver"
      continue
    fi
    for ifc in $(ifaces_of "$pci"); do
      why="$(in_use "$ifc")"
      if [[ -n "$why" ]]; then
        if ((force)); then
          warn "$pci ($ifc) $why: unbinding anyway (--force)"
        else
          die "$pci ($ifc) is in use: ${why//$'\n'/; }. Binding it to $driver would cut that traffic; pass --force if you mean it"
        fi
      fi
    done
    pcis+=("$pci")
  done
  ((${#pcis[@]})) || return 0
  load_vfio
  for pci in "${pcis[@]}"; do
    cur="$(current_driver "$pci")"
    # Remember the first kernel driver only: binding twice must not make
    # vfio-pci the driver to restore.
    if [[ -n "$cur" && -z "$(state_get "$pci")" ]]; then
      state_put "$pci" "$cur"
    elif [[ -z "$cur" ]]; then
      warn "$pci has no driver now; restore will leave it unbound unless the state file names one"
    fi
    local extra=()
    ((force)) && extra+=(--force)
    run dpdk-devbind.py "${extra[@]}" --bind="$driver" "$pci"
    echo "$pci: ${cur:-no driver} -> $driver"
  done
}

restore() {
  ((${#devices[@]})) || die "restore needs DEVICE... or 'all'"
  need_root
  need dpdk-devbind.py dpdk
  local pcis=() d pci orig
  if [[ "${devices[0]}" == all ]]; then
    [[ -s "$state" ]] || { echo "nothing to restore ($state is empty or missing)"; return 0; }
    mapfile -t pcis < <(awk '{ print $1 }' "$state")
  else
    for d in "${devices[@]}"; do pcis+=("$(pci_of "$d")"); done
  fi
  for pci in "${pcis[@]}"; do
    orig="$(state_get "$pci")"
    [[ -n "$orig" ]] || die "$pci: no original driver recorded in $state; bind it yourself: dpdk-devbind.py --bind=DRIVER $pci"
    if [[ "$(current_driver "$pci")" != "$orig" ]]; then
      run dpdk-devbind.py --bind="$orig" "$pci"
    fi
    state_drop "$pci"
    echo "$pci: -> $orig"
  done
}

case "$cmd" in
  list)
    need dpdk-devbind.py dpdk
    dpdk-devbind.py --status-dev net
    if [[ -s "$state" ]]; then
      echo
      echo "Bound by nic-bind.sh (PCI address, kernel driver to restore), from $state:"
      sed 's/^/  /' "$state"
    fi
    ;;
  bind) bind ;;
  restore|unbind) restore ;;
  iommu) iommu_report ;;
  *) die "unknown command '$cmd' (list, bind, restore, iommu; see --help)" ;;
esac
