#!/usr/bin/env bash
# dpbench.sh's cmd-mode switch with policy: ../shared/bench/switchyard-switch.sh as it is, then a
# 100-entry stateful access list in and out of the `bench` port-profile once the supervisor
# answers — 99 entries that match none of the benchmark's traffic, then `permit ip any any
# stateful` — so every frame of the benchmark crosses both lists and the connection tracker.
#   SY_POLICY=acl (default) | none      SY_ACL_ENTRIES=100
# Used by scripts/dpbench-policy; runs where switchyard-switch.sh runs (dpbench's host netns).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=$(cd "$HERE/../../shared/bench" && pwd)
BIN=${SWITCHYARD_BIN:-switchyard}
SCHEME=${SY_SCHEME:-http}
PORT=${SWITCHYARD_BENCH_PORT:-7400}
read -r -a SH_ARGS <<<"${SY_SHELL_ARGS:-}"
SUPERVISOR=$SCHEME://127.0.0.1:$PORT
"$SHARED/switchyard-switch.sh" "$@" &
switch=$!
if [[ ${SY_POLICY:-acl} == acl ]]; then
  entries=${SY_ACL_ENTRIES:-100}
  {
    echo "configure terminal"
    echo "ip access-list BENCH"
    for i in $(seq 1 $((entries - 1))); do
      echo "  $((i * 10)) deny tcp any 10.$((200 + i / 250)).$((i % 250)).0/24 eq $((1000 + i))"
    done
    echo "  $((entries * 10)) permit ip any any stateful"
    echo "port-profile type vethernet bench"
    echo "  ip port access-group BENCH in"
    echo "  ip port access-group BENCH out"
    echo "end"
  } >"/tmp/sy-bench-acl.$$"
  for _ in $(seq 300); do
    "$BIN" shell --supervisor "$SUPERVISOR" "${SH_ARGS[@]}" -c 'show port-profile name bench' >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$BIN" shell --supervisor "$SUPERVISOR" "${SH_ARGS[@]}" <"/tmp/sy-bench-acl.$$" >/dev/null
  rm -f "/tmp/sy-bench-acl.$$"
fi
wait "$switch"
