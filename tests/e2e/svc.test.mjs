// Scalable video from one encoding: Alice sends her 1280x720 camera as VP9, then as AV1, with
// scalabilityMode L3T3_KEY: three spatial layers (320, 640,
// 1280 px), each with three temporal layers, in one RTP stream. The server forwards each
// subscriber only the layers it asks for: Bob caps her video at layer 0, then 1, then lifts
// the cap, and decodes 320, 640 and 1280 px within a few seconds of each, without a freeze;
// Carol, uncapped, decodes 1280 px all along. This is the SVC path of the worker (layers read
// from the VP9 payload descriptor or AV1's dependency descriptor, the layers above the one
// forwarded dropped with the sequence numbers closed up and the marker bit moved; for AV1 the
// dependency descriptor is forwarded too: without it Chromium cannot assemble the layers).
// SVC_CODECS=VP9 (or AV1) runs one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, joinWithLibrary, videoFrom, waitForWidth, holdsVideo } from './harness.mjs';

const env = serverAndBrowser();

const SWITCH_MS = 8000;
const FIRST_MS = 25000;

async function publishSvc(publisher, codec) {
  return publisher.page.evaluate(async (codec) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    await window.sb.publish(stream, {
      videoCodec: codec,
      videoEncodings: [{ scalabilityMode: 'L3T3_KEY' }],
    });
  }, codec);
}

// What Alice's one video stream is sent as (codec, scalability mode, size).
async function sending(publisher) {
  return publisher.page.evaluate(async () => {
    const pc = window.sb._pubPc;
    const report = await pc.getStats();
    for (const s of report.values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        return {
          codec: report.get(s.codecId)?.mimeType,
          scalabilityMode: s.scalabilityMode,
          frameWidth: s.frameWidth,
        };
      }
    }
    return null;
  });
}



async function canEncode(page, codec) {
  return page.evaluate(
    (codec) => RTCRtpSender.getCapabilities('video').codecs.some((c) => c.mimeType === `video/${codec}`),
    codec,
  );
}

for (const codec of (process.env.SVC_CODECS ?? 'VP9,AV1').split(',')) {
  test(`${codec} L3T3_KEY: each subscriber gets the spatial layer it asks for`, async (t) => {
    const room = `svc-${codec}`;
    const alice = await joinWithLibrary(env, room, 'Alice');
    if (!(await canEncode(alice.page, codec))) {
      t.skip(`this Chromium cannot encode ${codec}`);
      return;
    }
    await publishSvc(alice, codec);
    const bob = await joinWithLibrary(env, room, 'Bob');
    const carol = await joinWithLibrary(env, room, 'Carol');

    // The publisher's own estimate climbs with the server's feedback; the top layer comes when
    // it fits.
    const first = await waitForWidth(carol, alice.id, 1280, FIRST_MS);
    const sent = await sending(alice);
    console.log(`${codec}: Alice sends ${JSON.stringify(sent)}; Carol decodes 1280 px after ${first.ms} ms`);
    assert.equal(sent.codec, `video/${codec}`);
    assert.equal(sent.scalabilityMode, 'L3T3_KEY', 'one encoding with three spatial layers');
    await waitForWidth(bob, alice.id, 1280, FIRST_MS);
    const producerId = await bob.page.evaluate((id) => window.sb.producerIdOf(id, 'video'), alice.id);

    const report = [];
    for (const [maxLayer, width] of [[0, 320], [1, 640], [null, 1280]]) {
      const since = Date.now();
      await bob.page.evaluate(({ producerId, maxLayer }) => window.sb.setSubscription(producerId, { maxLayer }),
        { producerId, maxLayer });
      const { ms } = await waitForWidth(bob, alice.id, width, SWITCH_MS, since);
      const [held, carolHeld] = await Promise.all([holdsVideo(bob, alice.id, 3000), holdsVideo(carol, alice.id, 3000)]);
      report.push(`maxLayer ${maxLayer}: ${width} px after ${ms} ms, then ${JSON.stringify(held)}; ` +
        `Carol ${JSON.stringify(carolHeld)}`);
      assert.deepEqual(held.widths, [width], `Bob stays at ${width} px`);
      assert.ok(held.frames >= 30, `Bob keeps decoding at ${width} px (${held.frames} frames in 3 s)`);
      assert.ok(held.freezes <= 1, `at most one freeze once switched (${held.freezes})`);
      assert.deepEqual(carolHeld.widths, [1280], 'Carol is not affected');
      assert.ok(carolHeld.frames >= 30, `Carol keeps decoding (${carolHeld.frames} frames in 3 s)`);
    }
    console.log(`${codec}: ${report.join('\n  ')}`);
    const bobVideo = await videoFrom(bob, alice.id);
    assert.equal(bobVideo.mimeType, `video/${codec}`, 'forwarded as it was sent');
  });
}
