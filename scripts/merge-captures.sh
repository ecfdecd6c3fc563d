#!/usr/bin/env bash
# Builds one large Ethernet pcap for benchmarks by appending (not time-merging)
# the shared captures again and again. Benchmarks need a file big enough that
# start-up cost vanishes; appending keeps every flow's packets in their original
# order, which a timestamp merge of repeated copies would interleave.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/merge-captures.sh [--pcap-dir DIR] OUT MINPKTS [MAXFRAME]

Appends every Ethernet-link-type capture of the shared data set
(../shared/data/pcap from the repository root, or --pcap-dir DIR, or
$TUNNELSCOPE_PCAP_DIR) in name order, repeatedly, until OUT holds at least
MINPKTS packets. Captures of other link types (raw IP, PPP, Linux SLL, ...)
and mixed-link pcapng files are skipped; pcapng inputs are converted to pcap.

  OUT       output file, classic pcap (microsecond), link type Ethernet
  MINPKTS   minimum number of packets in OUT
  MAXFRAME  optional: drop frames whose wire length exceeds MAXFRAME bytes
            (1518 for DPDK's net_pcap, which rejects frames over one mbuf)

OUT is reused when it was built with the same MINPKTS/MAXFRAME and is newer
than every input (a stamp file OUT.stamp records how it was made).
Needs: capinfos, editcap, mergecap (and tshark when MAXFRAME is given).
EOF
}

die() { echo "merge-captures.sh: $*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' (Debian package: $2; scripts/deps.sh installs it)"
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pcap_dir="${TUNNELSCOPE_PCAP_DIR:-$repo_root/../shared/data/pcap}"

args=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --pcap-dir) (($# >= 2)) || die "--pcap-dir needs a directory"; pcap_dir="$2"; shift 2 ;;
    --pcap-dir=*) pcap_dir="${1#*=}"; shift ;;
    --) shift; args+=("$@"); break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
((${#args[@]} >= 2 && ${#args[@]} <= 3)) || { usage >&2; exit 2; }
out="${args[0]}"
minpkts="${args[1]}"
maxframe="${args[2]:-}"
[[ "$minpkts" =~ ^[1-9][0-9]*$ ]] || die "MINPKTS must be a positive integer, got '$minpkts'"
if [[ -n "$maxframe" ]] && ! [[ "$maxframe" =~ ^[0-9]+$ && "$maxframe" -ge 60 ]]; then
  die "MAXFRAME must be an integer >= 60, got '$maxframe'"
fi
[[ -d "$pcap_dir" ]] || die "capture directory '$pcap_dir' not found (set --pcap-dir or TUNNELSCOPE_PCAP_DIR)"

need capinfos wireshark-common
need editcap wireshark-common
need mergecap wireshark-common
[[ -z "$maxframe" ]] || need tshark tshark

shopt -s nullglob
candidates=("$pcap_dir"/*.pcap "$pcap_dir"/*.pcapng "$pcap_dir"/*.cap)
shopt -u nullglob
((${#candidates[@]})) || die "no .pcap/.pcapng/.cap files in '$pcap_dir'"
mapfile -t candidates < <(printf '%s\n' "${candidates[@]}" | LC_ALL=C sort)

stamp="$out.stamp"
want="minpkts=$minpkts maxframe=${maxframe:-none}"
if [[ -s "$out" && -f "$stamp" ]] && [[ "$(head -n1 "$stamp")" == "$want" ]]; then
  fresh=1
  for f in "${candidates[@]}" "${BASH_SOURCE[0]}"; do
    if [[ "$f" -nt "$out" ]]; then fresh=0; break; fi
  done
  if ((fresh)); then
    echo "merge-captures.sh: reusing $out ($(sed -n 2p "$stamp"))" >&2
    exit 0
  fi
fi

out_dir="$(dirname "$out")"
mkdir -p "$out_dir"
tmp="$(mktemp -d "$out_dir/.merge-captures.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# One pass: every usable capture, normalised to microsecond Ethernet pcap.
# capinfos -T -r prints "name<TAB>type<TAB>encapsulation<TAB>count" per file.
parts=()
skipped=()
n=0
for f in "${candidates[@]}"; do
  info="$(capinfos -T -r -M -t -E -c "$f" 2>/dev/null)" || { skipped+=("$(basename "$f")(unreadable)"); continue; }
  encap="$(cut -f3 <<<"$info")"
  if [[ "$encap" != "ether" ]]; then
    skipped+=("$(basename "$f")($encap)")
    continue
  fi
  n=$((n + 1))
  part="$tmp/$(printf '%03d' "$n").pcap"
  if [[ -n "$maxframe" ]]; then
    tshark -n -r "$f" -Y "frame.len <= $maxframe" -F pcap -w "$part" 2>"$tmp/err" \
      || die "tshark failed on '$f': $(cat "$tmp/err")"
  else
    editcap -F pcap "$f" "$part" 2>"$tmp/err" || die "editcap failed on '$f': $(cat "$tmp/err")"
  fi
  parts+=("$part")
done
((${#parts[@]})) || die "no Ethernet captures in '$pcap_dir'"
if ((${#skipped[@]})); then
  echo "merge-captures.sh: skipped non-Ethernet: ${skipped[*]}" >&2
fi

pass="$tmp/pass.pcap"
mergecap -a -F pcap -w "$pass" "${parts[@]}"
per_pass="$(capinfos -T -r -M -c "$pass" | cut -f2)"
[[ "$per_pass" =~ ^[1-9][0-9]*$ ]] || die "no packets left after filtering (MAXFRAME=${maxframe:-none})"

reps=$(((minpkts + per_pass - 1) / per_pass))
total=$((reps * per_pass))
echo "merge-captures.sh: ${#parts[@]} captures, $per_pass packets per pass, $reps passes -> $total packets" >&2

# A pcap is a 24-byte header followed by records, so the passes can be
# concatenated directly; mergecap would have to hold every copy open at once.
{
  cat "$pass"
  for ((i = 1; i < reps; i++)); do
    tail -c +25 "$pass"
  done
} >"$tmp/out.pcap"
mv -f "$tmp/out.pcap" "$out"
printf '%s\n%s packets, %s passes of %s captures\n' "$want" "$total" "$reps" "${#parts[@]}" >"$stamp"
echo "merge-captures.sh: wrote $out ($total packets)" >&2
