// Media behaviour a participant notices: H264 is forwarded when a publisher prefers it,
// muting a camera pauses forwarding and unmuting resumes it as one continuous stream, and the
// server itself pauses forwarding on the protocol's `mute` while the publisher still sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser,
  waitForState,
  sleep,
  videoFrom,
  waitForFrames,
  inboundStats,
  joinRoom,
} from './harness.mjs';

const env = serverAndBrowser();

// `captureSocket`: the page keeps the signaling WebSocket the app opens in
// window.signalingSocket, so a test can speak the protocol on it behind the app's back.
async function join(room, name, extra = '', { captureSocket = false } = {}) {
  const context = await env.browser.newContext({ permissions: ['camera', 'microphone'] });
  if (captureSocket) {
    await context.addInitScript(() => {
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) {
        window.signalingSocket = this;
        return send.call(this, data);
      };
    });
  }
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

// What `subscriber` receives of `kind` from `publisher`, and what `publisher` sends of it.
async function flow(subscriber, publisher, kind) {
  const inbound = (await inboundStats(subscriber)).find(
    (s) => s.participantId === publisher.id && s.kind === kind,
  );
  const outbound = (await publisher.page.evaluate(() => window.switchboardTest.outboundStats()))
    .filter((s) => s.kind === kind)
    .reduce((sum, s) => ({ packetsSent: sum.packetsSent + s.packetsSent, bytesSent: sum.bytesSent + s.bytesSent }), {
      packetsSent: 0,
      bytesSent: 0,
    });
  return { inbound, outbound };
}

async function until(what, fn, timeout = 10000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

// Packets in 2 s that show a kind is flowing: video is about one packet a frame at 30 fps here
// (fewer frames when the machine is busy), Opus 50 packets a second.
const MIN_PACKETS = { video: 30, audio: 50 };

// The app's camera and microphone buttons also disable the track in the browser (web/lib's
// setMuted), so the test above cannot tell what the server did. Here Carol's tracks stay
// enabled: only the protocol message is sent, on her page's own WebSocket, and it is the
// server that must stop forwarding that kind (and tell the others), then forward it again on
// unmute.
test('the server pauses forwarding on mute while the publisher keeps sending, and resumes on unmute', async () => {
  const ROOM = 'server-mute';
  const carol = await join(ROOM, 'Carol', '', { captureSocket: true });
  const dave = await join(ROOM, 'Dave');
  // A protocol client in the room sees what the others are told.
  const observer = await joinRoom(env.server, ROOM, 'Observer');
  const mute = (kind, muted) =>
    carol.page.evaluate((m) => window.signalingSocket.send(JSON.stringify(m)), { type: 'mute', kind, muted });
  // Sends `mute` and waits for the others to be told with participant-updated (earlier updates,
  // such as Carol's tracks arriving, are dropped first so they cannot stand in for it).
  const setMuted = async (kind, muted) => {
    observer.client.queue.splice(0);
    await mute(kind, muted);
    return observer.client.next(
      (m) => m.type === 'participant-updated' && m.participant.id === carol.id && m.participant[`${kind}Muted`] === muted,
    );
  };
  await waitForFrames(dave, carol.id);
  await until('Dave receives Carol\'s audio', async () => (await flow(dave, carol, 'audio')).inbound?.packetsReceived > 0);
  const report = [];

  for (const kind of ['video', 'audio']) {
    const other = kind === 'video' ? 'audio' : 'video';
    const updated = await setMuted(kind, true);
    assert.equal(updated.participant[`${other}Muted`], false, JSON.stringify(updated));

    await sleep(500); // packets already on their way
    const a = await flow(dave, carol, kind);
    const aOther = await flow(dave, carol, other);
    await sleep(2000);
    const b = await flow(dave, carol, kind);
    const bOther = await flow(dave, carol, other);
    const received = b.inbound.packetsReceived - a.inbound.packetsReceived;
    const receivedBytes = b.inbound.bytesReceived - a.inbound.bytesReceived;
    const sent = b.outbound.packetsSent - a.outbound.packetsSent;
    const sentBytes = b.outbound.bytesSent - a.outbound.bytesSent;
    const otherReceived = bOther.inbound.packetsReceived - aOther.inbound.packetsReceived;
    report.push(
      `${kind} muted for 2 s: Carol sent ${sent} packets (${sentBytes} bytes), Dave received ${received} ` +
        `(${receivedBytes} bytes), and ${otherReceived} ${other} packets`,
    );
    // Carol still sends real media (an enabled camera at up to 30 fps, Opus at 50 packets/s)...
    assert.ok(sent >= MIN_PACKETS[kind], `Carol keeps sending ${kind} while muted (${sent} packets)`);
    if (kind === 'video') assert.ok(sentBytes >= 20000, `real video, not black frames (${sentBytes} bytes)`);
    // ...the server forwards none of it, and keeps forwarding the other kind.
    assert.equal(received, 0, `Dave receives no ${kind} from Carol while she is muted (${received} packets)`);
    assert.equal(receivedBytes, 0, `no ${kind} bytes either`);
    assert.ok(otherReceived >= MIN_PACKETS[other], `Dave still receives Carol's ${other} (${otherReceived} packets)`);

    await setMuted(kind, false);
    const start = b.inbound;
    const back = await until(`Dave receives Carol's ${kind} again`, async () => {
      const now = (await flow(dave, carol, kind)).inbound;
      const ok = kind === 'video' ? now.framesDecoded - start.framesDecoded >= 30 : now.packetsReceived - start.packetsReceived >= 50;
      return ok && now;
    });
    report.push(
      `${kind} unmuted: Dave receives it again (${back.packetsReceived - start.packetsReceived} packets` +
        `${kind === 'video' ? `, ${back.framesDecoded - start.framesDecoded} frames decoded` : ''}), ` +
        `packets lost ${back.packetsLost}`,
    );
    // One continuous stream across the pause: the browser counts no gap.
    assert.equal(back.packetsLost, 0, `no sequence gap in Carol's ${kind} across mute and unmute`);
  }
  console.log(report.join('\n'));
  await observer.client.close();
  await carol.context.close();
  await dave.context.close();
});
