// A subscriber's preference for each track it receives (the protocol's `subscription`, the
// library's setSubscription): Alice publishes her 1280x720 camera as three simulcast layers
// (q/h/f at 320/640/1280 px); Bob caps her video at layer 0, then 1, then lifts the cap, and
// decodes 320, 640 and 1280 px within a few seconds of each; he pauses it and his frames stop
// (and nearly all bytes with them) while Carol keeps decoding 1280 px; he resumes and frames come
// again. The server refuses a subscription for a track it does not offer (`unknown-track`) and
// a malformed one (`bad-message`), and the connection stays usable. The web app shows each remote
// tile's received size and bitrate (.tile-stats), asks for a small layer when the tile is small
// and pauses a tile that is hidden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser,
  joinWithLibrary,
  joinRoom,
  openParticipant,
  waitForState,
  waitForFrames,
  videoFrom,
  waitForWidth,
  holdsVideo,
  sendingLayers,
  sleep,
} from './harness.mjs';

const env = serverAndBrowser();

// Each layer capped (as in simulcast.test.mjs) so that all three fit from the first second,
// whatever the publisher's send estimate: this file is about the subscriber's choice.
const CAPPED_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 40_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 80_000 },
  { rid: 'f', maxBitrate: 160_000 },
];
const SWITCH_MS = 5000;
const PAUSE_MS = 3000;
const RESUME_MS = 5000;

async function publishCamera(publisher, { width, height, videoEncodings }) {
  await publisher.page.evaluate(
    async ({ width, height, videoEncodings }) => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width, height } });
      await window.sb.publish(stream, { videoEncodings });
    },
    { width, height, videoEncodings },
  );
}



const setSubscription = (p, producerId, pref) =>
  p.page.evaluate(({ producerId, pref }) => window.sb.setSubscription(producerId, pref), { producerId, pref });

test('setSubscription caps the layer at 0, 1, none; pausing stops the frames, resuming brings them back', async () => {
  const room = 'subscription';
  const alice = await joinWithLibrary(env, room, 'Alice');
  await publishCamera(alice, { width: 1280, height: 720, videoEncodings: CAPPED_LAYERS });
  const bob = await joinWithLibrary(env, room, 'Bob');
  const carol = await joinWithLibrary(env, room, 'Carol');
  // The library never pretends: a bad argument is refused before anything is sent.
  const refused = await bob.page.evaluate(() =>
    [['', { maxLayer: 0 }], ['x', { maxLayer: 4 }], ['x', { paused: 'yes' }], ['x', {}]].map(([id, pref]) => {
      try {
        window.sb.setSubscription(id, pref);
        return 'sent';
      } catch (err) {
        return err.name;
      }
    }),
  );
  assert.deepEqual(refused, ['TypeError', 'TypeError', 'TypeError', 'TypeError']);

  let layers = {};
  for (let i = 0; i < 10 && Object.keys(layers).length < 3; ++i) layers = await sendingLayers(alice);
  console.log(`Alice sends ${JSON.stringify(layers)}`);
  assert.deepEqual(layers, { q: 320, h: 640, f: 1280 }, 'three layers at 320, 640 and 1280 px');

  const top = await waitForWidth(bob, alice.id, 1280, 20000);
  await waitForWidth(carol, alice.id, 1280, 20000);
  const producerId = await bob.page.evaluate((id) => window.sb.producerIdOf(id, 'video'), alice.id);
  assert.equal(typeof producerId, 'string');
  assert.equal(top.video.producerId, producerId, 'getReceiverStats names the same producer');
  assert.equal(await bob.page.evaluate((id) => window.sb.producerIdOf(id, 'audio'), alice.id), null,
    'Alice sends no audio');
  const report = [`Bob decodes ${top.video.frameWidth}x${top.video.frameHeight} first (freezes ${top.video.freezeCount})`];

  // The cap, step by step: each width within SWITCH_MS, and it stays.
  for (const [maxLayer, width] of [[0, 320], [1, 640], [null, 1280]]) {
    const since = Date.now();
    await setSubscription(bob, producerId, { maxLayer });
    const { video, ms } = await waitForWidth(bob, alice.id, width, SWITCH_MS, since);
    const held = await holdsVideo(bob, alice.id, 2000);
    report.push(`maxLayer ${maxLayer}: ${video.frameWidth}x${video.frameHeight} after ${ms} ms; ` +
      `then ${held.frames} frames in 2 s at widths ${held.widths}; freezes so far ${video.freezeCount}, ` +
      `packets lost ${video.packetsLost}`);
    assert.deepEqual(held.widths, [width], `maxLayer ${maxLayer}: stays at ${width} px`);
    assert.ok(held.frames >= 10, `maxLayer ${maxLayer}: frames keep coming (${held.frames} in 2 s)`);
  }

  // Paused: Bob's frames stop within PAUSE_MS, bytes nearly so; Carol is not affected.
  const beforePause = await videoFrom(bob, alice.id);
  await sleep(1000);
  const flowing = await videoFrom(bob, alice.id);
  const bytesPerSecond = flowing.bytesReceived - beforePause.bytesReceived;
  const pausedAt = Date.now();
  await setSubscription(bob, producerId, { paused: true });
  let lastChange = pausedAt;
  let prev = await videoFrom(bob, alice.id);
  // Stopped: no new frame for a whole second (stopMs: when the last new frame was seen, polling
  // every 200 ms from just after the message).
  while (Date.now() - lastChange < 1000) {
    await sleep(200);
    const now = await videoFrom(bob, alice.id);
    if (now.framesDecoded !== prev.framesDecoded) lastChange = Date.now();
    prev = now;
    assert.ok(Date.now() - pausedAt < PAUSE_MS + 1000, `Bob's frames stop within ${PAUSE_MS} ms: ${JSON.stringify(now)}`);
  }
  const stopMs = lastChange - pausedAt;
  const [bob1, carol1] = [await videoFrom(bob, alice.id), await videoFrom(carol, alice.id)];
  await sleep(2000);
  const [bob2, carol2] = [await videoFrom(bob, alice.id), await videoFrom(carol, alice.id)];
  const pausedFrames = bob2.framesDecoded - bob1.framesDecoded;
  const pausedBytes = bob2.bytesReceived - bob1.bytesReceived;
  const carolFrames = carol2.framesDecoded - carol1.framesDecoded;
  report.push(`paused: last frame ${stopMs} ms after the message; then in 2 s ${pausedFrames} frames, ` +
    `${pausedBytes} bytes (${bytesPerSecond} bytes/s before); Carol ${carolFrames} frames at ${carol2.frameWidth} px`);
  assert.ok(stopMs <= PAUSE_MS, `frames stop within ${PAUSE_MS} ms (${stopMs})`);
  assert.equal(pausedFrames, 0, 'no frames while paused');
  assert.ok(pausedBytes <= bytesPerSecond * 0.1, `nearly no bytes while paused (${pausedBytes} in 2 s)`);
  assert.equal(carol2.frameWidth, 1280, 'Carol still gets 1280 px');
  assert.ok(carolFrames >= 10, `Carol keeps decoding (${carolFrames} frames in 2 s)`);

  // Resumed: frames again within RESUME_MS, at the top layer (the cap was lifted before).
  const resumedAt = Date.now();
  await setSubscription(bob, producerId, { paused: false });
  const resumed = await waitForWidth(bob, alice.id, 1280, RESUME_MS, resumedAt);
  const after = await holdsVideo(bob, alice.id, 1000);
  report.push(`resumed: ${resumed.video.frameWidth} px frames after ${resumed.ms} ms, ` +
    `${after.frames} frames in the next second; packets lost ${resumed.video.packetsLost}, freezes ${resumed.video.freezeCount}`);
  assert.ok(after.frames >= 5, `frames keep coming after resuming (${after.frames} in 1 s)`);
  console.log(report.join('\n'));

  for (const p of [alice, bob, carol]) await p.context.close();
});

// Dynacast: with Bob its only subscriber, Alice's browser is told to stop the layers above
// what Bob asks for, and to start them again when he wants more.
test('dynacast: the publisher stops the layers nobody wants and starts them again', async () => {
  const room = 'dynacast';
  const alice = await joinWithLibrary(env, room, 'Alice');
  const bob = await joinWithLibrary(env, room, 'Bob');
  await alice.page.evaluate(() => {
    window.layerMessages = [];
    window.sb.addEventListener('layers', (e) => window.layerMessages.push(e.detail.maxLayer));
  });
  await publishCamera(alice, { width: 1280, height: 720, videoEncodings: CAPPED_LAYERS });
  await waitForWidth(bob, alice.id, 1280, 20000);
  const producerId = await bob.page.evaluate((id) => window.sb.producerIdOf(id, 'video'), alice.id);

  const until = async (want, ms) => {
    const deadline = Date.now() + ms;
    let layers;
    do {
      layers = await sendingLayers(alice, 1000);
      if (JSON.stringify(Object.keys(layers).sort()) === JSON.stringify(want)) return layers;
    } while (Date.now() < deadline);
    throw new Error(`Alice sends ${JSON.stringify(layers)}, not ${want} within ${ms} ms`);
  };
  await setSubscription(bob, producerId, { maxLayer: 0 });
  const low = await until(['q'], 5000);
  const lowFrames = await holdsVideo(bob, alice.id, 2000);
  console.log(`Bob wants layer 0: Alice sends ${JSON.stringify(low)}; Bob decodes ${lowFrames.frames} ` +
    `frames in 2 s at ${lowFrames.widths}`);
  assert.deepEqual(lowFrames.widths, [320]);
  assert.ok(lowFrames.frames >= 10, 'Bob keeps decoding the layer he asked for');

  await setSubscription(bob, producerId, { maxLayer: null });
  const all = await until(['f', 'h', 'q'], 8000);
  const { ms } = await waitForWidth(bob, alice.id, 1280, 8000);
  console.log(`Bob wants everything: Alice sends ${JSON.stringify(all)}; Bob decodes 1280 px ` +
    `after ${ms} ms; layers messages ${JSON.stringify(await alice.page.evaluate(() => window.layerMessages))}`);
  assert.deepEqual(await alice.page.evaluate(() => window.layerMessages.slice(-2)), [0, 2]);
});

test('the server refuses a subscription for a track it does not offer and a malformed one; the socket stays usable', async () => {
  const room = 'subscription-protocol';
  const alice = await joinWithLibrary(env, room, 'Alice');
  await publishCamera(alice, { width: 320, height: 180 });
  const { client } = await joinRoom(env.server, room, 'Proto');
  const offer = await client.next((m) => m.type === 'subscribe-offer' && m.streams?.some((s) => s.kind === 'video'), 10000);
  const producerId = offer.streams.find((s) => s.kind === 'video' && s.participantId === alice.id)?.producerId;
  assert.equal(typeof producerId, 'string', JSON.stringify(offer.streams));

  let requestId = 0;
  const expectError = async (fields, code) => {
    const id = ++requestId;
    const reply = await client.request({ type: 'subscription', requestId: id, ...fields },
      (m) => m.requestId === id);
    assert.equal(reply.type, 'error', `${JSON.stringify(fields)}: ${JSON.stringify(reply)}`);
    assert.equal(reply.code, code, `${JSON.stringify(fields)}: ${JSON.stringify(reply)}`);
    assert.equal(reply.inReplyTo, 'subscription');
    return reply;
  };
  const unknown = await expectError({ producerId: 'no-such-producer', maxLayer: 0 }, 'unknown-track');
  await expectError({ producerId: alice.id, paused: true }, 'unknown-track'); // a participant id is not a producer id
  for (const fields of [
    { producerId, maxLayer: 7 },
    { producerId, maxLayer: -1 },
    { producerId, maxLayer: 1.5 },
    { producerId, maxLayer: '1' },
    { producerId, paused: 'yes' },
    { producerId }, // neither field
    { maxLayer: 0 }, // no producerId
    { producerId: 5, maxLayer: 0 },
  ]) {
    await expectError(fields, 'bad-message');
  }
  console.log(`unknown-track: ${unknown.message}`);

  // A valid one gets no reply (and no error).
  client.send({ type: 'subscription', requestId: 100, producerId, maxLayer: 0, paused: false });
  client.send({ type: 'subscription', requestId: 101, producerId, maxLayer: null });
  const replies = await client.collect((m) => m.requestId === 100 || m.requestId === 101 || m.type === 'error', 1000);
  assert.deepEqual(replies, [], 'no reply to a valid subscription');
  const pong = await client.request({ type: 'ping', requestId: 'still-there' }, 'pong');
  assert.equal(pong.requestId, 'still-there');
  await client.close();
  await alice.context.close();
});

test('the web app shows each remote tile\'s received video, asks for a small layer in a small tile and pauses a hidden one', async () => {
  const room = 'subscription-app';
  const ann = await openParticipant(env.browser, env.server, room, 'Ann');
  assert.equal(await waitForState(ann, ['joined', 'full', 'error']), 'joined');
  ann.id = await ann.page.evaluate(() => document.body.dataset.selfId);
  const ben = await openParticipant(env.browser, env.server, room, 'Ben');
  assert.equal(await waitForState(ben, ['joined', 'full', 'error']), 'joined');
  await waitForFrames(ben, ann.id);
  const tile = `figure.tile[data-peer="${ann.id}"]`;

  // The indicator: "WxH · N kbit/s", within a few stats rounds.
  await ben.page.waitForFunction((sel) => /^\d+x\d+ · [1-9]\d* kbit\/s$/.test(document.querySelector(`${sel} .tile-stats`)?.textContent ?? ''),
    tile, { timeout: 10000 });
  const shown = await ben.page.textContent(`${tile} .tile-stats`);
  const state = await ben.page.evaluate((sel) => {
    const video = document.querySelector(`${sel} video`);
    return { visibility: document.visibilityState, height: video.clientHeight, layer: document.querySelector(sel).dataset.maxLayer };
  }, tile);
  console.log(`Ben's tile of Ann: "${shown}"; ${JSON.stringify(state)}`);
  const expected = state.height <= 200 ? '0' : state.height <= 400 ? '1' : 'none';
  assert.equal(state.layer, expected, `a ${state.height} px high tile asks for layer ${expected}`);

  // A phone-sized window: the tile is under 200 px high and asks for layer 0 (320 px).
  await ben.page.setViewportSize({ width: 360, height: 640 });
  await ben.page.waitForFunction((sel) => document.querySelector(sel).dataset.maxLayer === '0', tile, { timeout: 5000 });
  const small = await waitForWidth(ben, ann.id, 320, SWITCH_MS);
  await ben.page.waitForFunction((sel) => /^320x180 /.test(document.querySelector(`${sel} .tile-stats`).textContent),
    tile, { timeout: 5000 });

  // Hidden (display: none): paused, no frames; shown again: frames again.
  await ben.page.evaluate((sel) => { document.querySelector(sel).style.display = 'none'; }, tile);
  await ben.page.waitForFunction((sel) => document.querySelector(sel).dataset.paused === 'true', tile, { timeout: 3000 });
  await sleep(1500);
  const hidden1 = await videoFrom(ben, ann.id);
  await sleep(1500);
  const hidden2 = await videoFrom(ben, ann.id);
  const hiddenFrames = hidden2.framesDecoded - hidden1.framesDecoded;
  assert.equal(hiddenFrames, 0, 'no frames for a hidden tile');
  const shownAt = Date.now();
  await ben.page.evaluate((sel) => { document.querySelector(sel).style.display = ''; }, tile);
  const back = await waitForWidth(ben, ann.id, 320, RESUME_MS, shownAt);
  const subscriptions = await ben.page.evaluate(() => window.switchboardTest.subscriptions());
  console.log(`Ben: layer 0 in a small tile: ${small.video.frameWidth} px after ${small.ms} ms; hidden: ${hiddenFrames} ` +
    `frames in 1.5 s; shown: frames after ${back.ms} ms; ${JSON.stringify(subscriptions)}`);
  assert.deepEqual(subscriptions[ann.id], { producerId: back.video.producerId, maxLayer: 0, paused: false });
  assert.deepEqual(ben.errors, [], 'no page errors');
  await ann.context.close();
  await ben.context.close();
});
