// ICE over TCP (RFC 6544, docs/deploy.md) as a user behind a UDP-blocking firewall sees it: two
// participants in namespaces of their own on the bridge of netns.mjs, the server in a third.
// In Tess's namespace nftables drops every UDP packet, in and out (an office or hotel network
// that lets only TCP through); Uma's network is open. Nothing is configured in either browser
// or in the server (the ICE-TCP port is on by default). Both publish camera and microphone:
// each must decode the other's video and keep decoding, Tess's connections must run over a TCP
// candidate pair to the server's passive candidate, Uma's over UDP, and the drop rule must
// have seen Tess's UDP attempts (so the test cannot pass by UDP slipping through).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  joinWithLibrary, waitForFrames, videoFrom, sleep, selectedPaths, publishCamera,
} from './harness.mjs';
import { createNetwork, nft, nftCounted } from './netns.mjs';

const ROOM = 'icetcp';
const TESS = 0; // UDP blocked
const UMA = 1; // UDP open

let net;
let server;
const browsers = [];
let tess;
let uma;


before(async () => {
  net = createNetwork(2);
  nft(net.clientNs[TESS], `table inet noudp {
  chain output { type filter hook output priority 0; meta l4proto udp counter drop; }
  chain input { type filter hook input priority 0; meta l4proto udp counter drop; }
}
`);
  server = await net.startServer(['--workers=1']);
  for (const i of [TESS, UMA]) browsers[i] = await net.launchBrowser(i, { server });
  [tess, uma] = await Promise.all([
    joinWithLibrary({ server, browser: browsers[TESS] }, ROOM, 'Tess'),
    joinWithLibrary({ server, browser: browsers[UMA] }, ROOM, 'Uma'),
  ]);
  await Promise.all([publishCamera(tess), publishCamera(uma)]);
}, { timeout: 60_000 });

after(async () => {
  try {
    await Promise.all(browsers.map((b) => b?.close()));
    await server?.stop();
  } finally {
    net?.destroy();
  }
});

test('a participant whose UDP is blocked exchanges media with a UDP participant over ICE-TCP', async () => {
  // ICE over TCP starts after Chromium's UDP checks go unanswered: allow for that.
  await waitForFrames(tess, uma.id, 30_000);
  await waitForFrames(uma, tess.id, 30_000);
  const first = { tess: await videoFrom(tess, uma.id), uma: await videoFrom(uma, tess.id) };
  await sleep(5000);
  const second = { tess: await videoFrom(tess, uma.id), uma: await videoFrom(uma, tess.id) };
  const tessFps = (second.tess.framesDecoded - first.tess.framesDecoded) / 5;
  const umaFps = (second.uma.framesDecoded - first.uma.framesDecoded) / 5;
  console.log(`Tess decodes Uma at ${tessFps.toFixed(1)} fps (${second.tess.frameWidth} px), ` +
    `Uma decodes Tess at ${umaFps.toFixed(1)} fps (${second.uma.frameWidth} px)`);
  // The fake camera runs at 20 fps (allocation.test.mjs); half of it means media flows freely.
  assert.ok(tessFps >= 10, `Tess's reception of Uma stalls: ${tessFps} fps`);
  assert.ok(umaFps >= 10, `Uma's reception of Tess stalls: ${umaFps} fps`);

  const tessPaths = await selectedPaths(tess);
  const umaPaths = await selectedPaths(uma);
  console.log(`Tess: ${JSON.stringify(tessPaths)}`);
  console.log(`Uma: ${JSON.stringify(umaPaths)}`);
  for (const side of ['publish', 'subscribe']) {
    assert.equal(tessPaths[side]?.protocol, 'tcp', `Tess's ${side} connection is not over TCP`);
    assert.match(tessPaths[side].remote, /^tcp 192\.0\.2\.1:\d+ host passive$/);
    assert.equal(tessPaths[side].dtlsState, 'connected');
    assert.equal(umaPaths[side]?.protocol, 'udp', `Uma's ${side} connection is not over UDP`);
  }
  const dropped = nftCounted(net.clientNs[TESS], 'noudp');
  console.log(`UDP packets dropped in Tess's namespace: ${dropped}`);
  assert.ok(dropped > 0, 'the UDP drop rule saw nothing: the test did not block anything');
});
