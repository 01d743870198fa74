// Publishers that speak only REMB ramp up too: a client that does not offer transport-wide
// congestion control (here Chromium with transport-cc taken out of its offer before
// setLocalDescription, as an older or simpler stack would offer) gets goog-remb and
// abs-send-time in the answer, and the worker's receive-side estimate (bwe/receive_side_bwe.h)
// goes back to it in REMB packets. Its own send estimate (availableOutgoingBitrate) climbs from
// the 300 kbit/s it starts at to 1.5 Mbit/s within 15 s on loopback. With transport-cc offered
// nothing changes: transport-cc feedback, no REMB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndBrowser, joinWithLibrary, getJson, sleep, waitForFrames } from './harness.mjs';

const env = serverAndBrowser(['--workers=1']);

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

// Takes transport-cc out of every offer the page sets: its rtcp-fb lines and the
// transport-wide sequence number extension.
async function dropTransportCc(participant) {
  await participant.page.evaluate(() => {
    const set = RTCPeerConnection.prototype.setLocalDescription;
    RTCPeerConnection.prototype.setLocalDescription = function (description) {
      if (description?.type === 'offer' && description.sdp) {
        const sdp = description.sdp
          .split('\r\n')
          .filter((l) => !/^a=rtcp-fb:\S+ transport-cc/.test(l) && !/transport-wide-cc/.test(l))
          .join('\r\n');
        return set.call(this, { type: 'offer', sdp });
      }
      return set.call(this, description);
    };
  });
}

// A 1280x720 camera and a microphone, one video encoding.
async function publish720(participant) {
  await participant.page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 1280, height: 720, frameRate: 30 },
    });
    await window.sb.publish(stream);
  });
}

const answerSdp = (p) => p.page.evaluate(() => window.sb._pubPc?.remoteDescription?.sdp ?? '');

// What GET /api/rooms says of `p` (its `remb`: { estimateBps, sent }, when REMB is sent).
async function serverView(room, p) {
  const { rooms } = await getJson(env.server, '/api/rooms');
  return rooms.find((r) => r.name === room)?.participants.find((q) => q.id === p.id);
}

test('a publisher without transport-cc ramps up on REMB to 1.5 Mbit/s within 15 s', async () => {
  const alice = await joinWithLibrary(env, 'remb', 'Alice');
  const bob = await joinWithLibrary(env, 'remb', 'Bob');
  await dropTransportCc(alice);
  const publishedAt = Date.now();
  await publish720(alice);

  const answer = await answerSdp(alice);
  assert.ok(/^a=rtcp-fb:\d+ goog-remb$/m.test(answer), 'goog-remb in the answer');
  assert.ok(/abs-send-time/.test(answer), 'abs-send-time in the answer');
  assert.ok(!/transport-cc|transport-wide-cc/.test(answer), 'no transport-cc in the answer');

  const trace = [];
  let estimate = 0;
  while (Date.now() - publishedAt < 15_000 && estimate < 1_500_000) {
    await sleep(500);
    estimate = await sendEstimate(alice);
    trace.push(`${((Date.now() - publishedAt) / 1000).toFixed(1)}s ${(estimate / 1e6).toFixed(2)}`);
  }
  console.log(`Alice's send estimate (Mbit/s): ${trace.join(', ')}`);
  assert.ok(estimate >= 1_500_000,
    `the publisher's estimate reaches 1.5 Mbit/s within 15 s: ${trace.join(', ')}`);

  // It holds: the REMBs keep coming and say no less.
  await sleep(5000);
  const later = await sendEstimate(alice);
  console.log(`5 s later: ${(later / 1e6).toFixed(2)} Mbit/s`);
  assert.ok(later >= 1_200_000, `the estimate holds: ${later}`);

  // The worker says it sent REMB, with an estimate at least what the browser took from it.
  let view;
  for (let i = 0; i < 20 && !(view?.remb?.sent > 0); ++i) {
    view = await serverView('remb', alice);
    if (!(view?.remb?.sent > 0)) await sleep(250);
  }
  console.log(`server: ${JSON.stringify(view?.remb)}`);
  assert.ok(view?.remb?.sent > 0, `REMB sent: ${JSON.stringify(view)}`);
  assert.ok(view.remb.estimateBps >= 1_000_000, `REMB estimate: ${JSON.stringify(view.remb)}`);

  // And what Alice sends reaches Bob.
  await waitForFrames(bob, alice.id, 15_000);
  await alice.context.close();
  await bob.context.close();
});

test('a publisher with transport-cc gets transport-cc feedback and no REMB', async () => {
  const carol = await joinWithLibrary(env, 'twcc', 'Carol');
  const publishedAt = Date.now();
  await publish720(carol);
  const answer = await answerSdp(carol);
  assert.ok(/^a=rtcp-fb:\d+ transport-cc$/m.test(answer), 'transport-cc in the answer');
  assert.ok(!/goog-remb/.test(answer), 'no goog-remb in the answer');
  // Its estimate moves (transport-cc feedback), and the worker reports no REMB.
  let estimate = 0;
  while (Date.now() - publishedAt < 10_000 && estimate <= 300_000) {
    await sleep(500);
    estimate = await sendEstimate(carol);
  }
  assert.ok(estimate > 300_000, `the estimate rises on transport-cc feedback: ${estimate}`);
  await sleep(1000);
  const view = await serverView('twcc', carol);
  assert.ok(view, 'Carol is in the room');
  assert.equal(view.remb, undefined, `no REMB: ${JSON.stringify(view.remb)}`);
  await carol.context.close();
});
