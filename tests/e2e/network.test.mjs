// One UDP port per worker and IPv6 (issue 12, docs/deploy.md), as users on two kinds of network
// see them. netns.mjs's bridge with IPv6 as well as IPv4; the server listens for media on
// 192.0.2.1 and 2001:db8::1, with every transport of its one worker on UDP port 45000
// (--rtc-port) and ICE-TCP off, so that UDP is the only way in.
//   - Vera's network is IPv4 only.
//   - Wim's namespace drops all IPv4 UDP (nftables): his browser loads the page over IPv4 but
//     its media can only go over IPv6.
//   - An ndc participant (node-datachannel: libjuice ICE, not a browser) joins their room from
//     the test's own namespace; two more ndc participants meet in a second room on the same
//     worker and the same port.
// Each browser must decode the other's video over a UDP pair whose server end is port 45000
// (Wim's at [2001:db8::1]); each ndc participant must receive the media of its own room's
// publishers and nothing else (no RTP with an SSRC its offers did not announce). Then a stranger
// sprays the shared port: dropped and counted in /metrics, and the calls go on. Last, an ndc
// participant publishes with a DTLS fingerprint in its offer that is not its certificate's: the
// server refuses the handshake, tells it room-closed and counts it, and the calls go on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import {
  joinWithLibrary,
  waitForFrames,
  videoFrom,
  sleep,
  selectedPaths,
  getJson,
  publishCamera,
} from './harness.mjs';
import { createNetwork, nft, nftCounted, SERVER_IP, SERVER_IP6 } from './netns.mjs';
import { NdcPeer, shutdownNdc } from './ndc_peer.mjs';

const PORT = 45000;
const VERA = 0;
const WIM = 1;

let net;
let server;
const browsers = [];
let vera;
let wim;
let ndcA;
const roomB = [];

async function until(fn, timeout, what) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what()} (after ${timeout} ms)`);
    await sleep(100);
  }
}

before(async () => {
  net = createNetwork(2, { ipv6: [WIM] });
  nft(net.clientNs[WIM], `table inet nov4udp {
  chain output { type filter hook output priority 0; meta nfproto ipv4 meta l4proto udp counter drop; }
  chain input { type filter hook input priority 0; meta nfproto ipv4 meta l4proto udp counter drop; }
}
`);
  server = await net.startServer([
    '--workers=1',
    `--rtc-listen=${SERVER_IP},${SERVER_IP6}`,
    `--rtc-port=${PORT}`,
    '--ice-tcp=false',
  ]);
  for (const i of [VERA, WIM]) browsers[i] = await net.launchBrowser(i, { server });
  [vera, wim] = await Promise.all([
    joinWithLibrary({ server, browser: browsers[VERA] }, 'network-a', 'Vera'),
    joinWithLibrary({ server, browser: browsers[WIM] }, 'network-a', 'Wim'),
  ]);
  await Promise.all([publishCamera(vera), publishCamera(wim)]);
  ndcA = new NdcPeer(server, 'network-a', 'Ndc-A');
  await ndcA.join();
  await ndcA.publish();
  for (const name of ['Ndc-B1', 'Ndc-B2']) {
    const peer = new NdcPeer(server, 'network-b', name);
    await peer.join();
    await peer.publish();
    roomB.push(peer);
  }
}, { timeout: 90_000 });

after(async () => {
  try {
    shutdownNdc();
    await Promise.all(browsers.map((b) => b?.close()));
    await server?.stop();
  } finally {
    net?.destroy();
  }
});

test('an IPv4 and an IPv6 browser see each other through one UDP port', async () => {
  await waitForFrames(vera, wim.id, 30_000);
  await waitForFrames(wim, vera.id, 30_000);
  const first = { vera: await videoFrom(vera, wim.id), wim: await videoFrom(wim, vera.id) };
  await sleep(4000);
  const second = { vera: await videoFrom(vera, wim.id), wim: await videoFrom(wim, vera.id) };
  const veraFps = (second.vera.framesDecoded - first.vera.framesDecoded) / 4;
  const wimFps = (second.wim.framesDecoded - first.wim.framesDecoded) / 4;
  console.log(`Vera decodes Wim at ${veraFps.toFixed(1)} fps, Wim decodes Vera at ${wimFps.toFixed(1)} fps`);
  // The fake camera runs at 20 fps (allocation.test.mjs); half of it means media flows freely.
  assert.ok(veraFps >= 10, `Vera's reception of Wim stalls: ${veraFps} fps`);
  assert.ok(wimFps >= 10, `Wim's reception of Vera stalls: ${wimFps} fps`);

  const veraPaths = await selectedPaths(vera);
  const wimPaths = await selectedPaths(wim);
  console.log(`Vera: ${JSON.stringify(veraPaths)}`);
  console.log(`Wim: ${JSON.stringify(wimPaths)}`);
  for (const side of ['publish', 'subscribe']) {
    assert.equal(veraPaths[side]?.protocol, 'udp');
    assert.equal(veraPaths[side].remoteAddress, SERVER_IP);
    assert.equal(veraPaths[side].remotePort, PORT, `Vera's ${side} connection is not on the shared port`);
    assert.equal(wimPaths[side]?.protocol, 'udp');
    assert.equal(wimPaths[side].remoteAddress, SERVER_IP6, `Wim's ${side} connection is not over IPv6`);
    assert.equal(wimPaths[side].remotePort, PORT, `Wim's ${side} connection is not on the shared port`);
    assert.equal(wimPaths[side].dtlsState, 'connected');
  }
  const dropped = nftCounted(net.clientNs[WIM], 'nov4udp');
  console.log(`IPv4 UDP packets dropped in Wim's namespace: ${dropped}`);
  assert.ok(dropped > 0, 'the IPv4 UDP drop rule saw nothing: the test did not block anything');
});

test('two rooms on one worker and one port: each participant gets its own room only', async () => {
  const [b1, b2] = roomB;
  const roomA = [vera.id, wim.id];
  // Ndc-A receives both browsers' audio and video, the two of room B each other's.
  await until(
    () => roomA.every((id) => ndcA.from(id).audio > 20 && ndcA.from(id).video > 20) &&
      b1.from(b2.id).video > 20 && b2.from(b1.id).video > 20,
    30_000,
    () => `media missing: Ndc-A ${JSON.stringify(roomA.map((id) => ndcA.from(id)))}, ` +
      `B1<-B2 ${JSON.stringify(b1.from(b2.id))}, B2<-B1 ${JSON.stringify(b2.from(b1.id))}`,
  );
  await sleep(2000);
  for (const peer of [ndcA, b1, b2]) {
    const senders = [...peer.received.keys()].sort();
    const expected = (peer === ndcA ? roomA : roomB.filter((p) => p !== peer).map((p) => p.id)).sort();
    assert.deepEqual(senders, expected, `${peer.name} received media from ${senders}`);
    assert.equal(peer.unattributed, 0,
      `${peer.name}: RTP nobody announced to it: ${JSON.stringify(peer.unattributedLog)}`);
  }
  const rooms = await getJson(server, '/api/rooms');
  const byName = Object.fromEntries(rooms.rooms.map((r) => [r.name, r]));
  assert.equal(byName['network-a'].participants.length, 3);
  assert.equal(byName['network-b'].participants.length, 2);
  assert.equal(byName['network-a'].worker, byName['network-b'].worker);
});

// The worker's network counters in /metrics (as of its last heartbeat, every 2 s).
async function networkCounters() {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^switchboard_worker_network_total\{counter="(\w+)"\} (\d+)$/gm)) {
    out[m[1]] = Number(m[2]);
  }
  return out;
}

test('a stranger spraying the shared port is dropped and counted; the calls go on', async () => {
  const before = await networkCounters();
  assert.ok(before.udp_received > 0, `no shared-port traffic counted: ${JSON.stringify(before)}`);
  const stranger = createSocket('udp4');
  await new Promise((resolve) => stranger.bind(0, '192.0.2.2', resolve));
  const send = (bytes) => new Promise((resolve) => stranger.send(bytes, PORT, SERVER_IP, resolve));
  const rtp = Buffer.alloc(200, 0x11);
  rtp[0] = 0x80;
  rtp[1] = 96;
  const dtls = Buffer.from([22, 0xfe, 0xfd, ...Array(40).fill(0)]);
  // A Binding request (RFC 8489: type 0x0001, magic cookie) with a USERNAME naming no transport.
  const username = Buffer.from('nosuchufrag:x');
  const stun = Buffer.alloc(20 + 4 + 16);
  stun.writeUInt16BE(0x0001, 0);
  stun.writeUInt16BE(4 + 16, 2);
  stun.writeUInt32BE(0x2112a442, 4);
  stun.writeUInt16BE(0x0006, 20);
  stun.writeUInt16BE(username.length, 22);
  username.copy(stun, 24);
  const startFrames = await videoFrom(vera, wim.id);
  for (let i = 0; i < 300; i++) {
    await send(i % 3 === 0 ? rtp : i % 3 === 1 ? dtls : stun);
  }
  stranger.close();
  const after = await until(async () => {
    const c = await networkCounters();
    return c.udp_unknown_source >= (before.udp_unknown_source ?? 0) + 200 &&
      c.udp_unknown_ufrag >= (before.udp_unknown_ufrag ?? 0) + 100 ? c : null;
  }, 10_000, () => 'the stranger\'s datagrams were not counted');
  console.log(`network counters before: ${JSON.stringify(before)}, after: ${JSON.stringify(after)}`);
  assert.equal(after.udp_tuples_moved ?? 0, before.udp_tuples_moved ?? 0);
  await sleep(2000);
  const endFrames = await videoFrom(vera, wim.id);
  const fps = (endFrames.framesDecoded - startFrames.framesDecoded) / 2;
  assert.ok(fps >= 10, `Vera's video of Wim stalled during the spray: ${fps} fps over the last 2 s`);
});

// One counter of /metrics (0 when it is not there).
async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

// RFC 8122 / RFC 5763: the fingerprint in the SDP is what the DTLS peer's certificate must hash
// to; the server checks it when the handshake ends (DESIGN.md: "the DTLS fingerprint must match
// the SDP"). A client that lies about it gets no media path, is told, and nobody else notices.
test('a publisher whose certificate does not match its SDP fingerprint is refused and told; the calls go on', async () => {
  const failuresBefore = await metric('switchboard_media_failures_total');
  const startFrames = await videoFrom(vera, wim.id);
  const startAt = Date.now();
  const startNdc = ndcA.from(vera.id).video;
  const mallory = new NdcPeer(server, 'network-a', 'Mallory');
  await mallory.join();
  const closed = mallory.next('room-closed', 20_000);
  // The same hash function and length, every byte changed: a certificate that is not hers.
  let forged = '';
  await mallory.publish({
    offerSdp: (sdp) => sdp.replace(/^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)$/m, (line, hash, hex) => {
      forged = hex.split(':').map((b) => (0xff - parseInt(b, 16)).toString(16).padStart(2, '0')
        .toUpperCase()).join(':');
      return `a=fingerprint:${hash} ${forged}`;
    }),
  });
  assert.ok(forged, 'the offer had a fingerprint to forge');
  const message = await closed;
  console.log(`Mallory was told: ${JSON.stringify(message)}`);
  assert.match(message.reason, /media connection failed/);
  assert.equal(await metric('switchboard_media_failures_total'), failuresBefore + 1);
  const rooms = await getJson(server, '/api/rooms');
  const names = rooms.rooms.find((r) => r.name === 'network-a').participants.map((p) => p.name);
  assert.ok(!names.includes('Mallory'), `Mallory is still in the room: ${names}`);
  mallory.close();
  // Meanwhile everyone else's media kept flowing.
  await sleep(2000);
  const endFrames = await videoFrom(vera, wim.id);
  const seconds = (Date.now() - startAt) / 1000;
  const fps = (endFrames.framesDecoded - startFrames.framesDecoded) / seconds;
  assert.ok(fps >= 10, `Vera's video of Wim stalled while Mallory was refused: ${fps.toFixed(1)} fps`);
  assert.ok(ndcA.from(vera.id).video > startNdc, "Ndc-A stopped receiving Vera's video");
});
