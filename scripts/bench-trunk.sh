#!/usr/bin/env bash
# bench-trunk.sh MODE — cross-host TCP throughput and round trip over an 802.1Q uplink trunk.
#
#   MODE  bridge      : a Linux bridge in each host joins the container's veth and the uplink
#                       (frames cross untagged: the kernel here has no VLAN filtering)
#         switchyard  : a Switchyard agent in each host, the uplink on a trunk profile, the
#                       containers on VLAN 100 (frames cross tagged 100); supervisor in h1
#
# Topology (all namespaces made here, removed at exit):
#   c1 ─veth─ h1 ─eth1─┐                ┌─eth1─ h2 ─veth─ c2      (10.99.0.1 / 10.99.0.2)
#                      └─ sw: bridge br0 ┘
#   h1 ─ul0─ h2: management only (10.98.0.1/.2), for the agents to reach the supervisor.
# Env: DUR=10 REPS=3 SWITCHYARD_BIN=target/release/switchyard
# Prints: RESULT mode=M metric=tcp_gbps|rtt_avg_us median=.. values=..
set -euo pipefail
MODE=${1:?usage: bench-trunk.sh bridge|switchyard}
DUR=${DUR:-10}; REPS=${REPS:-3}
BIN=$(readlink -f "${SWITCHYARD_BIN:-target/release/switchyard}")
P=sytb$$
NS=("$P-h1" "$P-h2" "$P-sw" "$P-c1" "$P-c2")
D=$(mktemp -d /tmp/sy-bench-trunk.XXXXXX)
PIDS=()
cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$D"
}
trap cleanup EXIT
nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
# In the background, remembered for cleanup (ip netns exec execs: $! is the program itself).
daemon() { local n=$1 log=$2; shift 2; ip netns exec "$P-$n" "$@" >"$log" 2>&1 & PIDS+=($!); }
for n in "${NS[@]}"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n "$P-sw" link add br0 type bridge; ip -n "$P-sw" link set br0 up
for h in h1 h2; do
  ip -n "$P-sw" link add "$h-eth1" type veth peer name eth1 netns "$P-$h"
  ip -n "$P-sw" link set "$h-eth1" master br0 up
  ip -n "$P-$h" link set eth1 up
done
ip link add ul0 netns "$P-h1" type veth peer name ul0 netns "$P-h2"
ip -n "$P-h1" addr add 10.98.0.1/24 dev ul0; ip -n "$P-h1" link set ul0 up
ip -n "$P-h2" addr add 10.98.0.2/24 dev ul0; ip -n "$P-h2" link set ul0 up

case $MODE in
bridge)
  for i in 1 2; do
    ip -n "$P-h$i" link add br0 type bridge; ip -n "$P-h$i" link set br0 up
    ip -n "$P-h$i" link set eth1 master br0
    ip -n "$P-h$i" link add veth-c$i type veth peer name eth0 netns "$P-c$i"
    ip -n "$P-h$i" link set veth-c$i master br0 up
    ip -n "$P-c$i" addr add 10.99.0.$i/24 dev eth0; ip -n "$P-c$i" link set eth0 up
  done ;;
switchyard)
  SUP=http://10.98.0.1:7400
  daemon h1 "$D/sup.log" "$BIN" supervisor --data-dir "$D/sup" --listen 10.98.0.1:7400
  for _ in $(seq 100); do nsx h1 "$BIN" shell --supervisor $SUP --data-dir "$D/sup" -c 'show module' >/dev/null 2>&1 && break; sleep 0.1; done
  printf 'configure terminal\nvlan 100\nport-profile type ethernet uplink\n  switchport mode trunk\n  switchport trunk allowed vlan 100\n  no shutdown\n  state enabled\nport-profile type vethernet vlan100\n  switchport mode access\n  switchport access vlan 100\n  no shutdown\n  state enabled\nend\n' \
    | nsx h1 "$BIN" shell --supervisor $SUP --data-dir "$D/sup" >/dev/null
  for i in 1 2; do
    daemon "h$i" "$D/h$i.log" "$BIN" agent --supervisor $SUP --host-name "h$i" --data-dir "$D/h$i" --uplink eth1=uplink
  done
  for i in 1 2; do
    for _ in $(seq 100); do [[ -S $D/h$i/agent.sock ]] && break; sleep 0.1; done
    "$BIN" attach --data-dir "$D/h$i" --netns "$P-c$i" --profile vlan100 --ip 10.99.0.$i/24 >/dev/null
  done ;;
*) echo "unknown mode $MODE" >&2; exit 2 ;;
esac

for _ in $(seq 100); do nsx c1 ping -c1 -W1 10.99.0.2 >/dev/null 2>&1 && break; sleep 0.1; done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
tcp=(); rtt=()
for _ in $(seq "$REPS"); do
  ip netns exec "$P-c2" iperf3 -s -1 -p 5201 >/dev/null 2>&1 & server=$!
  sleep 0.3
  tcp+=("$(nsx c1 iperf3 -c 10.99.0.2 -p 5201 -t "$DUR" -J | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9,2))')")
  wait "$server" 2>/dev/null || true
  rtt+=("$(nsx c1 ping -q -c 200 -i 0.005 10.99.0.2 | awk -F/ '/^rtt/ {print int($5*1000)}')")
done
echo "RESULT mode=$MODE metric=tcp_gbps median=$(printf '%s\n' "${tcp[@]}" | median) values=$(IFS=,; echo "${tcp[*]}")"
echo "RESULT mode=$MODE metric=rtt_avg_us median=$(printf '%s\n' "${rtt[@]}" | median) values=$(IFS=,; echo "${rtt[*]}")"
