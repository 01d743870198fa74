# Sourced by bench/capacity (vs-janus): two test hosts on one machine, so that every server
# compared is reached over the same network path. Namespace $srv_ns holds the server under test
# (192.0.2.1 on veth sbsrv), namespace $gen_ns the load generator (192.0.2.2 on veth sbgen);
# the veth pair joins them. Addresses are from the documentation range (TESTING.md): nothing can
# leave the machine. Janus's ICE (libnice) does not gather on loopback, which is why the
# side-by-side runs here rather than on 127.0.0.1; switchboard runs here too so that both pay
# the same veth crossing per packet.
#
# Needs root (ip netns). Sets srv_ns, gen_ns, srv_ip, gen_ip, in_srv and in_gen (command
# prefixes that run a program inside each namespace), limit_sink, and appends the teardown to extra_cleanup.

srv_ns="sbsrv$$"
gen_ns="sbgen$$"
srv_ip=192.0.2.1
gen_ip=192.0.2.2
in_srv=(ip netns exec "$srv_ns")
in_gen=(ip netns exec "$gen_ns")
# The machine's limit measured along the same path: sent from the server's namespace to a
# socket in the generator's.
limit_sink=(--sink="$gen_ip" --sink-netns="$gen_ns")

ip netns add "$srv_ns"
ip netns add "$gen_ns"
extra_cleanup="${extra_cleanup:+$extra_cleanup; }ip netns del $srv_ns 2>/dev/null; ip netns del $gen_ns 2>/dev/null"
ip link add sbsrv netns "$srv_ns" type veth peer name sbgen netns "$gen_ns"
"${in_srv[@]}" ip addr add "$srv_ip/24" dev sbsrv
"${in_gen[@]}" ip addr add "$gen_ip/24" dev sbgen
for ns in "$srv_ns" "$gen_ns"; do
  ip netns exec "$ns" ip link set lo up
done
"${in_srv[@]}" ip link set sbsrv up
"${in_gen[@]}" ip link set sbgen up
