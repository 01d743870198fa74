// A real network path for end-to-end tests that need more than loopback: network namespaces
// joined by a Linux bridge, a token bucket (tc tbf) on any client's downlink, the switchboard in
// one namespace and one Chromium per client namespace.
//
//   test process's ns           server ns                            client ns i
//   sbt<pid> 192.0.2.2 ══veth══ t0 ─┐
//                                   br0 192.0.2.1 (switchboard)
//                                   └─ c<i> [tbf: i's downlink] ══veth══ eth0 192.0.2.(10+i)
//                                                                        (its own Chromium)
//
// - Everything is in 192.0.2.0/24 (TEST-NET-1, documentation only) and no namespace has a route
//   anywhere else, nor a link to a physical device: nothing can leave the machine. IPv6 is
//   switched off in the namespaces so no router solicitations or DAD traffic cross the links,
//   unless createNetwork is asked for it ({ ipv6: true } for every client, or a list of client
//   indexes): then the bridge and those clients also get addresses of 2001:db8::/64 (RFC 3849,
//   documentation only; on-link, no route beyond), without duplicate address detection or
//   router solicitations.
// - The server namespace holds the bridge; the bridge carries the server's address, so the
//   switchboard (and its workers, which inherit the namespace) listens on 192.0.2.1 for HTTP,
//   WebSocket and media (--listen, --rtc-listen; the announced address defaults to the latter).
// - Each client namespace is joined to the bridge by a veth pair whose bridge-side end, c<i>,
//   stays in the server namespace. Its egress is everything toward client i (its downlink), so
//   shape(i, kbit) puts the tbf there. Client i's uplink is never shaped.
// - The test process itself must reach the server too (harness.startServer's health probe,
//   getJson('/api/rooms')): node cannot run its fetches inside another namespace, so the simplest
//   is one more veth from the process's own namespace onto the bridge, 192.0.2.2. Run the test
//   in a fresh namespace (`unshare -n sh -c 'ip link set lo up && exec node --test ...'`, as
//   scripts/test.sh does): that link and its route then exist only there. createNetwork refuses
//   to run where 192.0.2.0/24 is already in use.
// - The server is started through harness.startServer with the prefix `ip netns exec <server
//   ns>`, which execs in place: the child's pid is the switchboard's, and stop() and the log
//   checks work as for the other tests.
// - Chromium is started by playwright through a generated wrapper, `exec ip netns exec <client
//   ns> /usr/bin/chromium "$@"`, used as executablePath: playwright drives it over a pipe
//   (--remote-debugging-pipe, inherited file descriptors), which does not care about namespaces.
//   A page from http://192.0.2.1:PORT is not a secure context (only loopback and https are), so
//   navigator.mediaDevices would be missing: each browser gets
//   --unsafely-treat-insecure-origin-as-secure for the server's origin.
// - A cluster of nodes (createNetwork(clients, { nodes: N })): node 0 is the server namespace
//   above; nodes 1..N-1 get namespaces of their own, each joined to the bridge by a veth pair
//   (bridge-side end n<k>) with address 192.0.2.(30+k) (nodeIp(k)). startNode(k, flags) starts a
//   switchboard there, listening on its address and announcing it as --node-address. A service
//   all nodes share (redis-server) can listen on the test process's own 192.0.2.2.
// - destroy() deletes the namespaces (the veth pairs and the bridge go with them); it is also
//   run when the process exits or is sent SIGINT/SIGTERM, and namespaces that a killed earlier
//   run left behind (their pid is gone) are deleted by the next createNetwork. Needs root.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser } from './harness.mjs';

export const SERVER_IP = '192.0.2.1';
export const TEST_PROCESS_IP = '192.0.2.2';
export const clientIp = (i) => `192.0.2.${10 + i}`;
export const nodeIp = (k) => (k === 0 ? SERVER_IP : `192.0.2.${30 + k}`);
export const SERVER_IP6 = '2001:db8::1';
export const clientIp6 = (i) => `2001:db8::${(10 + i).toString(16)}`;
const PREFIX_LENGTH = 24;

const NAME_PREFIX = 'sbnet';
let counter = 0;
const live = new Set(); // networks not destroyed yet, for the exit handler

function run(argv, { check = true } = {}) {
  try {
    return execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    if (!check) return '';
    throw new Error(`${argv.join(' ')}: ${e.stderr?.toString().trim() || e.message}`);
  }
}

// Namespaces of earlier runs of this module whose process is gone (a SIGKILL skips every exit
// handler).
function removeStale() {
  if (!existsSync('/run/netns')) return;
  for (const name of readdirSync('/run/netns')) {
    const m = new RegExp(`^${NAME_PREFIX}(\\d+)_`).exec(name);
    if (m && !existsSync(`/proc/${m[1]}`)) run(['ip', 'netns', 'del', name], { check: false });
  }
}

function destroyAll() {
  for (const net of [...live]) net.destroy();
}
let handlersInstalled = false;
function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', destroyAll);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      destroyAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

// The token bucket's depth for a rate: it must hold at least one full-size packet (a packet
// bigger than the bucket is never sent: 16 kbit = 2000 bytes, over 1514 bytes of Ethernet frame),
// and enough that the bucket does not run dry between two dequeues of the qdisc watchdog at high
// rates (rate/50: 20 ms of traffic, 100 kbit = 12.5 kB at 5 Mbit/s; a shallower bucket makes tbf
// deliver less than its rate). Not more: every bit of burst lets the link exceed its rate for a
// moment, which a bandwidth estimator would read as capacity.
export const burstKbit = (rateKbit) => Math.max(16, Math.ceil(rateKbit / 50));

// How long a packet may wait in the bucket's queue before tbf drops it: the buffer of the
// access link. 200 ms, as home routers and modems buffer (often more); at 300 kbit/s that is
// 7.5 kB, a handful of video packets. A 50 ms queue at that rate holds 1.9 kB (one packet and
// a half): any burst of two frames' packets, a retransmission or a probe is dropped, which
// tests tbf more than the server.
export const QUEUE_MS = 200;

// Builds the server namespace with the bridge and `clients` client namespaces (see the top).
// Returns { serverNs, clientNs[], shape, unshape, qdiscStats, startServer, launchBrowser,
// destroy }.
export function createNetwork(clients, { ipv6 = false, nodes = 1 } = {}) {
  installExitHandlers();
  removeStale();
  if (run(['ip', '-4', '-o', 'addr', 'show', 'to', `${SERVER_IP}/${PREFIX_LENGTH}`]).trim()) {
    throw new Error(
      `192.0.2.0/24 is already in use in this namespace: run the test in a fresh one (unshare -n)`,
    );
  }
  const id = `${NAME_PREFIX}${process.pid}_${counter++}`;
  const serverNs = `${id}s`;
  const clientNs = Array.from({ length: clients }, (_, i) => `${id}c${i}`);
  // Node 0 is the server namespace itself.
  const nodeNs = Array.from({ length: nodes }, (_, k) => (k === 0 ? serverNs : `${id}n${k}`));
  const testLink = `sbt${process.pid}`.slice(0, 15);
  const tempDir = mkdtempSync(join(tmpdir(), 'sbnet-'));
  let destroyed = false;

  const net = {
    serverNs,
    clientNs,
    nodeNs,
    nodeIp,
    serverIp: SERVER_IP,
    clientIp,
    serverIp6: ipv6 === true || ipv6?.length > 0 ? SERVER_IP6 : undefined,
    // Token bucket of `rateKbit` on client i's downlink (replaces any earlier one).
    shape(i, rateKbit) {
      run(['tc', '-n', serverNs, 'qdisc', 'replace', 'dev', `c${i}`, 'root', 'tbf',
        'rate', `${rateKbit}kbit`, 'burst', `${burstKbit(rateKbit)}kbit`, 'latency', `${QUEUE_MS}ms`]);
    },
    unshape(i) {
      run(['tc', '-n', serverNs, 'qdisc', 'del', 'dev', `c${i}`, 'root'], { check: false });
    },
    // What the qdisc on client i's downlink did so far: { sentBytes, sentPackets, dropped,
    // overlimits } (tc -s), all 0 without a tbf.
    qdiscStats(i) {
      const text = run(['tc', '-s', '-n', serverNs, 'qdisc', 'show', 'dev', `c${i}`]);
      const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/.exec(text);
      return m
        ? { sentBytes: +m[1], sentPackets: +m[2], dropped: +m[3], overlimits: +m[4] }
        : { sentBytes: 0, sentPackets: 0, dropped: 0, overlimits: 0 };
    },
    // harness.startServer inside the server namespace, listening on 192.0.2.1.
    startServer(flags = [], options = {}) {
      return startServer([`--listen=${SERVER_IP}`, `--rtc-listen=${SERVER_IP}`, ...flags], {
        ...options,
        command: ['ip', 'netns', 'exec', serverNs],
        host: SERVER_IP,
      });
    },
    // A cluster node: harness.startServer inside node k's namespace, on its address.
    startNode(k, flags = [], options = {}) {
      const ip = nodeIp(k);
      return startServer([`--listen=${ip}`, `--rtc-listen=${ip}`, `--node-address=${ip}`, ...flags], {
        ...options,
        command: ['ip', 'netns', 'exec', nodeNs[k]],
        host: ip,
      });
    },
    // harness.launchBrowser with Chromium inside client namespace i; `server` (from startServer)
    // makes its plain-HTTP origin count as secure (getUserMedia).
    async launchBrowser(i, { server, extraArgs = [] } = {}) {
      const wrapper = join(tempDir, `chromium-${i}`);
      const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${clientNs[i]} ${chromiumPath} "$@"\n`,
        { mode: 0o755 });
      const args = [...extraArgs];
      if (server?.url.startsWith('http:')) {
        args.push(`--unsafely-treat-insecure-origin-as-secure=${server.url}`);
      }
      return launchBrowser(args, { executablePath: wrapper });
    },
    // Deletes everything; idempotent. Close browsers and stop the server first where that matters
    // (a namespace only goes away once its last process has).
    destroy() {
      if (destroyed) return;
      destroyed = true;
      live.delete(net);
      run(['ip', 'link', 'del', testLink], { check: false });
      for (const ns of [...clientNs, ...nodeNs.slice(1), serverNs]) {
        run(['ip', 'netns', 'del', ns], { check: false });
      }
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
  live.add(net);

  try {
    const inNs = (ns, ...argv) => run(['ip', 'netns', 'exec', ns, ...argv]);
    const v6 = (i) => ipv6 === true || (Array.isArray(ipv6) && ipv6.includes(i));
    const anyV6 = ipv6 === true || (Array.isArray(ipv6) && ipv6.length > 0);
    const sysctls = (on) => on
      ? ['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.all.router_solicitations=0', 'net.ipv6.conf.default.router_solicitations=0',
        'net.ipv6.conf.all.accept_ra=0', 'net.ipv6.conf.default.accept_ra=0']
      : ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];
    run(['ip', 'netns', 'add', serverNs]);
    inNs(serverNs, ...sysctls(anyV6));
    run(['ip', '-n', serverNs, 'link', 'set', 'lo', 'up']);
    run(['ip', '-n', serverNs, 'link', 'add', 'br0', 'type', 'bridge']);
    run(['ip', '-n', serverNs, 'addr', 'add', `${SERVER_IP}/${PREFIX_LENGTH}`, 'dev', 'br0']);
    if (anyV6) run(['ip', '-n', serverNs, 'addr', 'add', `${SERVER_IP6}/64`, 'dev', 'br0', 'nodad']);
    run(['ip', '-n', serverNs, 'link', 'set', 'br0', 'up']);

    // The test process's own leg.
    run(['ip', 'link', 'add', testLink, 'type', 'veth', 'peer', 'name', 't0', 'netns', serverNs]);
    run(['ip', '-n', serverNs, 'link', 'set', 't0', 'master', 'br0', 'up']);
    run(['ip', 'addr', 'add', `${TEST_PROCESS_IP}/${PREFIX_LENGTH}`, 'dev', testLink]);
    run(['ip', 'link', 'set', testLink, 'up']);

    nodeNs.slice(1).forEach((ns, j) => {
      const k = j + 1;
      run(['ip', 'netns', 'add', ns]);
      inNs(ns, ...sysctls(false));
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', serverNs, 'link', 'add', `n${k}`, 'type', 'veth', 'peer', 'name', 'eth0',
        'netns', ns]);
      run(['ip', '-n', serverNs, 'link', 'set', `n${k}`, 'master', 'br0', 'up']);
      run(['ip', '-n', ns, 'addr', 'add', `${nodeIp(k)}/${PREFIX_LENGTH}`, 'dev', 'eth0']);
      run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    });

    clientNs.forEach((ns, i) => {
      run(['ip', 'netns', 'add', ns]);
      inNs(ns, ...sysctls(v6(i)));
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', serverNs, 'link', 'add', `c${i}`, 'type', 'veth', 'peer', 'name', 'eth0',
        'netns', ns]);
      run(['ip', '-n', serverNs, 'link', 'set', `c${i}`, 'master', 'br0', 'up']);
      run(['ip', '-n', ns, 'addr', 'add', `${clientIp(i)}/${PREFIX_LENGTH}`, 'dev', 'eth0']);
      if (v6(i)) run(['ip', '-n', ns, 'addr', 'add', `${clientIp6(i)}/64`, 'dev', 'eth0', 'nodad']);
      run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    });
  } catch (e) {
    net.destroy();
    throw e;
  }
  return net;
}

// Loads an nftables ruleset (`script`, nft -f syntax) in namespace `ns`.
export function nft(ns, script) {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft in ${ns}: ${r.stderr || r.error}`);
}

// The sum of the packet counters of nftables table `table` (family inet) in namespace `ns`.
export function nftCounted(ns, table) {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', table],
    { encoding: 'utf8' });
  return [...r.stdout.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}
