#!/usr/bin/env bash
# Create or refresh the control-node virtualenv (.venv) from tools/requirements.in and
# tools/constraints.txt. A stamp file keyed on those files' hash and the interpreter makes a
# second run a no-op. Prints the venv path on success.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
req=$root/tools/requirements.in
con=$root/tools/constraints.txt
stamp=$venv/.portsec-stamp

# A Python >= 3.12: the newest ansible-core (2.21) needs it on the control node.
find_python() {
  local cand v
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return 0; fi
  local -a cands=(python3.12 python3.13 python3.14)
  if command -v pyenv >/dev/null 2>&1; then
    local proot
    proot=$(pyenv root 2>/dev/null || true)
    for v in "$proot"/versions/3.12* "$proot"/versions/3.13* "$proot"/versions/3.14*; do
      [ -x "$v/bin/python3" ] && cands+=("$v/bin/python3")
    done
  fi
  for v in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -x "$v" ] && cands+=("$v")
  done
  cands+=(python3)
  for cand in "${cands[@]}"; do
    # A pyenv shim for a version that is not selected exits non-zero: skip it.
    if "$cand" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$cand" 2>/dev/null || echo "$cand"
      return 0
    fi
  done
  return 1
}

cache=$root/tools/zipimport_cache.py

key() {
  { cat "$req" "$con" "$cache"; "$venv/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null; } | sha256sum | cut -d' ' -f1
}

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(key)" ]; then
  echo "$venv"
  exit 0
fi

python=$(find_python) || { echo "venv.sh: no Python >= 3.12 found on PATH or under pyenv; set PYTHON=/path/to/python3.12" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
  echo "venv.sh: creating $venv with $python ($("$python" -V 2>&1))" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi
echo "venv.sh: installing pinned tools into $venv (a few minutes the first time)" >&2
# Some machines' pip configuration names local index folders that may not exist: drop that noise.
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; } >&2; }
quiet "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==$(sed -n 's/^pip==//p' "$con")"
quiet "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" -c "$con"
# The bytecode cache for zip imports (tools/zipimport_cache.py: each Ansible module's payload
# is a zip whose sources Python would compile again at every task), on for every Python of
# this venv through a .pth line; its cache lives in the venv.
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
cp "$cache" "$site/portsec_zipimport_cache.py"
echo "import portsec_zipimport_cache" > "$site/portsec_zipimport_cache.pth"
rm -rf "$venv/zipimport-cache"
key > "$stamp"
echo "$venv"
