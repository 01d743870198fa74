// AV1 simulcast through the server: Alice sends her 960x540 camera as AV1 in three encodings
// (rid q at 240, h at 480, f at 960 px; 960x540 is the smallest size for which Chromium sends
// three simulcast layers: at 640x360 it sends two), each L1T3; Bob caps her video at the lowest
// layer, lifts the cap, caps it at the middle one and lifts it again. Each switch changes the
// encoding Bob's consumer forwards (at a key frame of the new one, which carries its template
// structure), and Bob's Chromium follows the dependency descriptor's frame numbers, which the
// server rewrites so that they go on from the last one Bob got (router/dd_frame_number_rewriter.h).
// Chromium itself numbers the frames of all its encodings from one counter (q, h and f of one
// capture get n, n+1, n+2), so its switches never jumped far; the test shows the rewrite keeps
// that working. Asserted after each switch: the new width within a few seconds, frames decoded
// growing (30 in 3 s at least), at most one freeze; over the test, few key frames asked of Alice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, joinWithLibrary, sendingLayers, videoFrom, waitForWidth, holdsVideo } from './harness.mjs';

const env = serverAndBrowser();

const FIRST_MS = 25000;
const SWITCH_MS = 8000;
const HOLD_MS = 3000;
// Key frames asked of the publisher over the whole test (PLI + FIR, all encodings): one per
// switch and a start would be 5-10; a receiver that cannot follow the stream asks every second
// or so.
const MAX_KEY_FRAME_REQUESTS = 20;

async function canEncodeAv1(page) {
  return page.evaluate(() => RTCRtpSender.getCapabilities('video').codecs.some((c) => c.mimeType === 'video/AV1'));
}

// Key frame requests the publisher got (PLI and FIR over its video encodings), and per rid
// the codec and scalability mode it sends with.
async function publisherView(publisher) {
  return publisher.page.evaluate(async () => {
    const report = await window.sb._pubPc.getStats();
    const out = { pli: 0, fir: 0, encodings: {} };
    for (const s of report.values()) {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') continue;
      out.pli += s.pliCount ?? 0;
      out.fir += s.firCount ?? 0;
      out.encodings[s.rid] = {
        codec: report.get(s.codecId)?.mimeType,
        scalabilityMode: s.scalabilityMode,
        frameWidth: s.frameWidth,
        keyFramesEncoded: s.keyFramesEncoded,
      };
    }
    return out;
  });
}

// Bob's key frames decoded and frames dropped for Alice's video (not in getReceiverStats).
async function receiverExtra(subscriber, publisherId) {
  const mid = (await videoFrom(subscriber, publisherId))?.mid;
  return subscriber.page.evaluate(async (mid) => {
    const report = await window.sb._subPc.getStats();
    for (const s of report.values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid === mid) {
        return { keyFramesDecoded: s.keyFramesDecoded, framesDropped: s.framesDropped, pliCount: s.pliCount, firCount: s.firCount };
      }
    }
    return null;
  }, mid);
}

test('AV1 simulcast (L1T3 per encoding): a subscriber switches layers without losing the stream', async (t) => {
  const alice = await joinWithLibrary(env, 'av1-simulcast', 'Alice');
  if (!(await canEncodeAv1(alice.page))) {
    t.skip('this Chromium cannot encode AV1');
    return;
  }
  await alice.page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 960, height: 540, frameRate: 30 } });
    await window.sb.publish(stream, {
      videoCodec: 'AV1',
      // Capped so that all three fit the publisher's first send estimate.
      videoEncodings: [
        { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 50_000, scalabilityMode: 'L1T3' },
        { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 100_000, scalabilityMode: 'L1T3' },
        { rid: 'f', maxBitrate: 200_000, scalabilityMode: 'L1T3' },
      ],
    });
  });
  const bob = await joinWithLibrary(env, 'av1-simulcast', 'Bob');

  let layers = {};
  for (let i = 0; i < 15 && Object.keys(layers).length < 3; ++i) layers = await sendingLayers(alice);
  const sent = await publisherView(alice);
  console.log(`Alice sends ${JSON.stringify(layers)}: ${JSON.stringify(sent.encodings)}`);
  assert.deepEqual(Object.values(layers).sort((a, b) => a - b), [240, 480, 960], 'three encodings');
  for (const e of Object.values(sent.encodings)) {
    assert.equal(e.codec, 'video/AV1');
    assert.equal(e.scalabilityMode, 'L1T3');
  }

  const first = await waitForWidth(bob, alice.id, 960, FIRST_MS);
  const video = await videoFrom(bob, alice.id);
  assert.equal(video.mimeType, 'video/AV1', 'forwarded as it was sent');
  console.log(`Bob decodes 960 px after ${first.ms} ms`);
  const producerId = await bob.page.evaluate((id) => window.sb.producerIdOf(id, 'video'), alice.id);
  const start = { alice: await publisherView(alice), bob: await receiverExtra(bob, alice.id), video };

  const report = [];
  const failures = [];
  for (const [maxLayer, width] of [[0, 240], [null, 960], [1, 480], [null, 960]]) {
    const since = Date.now();
    await bob.page.evaluate(({ producerId, maxLayer }) => window.sb.setSubscription(producerId, { maxLayer }),
      { producerId, maxLayer });
    let line;
    try {
      const { ms } = await waitForWidth(bob, alice.id, width, SWITCH_MS, since);
      const held = await holdsVideo(bob, alice.id, HOLD_MS);
      line = `maxLayer ${maxLayer}: ${width} px after ${ms} ms, then ${JSON.stringify(held)}`;
      if (held.widths.length !== 1 || held.widths[0] !== width) failures.push(`${line}: not held at ${width} px`);
      if (held.frames < 30) failures.push(`${line}: fewer than 30 frames in ${HOLD_MS} ms`);
      if (held.freezes > 1) failures.push(`${line}: more than one freeze`);
    } catch (e) {
      line = `maxLayer ${maxLayer}: ${e.message}`;
      failures.push(line);
    }
    report.push(`${line}; key frames decoded ${(await receiverExtra(bob, alice.id))?.keyFramesDecoded}`);
  }
  const end = { alice: await publisherView(alice), bob: await receiverExtra(bob, alice.id), video: await videoFrom(bob, alice.id) };
  const requests = end.alice.pli + end.alice.fir - start.alice.pli - start.alice.fir;
  console.log(`AV1 simulcast:\n  ${report.join('\n  ')}\n  over the switches: Alice asked for ${requests} key frames ` +
    `(${end.alice.pli - start.alice.pli} PLI, ${end.alice.fir - start.alice.fir} FIR); Bob decoded ` +
    `${end.video.framesDecoded - start.video.framesDecoded} frames, ${end.bob.keyFramesDecoded - start.bob.keyFramesDecoded} key frames, ` +
    `dropped ${end.bob.framesDropped - start.bob.framesDropped}, freezes ${end.video.freezeCount - start.video.freezeCount}, ` +
    `sent ${end.bob.pliCount - start.bob.pliCount} PLI, packets lost ${end.video.packetsLost}`);
  assert.deepEqual(failures, [], 'every switch holds');
  assert.ok(requests <= MAX_KEY_FRAME_REQUESTS, `few key frames asked of the publisher (${requests})`);

  await alice.context.close();
  await bob.context.close();
});
