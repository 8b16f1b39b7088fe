#!/usr/bin/env bash
# Mirror the checkout to build/ansible_collections/portsec/openstack, the path layout that
# ansible-test, pytest imports and playbooks need. A copy, not a symlink: ansible-test resolves
# the working directory, so a symlinked tree is seen at its real path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/build/ansible_collections/portsec/openstack
mkdir -p "$dest"
rsync -a --delete \
  --exclude=/.git/ --exclude=/.venv/ --exclude=/.venvs/ --exclude=/build/ \
  --exclude=/tests/output/ --exclude=/tests/cloud/.state/ --exclude=/benchmarks/output/ \
  --exclude=__pycache__/ --exclude=.pytest_cache/ --exclude=.ruff_cache/ --exclude='/*.tar.gz' \
  "$root/" "$dest/"
# ansible-test lists a collection's files with git (cached + untracked, minus .gitignore). Seen
# from the outer checkout the whole copy is ignored (build/), so give the copy its own empty
# repository: then every file not in .gitignore counts, as in the checkout.
[ -d "$dest/.git" ] || git -C "$dest" init --quiet
echo "$dest"
