// Publishers ramp up: the server answers a Chromium publisher's transport-wide sequence numbers
// with transport-cc feedback, so the browser's own bandwidth estimator (its send-side GCC) sees
// an open path and raises its estimate from the 300 kbps it starts at. Without feedback the
// estimate stays at 300 kbps for the whole call and a simulcast publisher sends only its lowest
// layer. Here: a 1280x720 camera published as three layers with no bitrate caps reaches an
// estimate of 2.5 Mbit/s within 10 s, sends all three layers, the top one at 1280 px, and a
// subscriber decodes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, joinWithLibrary, sendingLayers, sleep, publishSimulcast720 } from './harness.mjs';

const env = serverAndBrowser();

// The publishing connection's send estimate (the selected candidate pair's
// availableOutgoingBitrate), bits per second; 0 when not known yet.
async function sendEstimate(participant) {
  return participant.page.evaluate(async () => {
    const { publish } = await window.sb.getStats();
    let estimate = 0;
    for (const s of publish?.values() ?? []) {
      if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate) {
        estimate = Math.max(estimate, s.availableOutgoingBitrate);
      }
    }
    return estimate;
  });
}


test('a simulcast publisher ramps up to 2.5 Mbit/s and sends all three layers at 720p', async () => {
  const alice = await joinWithLibrary(env, 'ramp', 'Alice');
  const bob = await joinWithLibrary(env, 'ramp', 'Bob');
  const publishedAt = Date.now();
  await publishSimulcast720(alice);

  const trace = [];
  let estimate = 0;
  while (Date.now() - publishedAt < 10_000 && estimate < 2_500_000) {
    await sleep(500);
    estimate = await sendEstimate(alice);
    trace.push(`${((Date.now() - publishedAt) / 1000).toFixed(1)}s ${(estimate / 1e6).toFixed(2)}`);
  }
  console.log(`Alice's send estimate (Mbit/s): ${trace.join(', ')}`);
  assert.ok(estimate >= 2_500_000,
    `the publisher's estimate reaches 2.5 Mbit/s within 10 s: ${trace.join(', ')}`);

  // All three layers go out, the top one at full size (the encoder may take a few seconds to
  // start the upper layers once the estimate allows them).
  let layers = {};
  for (let i = 0; i < 10 && Object.keys(layers).length < 3; ++i) layers = await sendingLayers(alice);
  console.log(`Alice sends ${JSON.stringify(layers)}`);
  assert.deepEqual(Object.keys(layers).sort(), ['f', 'h', 'q'], 'three layers sent');
  assert.equal(layers.f, 1280, 'the top layer at 1280 px');

  // The estimate holds once the layers are flowing (feedback keeps coming).
  await sleep(2000);
  const later = await sendEstimate(alice);
  assert.ok(later >= 2_000_000, `the estimate holds: ${later}`);

  // Bob gets the top layer.
  const deadline = Date.now() + 15_000;
  let video;
  for (;;) {
    const stats = await bob.page.evaluate(() => window.sb.getReceiverStats());
    video = stats.find((s) => s.participantId === alice.id && s.kind === 'video');
    if (video?.frameWidth === 1280 && video.framesDecoded > 0) break;
    if (Date.now() > deadline) assert.fail(`Bob decodes ${JSON.stringify(video)}`);
    await sleep(250);
  }
  console.log(`Bob decodes ${video.frameWidth}x${video.frameHeight}`);
  await alice.context.close();
  await bob.context.close();
});
