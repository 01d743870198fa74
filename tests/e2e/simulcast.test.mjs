// Simulcast as a subscriber sees it: a Chromium publisher sends its 1280x720 camera as three
// layers (rid q at 1/4, h at 1/2, f at full size); a Chromium subscriber decodes the top layer
// the publisher sends. When the publisher stops the top layer, the subscriber keeps decoding,
// at the next layer's size, within a few seconds, as one stream (no sequence gap).
//
// Each layer's bitrate is capped (maxBitrate) so that all three fit whatever the publisher's
// send estimate (bandwidth.test.mjs is about the estimate); the test still reads which layers
// the publisher really sends (outbound-rtp per rid) and asserts on those.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, joinWithLibrary, sleep } from './harness.mjs';

const env = serverAndBrowser();


// Layers the publisher is sending now: rid -> frameWidth, for the layers whose framesSent
// grew over `ms`.
async function sendingLayers(publisher, ms = 1500) {
  const stats = () => publisher.page.evaluate(() => window.sb.getSenderStats());
  const first = await stats();
  await sleep(ms);
  const second = await stats();
  const layers = {};
  for (const s of second) {
    const before = first.find((f) => f.rid === s.rid);
    if (s.kind === 'video' && s.rid && s.framesSent > (before?.framesSent ?? 0) && s.frameWidth) {
      layers[s.rid] = s.frameWidth;
    }
  }
  return layers;
}

async function videoFrom(subscriber, publisherId) {
  const stats = await subscriber.page.evaluate(() => window.sb.getReceiverStats());
  return stats.find((s) => s.participantId === publisherId && s.kind === 'video');
}

// Polls until the subscriber decodes frames `width` wide (and still gets new ones).
async function waitForWidth(subscriber, publisherId, width, timeout) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    const video = await videoFrom(subscriber, publisherId);
    if (video?.frameWidth === width && last && video.framesDecoded > last.framesDecoded) {
      return video;
    }
    if (video?.frameWidth === width) last = video;
    if (Date.now() > deadline) {
      throw new Error(`${subscriber.name} does not decode ${width} px wide frames: ${JSON.stringify(video)}`);
    }
    await sleep(250);
  }
}

test('the subscriber gets the top simulcast layer, then the next one when the top stops', async () => {
  const alice = await joinWithLibrary(env, 'simulcast', 'Alice');
  await alice.page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: 1280, height: 720 },
    });
    await window.sb.publish(stream, {
      videoEncodings: [
        { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 40_000 },
        { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 80_000 },
        { rid: 'f', maxBitrate: 160_000 },
      ],
    });
  });
  const bob = await joinWithLibrary(env, 'simulcast', 'Bob');

  // What the publisher really sends (headless Chromium may drop layers for CPU or bandwidth).
  let layers = {};
  for (let i = 0; i < 10 && Object.keys(layers).length < 2; ++i) layers = await sendingLayers(alice);
  console.log(`Alice sends ${JSON.stringify(layers)}`);
  const byWidth = Object.entries(layers).sort((a, b) => b[1] - a[1]);
  assert.ok(byWidth.length >= 2, `the publisher sends at least two layers: ${JSON.stringify(layers)}`);
  const [[topRid, topWidth], [, nextWidth]] = byWidth;
  assert.ok(topWidth > nextWidth);

  const top = await waitForWidth(bob, alice.id, topWidth, 20000);
  console.log(`Bob decodes ${top.frameWidth}x${top.frameHeight} (layer ${topRid})`);

  // The publisher stops its top layer: Bob's picture continues at the next layer's size.
  const stoppedAt = Date.now();
  await alice.page.evaluate((rid) => window.sb.setEncodingActive(rid, false), topRid);
  const next = await waitForWidth(bob, alice.id, nextWidth, 8000);
  const switchMs = Date.now() - stoppedAt;
  await sleep(2000);
  const later = await videoFrom(bob, alice.id);
  const fps = (later.framesDecoded - next.framesDecoded) / 2;
  console.log(
    `Bob decodes ${later.frameWidth}x${later.frameHeight} ${switchMs} ms after the top layer ` +
      `stopped; ${fps} fps, packets lost ${later.packetsLost}, freezes ${later.freezeCount}`,
  );
  assert.equal(later.frameWidth, nextWidth, 'still the next layer');
  assert.ok(fps >= 3, `frames keep coming after the switch (${fps} fps)`);
  // One continuous stream across the switch: the browser sees no sequence gap.
  assert.equal(later.packetsLost, 0, 'no sequence gap across the layer switch');

  await alice.context.close();
  await bob.context.close();
});
