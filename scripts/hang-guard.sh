#!/usr/bin/env bash
# Runs COMMAND with a time limit meant for hangs, not for speed. Its output is line-buffered (also
# in the processes it starts), so a log shows what ran last. When the limit passes, prints the
# stack of every thread of each process it started still running (with gdb, if installed), kills the
# command with everything it started, and fails with status 124.
# Usage: scripts/hang-guard.sh SECONDS COMMAND [ARG...]
set -uo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 SECONDS COMMAND [ARG...]" >&2
    exit 2
fi
limit=$1
shift
# Its own process group (setsid does not fork here: a background job of a script is no group
# leader), so that the kill below reaches the test processes too.
setsid stdbuf -oL -eL "$@" &
pid=$!
deadline=$((SECONDS + limit))
while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "=== hang-guard: \`$*\` still runs after ${limit} s" >&2
        for process in $(pgrep -g "$pid"); do
            echo "=== hang-guard: threads of $(tr '\0' ' ' < "/proc/$process/cmdline" 2>/dev/null | cut -c1-200)" >&2
            if command -v gdb >/dev/null; then
                timeout 120 gdb -p "$process" -batch -ex 'thread apply all bt 40' 2>&1 | grep -E '^(Thread|#)' >&2
            else
                echo "(install gdb for the stacks)" >&2
            fi
        done
        kill -KILL -- "-$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        exit 124
    fi
    sleep 2
done
wait "$pid"
