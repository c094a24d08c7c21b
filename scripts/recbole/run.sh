#!/usr/bin/env bash
# Runs RecBole 1.2.1 on a split written by `recagent data export NAME
# --recbole DIR`, scoring both maskings (see run.py and docs/ranker.md).
#
#   scripts/recbole/run.sh DIR NAME [--models Pop,ItemKNN,BPR,EASE,SASRec] [--seeds 5]
#
# The venv lives outside the repository ($RECBOLE_VENV, default
# ~/.venvs/recbole) and is built on first use from PyPI. RecBole 1.2.1
# predates NumPy 2, SciPy 1.13 and pandas 2.2, hence the pins.
set -euo pipefail
venv=${RECBOLE_VENV:-$HOME/.venvs/recbole}
if ! "$venv/bin/python" -c 'import recbole' 2>/dev/null; then
    echo "building $venv (RecBole 1.2.1 and torch, CPU; a few minutes)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'recbole==1.2.1' torch 'numpy<2' 'scipy<1.13' 'pandas<2.2'
fi
exec "$venv/bin/python" "$(dirname "$0")/run.py" "$@"
