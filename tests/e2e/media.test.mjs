// Media behaviour a participant notices: H264 is forwarded when a publisher prefers it, and
// muting a camera pauses forwarding and unmuting resumes it as one continuous stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser,
  waitForState,
  sleep,
  videoFrom,
  waitForFrames,
} from './harness.mjs';

const env = serverAndBrowser();

async function join(room, name, extra = '') {
  const context = await env.browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(`${env.server.url}/?room=${room}&name=${name}&autojoin=1${extra}`);
  const p = { name, context, page };
  assert.equal(await waitForState(p, ['joined', 'full', 'error']), 'joined');
  p.id = await page.evaluate(() => document.body.dataset.selfId);
  return p;
}

test('H264 is forwarded when the publisher prefers it', async () => {
  const alice = await join('h264', 'Alice', '&codec=H264');
  const bob = await join('h264', 'Bob');
  await waitForFrames(bob, alice.id);
  const first = await videoFrom(bob, alice.id);
  await sleep(3000);
  const second = await videoFrom(bob, alice.id);
  console.log(`Bob <- Alice: ${second.mimeType}, ${(second.framesDecoded - first.framesDecoded) / 3} fps`);
  assert.equal(second.mimeType, 'video/H264', 'Bob receives H264');
  assert.ok(second.framesDecoded - first.framesDecoded > 15, 'and decodes it');
  // The other direction stays VP8: codecs are per publisher.
  await waitForFrames(alice, bob.id);
  assert.equal((await videoFrom(alice, bob.id)).mimeType, 'video/VP8');
  await alice.context.close();
  await bob.context.close();
});

test('camera off pauses forwarding; camera on resumes one continuous stream', async () => {
  const carol = await join('mute', 'Carol');
  const dave = await join('mute', 'Dave');
  await waitForFrames(dave, carol.id);

  await carol.page.click('#cam');
  // Dave's page is told (the tile shows it) and the frames stop coming.
  await dave.page.waitForFunction(
    (id) => document.querySelector(`video[data-participant-id="${id}"]`)?.dataset.videoMuted === 'true',
    carol.id,
    { timeout: 10000 },
  );
  await sleep(1000);
  const paused1 = await videoFrom(dave, carol.id);
  await sleep(2000);
  const paused2 = await videoFrom(dave, carol.id);
  const pausedFrames = paused2.framesDecoded - paused1.framesDecoded;
  assert.ok(pausedFrames <= 1, `no frames while the camera is off (${pausedFrames})`);

  await carol.page.click('#cam');
  await dave.page.waitForFunction(
    (id) => document.querySelector(`video[data-participant-id="${id}"]`)?.dataset.videoMuted === 'false',
    carol.id,
    { timeout: 10000 },
  );
  await sleep(3000);
  const resumed = await videoFrom(dave, carol.id);
  const resumedFrames = resumed.framesDecoded - paused2.framesDecoded;
  console.log(
    `Dave <- Carol: ${pausedFrames} frames while paused, ${resumedFrames} in 3 s after resuming, ` +
      `packets lost ${resumed.packetsLost}, freezes ${resumed.freezeCount}`,
  );
  assert.ok(resumedFrames > 20, `frames flow again after camera on (${resumedFrames})`);
  // Continuous sequence numbers across the pause: the browser counts no loss.
  assert.equal(resumed.packetsLost, 0, 'no sequence gap across pause and resume');
  await carol.context.close();
  await dave.context.close();
});
