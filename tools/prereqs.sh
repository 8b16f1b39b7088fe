#!/usr/bin/env bash
# Install the Debian packages that `make demo` and `make test` need and a new Debian 12 machine
# may lack: rsync (tools/sync.sh), gcc and libc6-dev (see below), shellcheck (without it ansible-test skips its shellcheck
# sanity test, so a developer's run and CI's differ) and python3-venv (the local cloud's venv is
# built with Debian's python3.11). The local cloud installs its own packages (Open vSwitch, OVN,
# RabbitMQ, PostgreSQL) on its first start. A no-op when everything is there.
set -euo pipefail

missing=()
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v git >/dev/null 2>&1 || missing+=(git)
# A C compiler and libc's headers: the oldest control node's openstacksdk (1.0.0, make test's
# compat stage) needs netifaces, which pip compiles on Python 3.12.
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/include/stdio.h ] || missing+=(libc6-dev)
# Debian's python3 (3.11) with venv: the local cloud's services are pinned for Python 3.11.
if [ ! -x /usr/bin/python3.11 ]; then
  missing+=(python3 python3-venv)
elif ! /usr/bin/python3.11 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "prereqs.sh: these Debian packages are missing: ${missing[*]}; run as root, or install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "prereqs.sh: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for tool in "${missing[@]}"; do
  case $tool in
    python3-venv) /usr/bin/python3.11 -c 'import ensurepip, venv' ;;
    python3) [ -x /usr/bin/python3.11 ] ;;
    libc6-dev) [ -e /usr/include/stdio.h ] ;;
    *) command -v "$tool" >/dev/null ;;
  esac || { echo "prereqs.sh: $tool is still missing after apt-get install" >&2; exit 1; }
done
