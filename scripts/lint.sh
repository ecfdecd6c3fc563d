#!/usr/bin/env bash
# Lints what Go's tools do not see: the shell scripts, the CI entry point,
# the TRex profile and the Vagrantfile. Exits non-zero on any finding.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/lint.sh

  shellcheck     every scripts/*.sh, scripts/lib/*.sh and .ci/run (when present)
  python3        byte-compiles scripts/trex/*.py (syntax errors)
  luac -p        scripts/pktgen/*.lua, when luac is installed
  vagrant        `vagrant validate --ignore-provider` when vagrant is
                 installed (no provider or VM is needed for that)

Exits 1 when any check reports a finding, 2 when shellcheck is missing.
EOF
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "lint.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

command -v shellcheck >/dev/null 2>&1 || {
  echo "lint.sh: missing tool 'shellcheck' (Debian package: shellcheck; scripts/deps.sh installs it)" >&2
  exit 2
}

failed=0
shopt -s nullglob
targets=(scripts/*.sh scripts/lib/*.sh)
[[ -f .ci/run ]] && targets+=(.ci/run)
if ((${#targets[@]})); then
  # .ci/run has no .sh suffix; -s bash covers files without a shebang too.
  if shellcheck -s bash -x "${targets[@]}"; then
    echo "lint.sh: shellcheck clean: ${#targets[@]} files"
  else
    failed=1
  fi
fi

py=(scripts/trex/*.py)
if ((${#py[@]})); then
  if python3 - "${py[@]}" <<'EOF'
import sys
ok = True
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        src = f.read()
    try:
        compile(src, path, "exec")
    except SyntaxError as e:
        print(f"{path}:{e.lineno}: {e.msg}", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
EOF
  then
    echo "lint.sh: python syntax clean: ${#py[@]} files"
  else
    failed=1
  fi
fi

lua=(scripts/pktgen/*.lua)
if ((${#lua[@]})); then
  luac=""
  for c in luac luac5.4 luac5.3 luac5.1; do
    if command -v "$c" >/dev/null 2>&1; then luac="$c"; break; fi
  done
  if [[ -n "$luac" ]]; then
    if "$luac" -p "${lua[@]}"; then
      echo "lint.sh: lua syntax clean: ${#lua[@]} files"
    else
      failed=1
    fi
  else
    echo "lint.sh: skipping lua syntax check: no luac installed (Debian package lua5.4)"
  fi
fi

if [[ -f Vagrantfile ]]; then
  if command -v vagrant >/dev/null 2>&1; then
    # --ignore-provider: validation needs no VirtualBox/libvirt; the
    # checkpoint service would otherwise be contacted over the network.
    if out="$(VAGRANT_CHECKPOINT_DISABLE=1 vagrant validate --ignore-provider --no-tty 2>&1)"; then
      echo "lint.sh: Vagrantfile valid"
    else
      echo "$out" >&2
      failed=1
    fi
  else
    echo "lint.sh: skipping Vagrantfile: vagrant not installed (Debian package vagrant; scripts/deps.sh installs it)"
  fi
fi

exit "$failed"
