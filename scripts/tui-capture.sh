#!/usr/bin/env bash
# Drives `recagent chat` in a detached tmux session through a short
# conversation and saves `tmux capture-pane` text after each step.
#
#   scripts/tui-capture.sh [OUT_DIR]
#
# Environment: RECAGENT_BIN (default: recagent on PATH), NAME (ml-100k),
# CONTROLLER (rules), CHAT_USER (capture), TURN_TIMEOUT seconds (300).
set -euo pipefail

bin=${RECAGENT_BIN:-recagent}
out=${1:-tui-captures}
name=${NAME:-ml-100k}
controller=${CONTROLLER:-rules}
user=${CHAT_USER:-capture}
timeout=${TURN_TIMEOUT:-300}
command -v tmux >/dev/null || { echo "tmux is needed: apt-get install -y tmux" >&2; exit 1; }
mkdir -p "$out"
s="recagent-capture-$$"
trap 'tmux kill-session -t "$s" 2>/dev/null || true' EXIT

tmux new-session -d -s "$s" -x 120 -y 36 \
    "$bin chat $name --user $user --controller $controller; sleep 5"
screen() { tmux capture-pane -p -t "$s"; }
# Waits until the screen shows the pattern (grep -E) and the agent is idle.
wait_for() {
    local deadline=$((SECONDS + timeout))
    until screen | grep -qE "$1" && screen | grep -q " ready ·"; do
        if ((SECONDS > deadline)); then
            echo "timed out waiting for /$1/" >&2
            screen >&2
            exit 1
        fi
        sleep 0.5
    done
}

wait_for "Message"
screen >"$out/1-start.txt"

tmux send-keys -t "$s" "a funny animated movie from the 90s for my kids, we loved Toy Story" Enter
wait_for "▶ ?1\."
screen >"$out/2-first-answer.txt"

# Tab to the candidates, highlight the second, like it.
tmux send-keys -t "$s" Tab Down l
wait_for "liked:"
screen >"$out/3-liked.txt"

# Back to the message box (a letter in the candidates pane is a key).
tmux send-keys -t "$s" Escape
sleep 0.5
tmux send-keys -t "$s" "seen them all, something else" Enter
sleep 1
wait_for "▶ ? ?1\."
screen >"$out/4-something-else.txt"

tmux send-keys -t "$s" C-c
echo "captures in $out:"
ls "$out"
