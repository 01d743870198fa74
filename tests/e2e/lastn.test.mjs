// Last-N: with --last-n=2 each subscriber gets the video of at most two others, the most
// recent speakers first (then in join order), plus the ones it pins; audio from everyone.
// Four libdatachannel participants (ndc_peer.mjs) whose audio packets carry an audio level we
// choose (RFC 6464): all silent, then D speaks, then A pins C.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, sleep } from './harness.mjs';
import { NdcPeer, shutdownNdc } from './ndc_peer.mjs';

let server;
const peers = {};

before(async () => {
  server = await startServer(['--last-n=2']);
  for (const name of ['A', 'B', 'C', 'D']) {
    const peer = new NdcPeer(server, 'lastn', name);
    await peer.join();
    await peer.publish();
    peers[name] = peer;
  }
});

after(async () => {
  for (const peer of Object.values(peers)) await peer.leave().catch(() => {});
  shutdownNdc();
  await server?.stop();
});

// What `subscriber` received from each other peer over `ms`: { B: {audio, video}, ... }.
async function receivedOver(subscriber, ms) {
  const snapshot = () =>
    Object.fromEntries(
      Object.entries(peers)
        .filter(([, p]) => p !== subscriber)
        .map(([name, p]) => [name, { ...subscriber.from(p.id) }]),
    );
  const before = snapshot();
  await sleep(ms);
  const after = snapshot();
  return Object.fromEntries(
    Object.keys(after).map((name) => [
      name,
      {
        audio: after[name].audio - before[name].audio,
        video: after[name].video - before[name].video,
      },
    ]),
  );
}

// Whose video `subscriber` gets: the names with video packets over 1.5 s (25 frames a second
// are sent: a shown peer delivers about 37), after `settle` ms for the change to take effect.
async function shownTo(subscriber, settle = 1500) {
  await sleep(settle);
  const got = await receivedOver(subscriber, 1500);
  console.log(`${subscriber.name} receives ${JSON.stringify(got)}`);
  for (const [name, counts] of Object.entries(got)) {
    assert.ok(counts.audio >= 40, `${subscriber.name} hears ${name} (${counts.audio} packets)`);
  }
  return Object.entries(got)
    .filter(([, counts]) => counts.video >= 10)
    .map(([name]) => name)
    .sort();
}

test('silence: each subscriber sees the first two others to join, hears everyone', async () => {
  // Every peer's subscribe-offer carries the three others (audio and video).
  // Every peer has been offered the others' six tracks (next() waits for a message to come, so
  // a peer that has them already is not waited for: that cost 10 s each).
  for (const peer of Object.values(peers)) {
    if (peer.streams.size < 6) await peer.next(() => peer.streams.size >= 6, 10000);
  }
  assert.deepEqual(await shownTo(peers.A, 3000), ['B', 'C']);
  assert.deepEqual(await shownTo(peers.D, 0), ['A', 'B']);
});

test('D speaks: everyone is told, and D takes a place in everyone\'s two', async () => {
  peers.D.audioLevel = 25;
  const spokeAt = Date.now();
  const said = await peers.A.next(
    (m) => m.type === 'active-speaker' && m.participantId === peers.D.id,
    5000,
  );
  console.log(`active-speaker D reached A ${said.at - spokeAt} ms after D began to speak`);
  assert.deepEqual(await shownTo(peers.A), ['B', 'D']);
  assert.deepEqual(await shownTo(peers.B, 0), ['A', 'D']);
  // D itself still sees the first two others.
  assert.deepEqual(await shownTo(peers.D, 0), ['A', 'B']);
  peers.D.audioLevel = 127;
});

test('A pins C: C is shown to A whatever the speakers, and not when unpinned', async () => {
  const videoOf = (peer, of) =>
    [...peer.streams.values()].find((s) => s.participantId === of.id && s.kind === 'video');
  const stream = videoOf(peers.A, peers.C);
  assert.ok(stream?.producerId, 'A was offered C\'s video');
  peers.A.send({ type: 'subscription', producerId: stream.producerId, pinned: true });
  assert.deepEqual(await shownTo(peers.A), ['B', 'C', 'D']);
  peers.A.send({ type: 'subscription', producerId: stream.producerId, pinned: false });
  assert.deepEqual(await shownTo(peers.A), ['B', 'D']);
});
