#!/usr/bin/env bash
# A fresh `pip install -e SRC` in a throwaway venv: time, distribution count and size (docs/install.md).
#   bash tests/helpers/install_size.sh /tmp/v_after .          # this checkout
# Prints the seconds pip took, the distributions `pip list` shows (pip itself left out), the
# venv's size and the part of it in nvidia-* wheels, and whether any unwanted package came in.
set -euo pipefail
venv=$1; src=$2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
start=$(date +%s)
"$venv/bin/pip" install -q --no-cache-dir -e "$src"
echo "seconds=$(( $(date +%s) - start ))"
"$venv/bin/pip" list --format=freeze > "$venv/freeze.txt"
echo "distributions=$(grep -vc '^pip=' "$venv/freeze.txt")"
echo "venv_mb=$(du -sm "$venv" | cut -f1)"
echo "nvidia_mb=$(du -sm "$venv"/lib/python3*/site-packages/nvidia 2>/dev/null | cut -f1)"
echo "unwanted: $(grep -iE '^(ipykernel|jupyter|torchvision|torchdyn|pytorch-lightning)' "$venv/freeze.txt" | tr '\n' ' ')"
