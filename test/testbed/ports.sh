# free_port (sourced, not run): prints a loopback port nothing uses, for a listener the test bed
# is about to start. It is picked BELOW the kernel's ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 on Linux by default): a port in that range
# is what the kernel hands out as the source port of outgoing connections, so one found free
# there can be taken by any client's connection (pilot-discovery's own to the API server did
# it: "bind: address already in use" on its webhook port, and every later up timed out) before
# the listener binds it. Below the range only another listener can take it, and the check below
# sees listeners. Ports listed in USED_PORTS are skipped: $(free_port) runs in a subshell, so the
# caller adds each port it takes (USED_PORTS+="$p "). Needs a die function.
USED_PORTS=${USED_PORTS:-" "}
ephemeral_low() {
  local lo
  lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || lo=
  case $lo in ''|*[!0-9]*) lo=32768 ;; esac
  echo "$lo"
}
port_free() { # port -> true if nothing listens on it and no socket uses it locally
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null \
    && ! { command -v ss >/dev/null && ss -Htan "( sport = :$1 )" | grep -q .; }
}
port_listened() { # port -> true if something listens on 127.0.0.1:port (or on every address)
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null \
    || { command -v ss >/dev/null && ss -Htln "( sport = :$1 )" | grep -q .; }
}
free_port() {
  local lo first span p
  lo=$(ephemeral_low)
  first=20000
  if [ "$lo" -le $((first + 1000)) ]; then first=10000; fi
  span=$((lo - first))
  [ "$span" -ge 1000 ] || die "the ephemeral port range starts at $lo: no room below it for the test bed's listeners"
  for _ in $(seq 1 200); do
    p=$(( first + (RANDOM * 32768 + RANDOM) % span ))
    case $USED_PORTS in *" $p "*) continue ;; esac
    if port_free "$p"; then USED_PORTS+="$p "; echo "$p"; return 0; fi
  done
  die "no free port found below $lo"
}
