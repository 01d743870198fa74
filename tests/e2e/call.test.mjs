// A real conference call through the SFU: three headless Chromium participants join one room
// through the web app and decode each other's video and audio; a fourth finds the room full;
// when one leaves, the others see its tile go and keep seeing and hearing each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  launchBrowser,
  openParticipant,
  waitForState,
  inboundStats,
  sleep,
  waitForFrames,
  serverBandwidth,
} from './harness.mjs';

const ROOM = 'e2e-call';
const MEASURE_MS = 6000;
// Generous: the estimate starts at 300 kbit/s and probes up; 720p simulcast needs 2.5 Mbit/s.
const SETTLE_MS = 20000;
let server;
let browser;

before(async () => {
  server = await startServer(['--room-capacity=3']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  // Fails the file if the server crashed or a worker died (harness.mjs).
  await server?.stop();
});

function byPublisher(stats) {
  const out = {};
  for (const s of stats) {
    out[s.participantId] ??= {};
    out[s.participantId][s.kind] = s;
  }
  return out;
}

// Every one of `people` keeps receiving every other's video and audio, second after second
// for `seconds`: in each one-second step frames are decoded and audio packets arrive and play
// out (samples that are not concealment), so one frame or a stalled track cannot pass.
async function assertSustainedFlow(people, when, seconds = 3) {
  const snapshots = [];
  for (let i = 0; i <= seconds; i++) {
    if (i > 0) await sleep(1000);
    snapshots.push(await Promise.all(people.map((p) => inboundStats(p).then(byPublisher))));
  }
  const report = [];
  people.forEach((p, i) => {
    for (const other of people) {
      if (other === p) continue;
      const steps = [];
      for (let k = 1; k < snapshots.length; k++) {
        const a = snapshots[k - 1][i][other.id];
        const b = snapshots[k][i][other.id];
        const what = `${p.name} <- ${other.name} ${when}, second ${k}`;
        assert.ok(a?.video && a?.audio && b?.video && b?.audio, `${what}: audio and video tracks`);
        const frames = b.video.framesDecoded - a.video.framesDecoded;
        const packets = b.audio.packetsReceived - a.audio.packetsReceived;
        const played = (s) => s.audio.totalSamplesReceived - s.audio.concealedSamples;
        const samples = played(b) - played(a);
        steps.push(`${frames} frames, ${packets} audio packets, ${samples} samples`);
        // About 30 fps from the fake camera, 50 Opus packets and 48000 samples a second.
        assert.ok(frames >= 5, `${what}: video frames decoded (${frames})`);
        assert.ok(packets >= 20, `${what}: audio packets (${packets})`);
        assert.ok(samples >= 9600, `${what}: audio samples played out (${samples})`);
      }
      report.push(`${p.name} <- ${other.name} ${when}: ${steps.join('; ')}`);
    }
  });
  console.log(report.join('\n'));
}

test('three participants see and hear each other through the SFU', async () => {
  const names = ['Ada', 'Grace', 'Linus'];
  const people = [];
  for (const name of names) {
    const p = await openParticipant(browser, server, ROOM, name);
    assert.equal(await waitForState(p, ['joined', 'full', 'error']), 'joined', `${name} joins`);
    p.id = await p.page.evaluate(() => document.body.dataset.selfId);
    people.push(p);
  }
  const ids = people.map((p) => p.id);
  assert.equal(new Set(ids).size, 3, 'distinct participant ids');

  // Each sees a tile (a video element) for each of the other two.
  for (const p of people) {
    const others = ids.filter((id) => id !== p.id);
    await p.page.waitForFunction(
      (want) => want.every((id) => document.querySelector(`video[data-participant-id="${id}"]`)),
      others,
      { timeout: 20000 },
    );
  }

  // Wait until every participant decodes video from both others, then measure for a while.
  for (const p of people) {
    for (const other of people) {
      if (other !== p) await waitForFrames(p, other.id, 30000);
    }
  }
  // Then until the call has settled: on this unconstrained path the server's estimate for each
  // subscriber covers what its tiles ask for (a newcomer's tile asks for a layer only once the
  // grid has its new size, and the estimate probes up to what is asked), so the measurement is
  // of the call, not of its first seconds.
  const settledSince = Date.now();
  for (;;) {
    const bw = await serverBandwidth(server, people);
    if (bw.every((b) => b && b.allocatedBps >= b.desiredBps)) break;
    assert.ok(Date.now() - settledSince < SETTLE_MS,
      `the estimates cover what the tiles ask for within ${SETTLE_MS} ms: ${JSON.stringify(bw)}`);
    await sleep(250);
  }
  console.log(`settled ${Date.now() - settledSince} ms after every participant decoded both others`);
  const first = await Promise.all(people.map((p) => inboundStats(p).then(byPublisher)));
  await sleep(MEASURE_MS);
  const second = await Promise.all(people.map((p) => inboundStats(p).then(byPublisher)));

  // The whole picture is printed before anything is asserted, so a failure shows every path.
  const report = [];
  const checks = [];
  people.forEach((p, i) => {
    for (const other of people) {
      if (other === p) continue;
      const a = first[i][other.id];
      const b = second[i][other.id];
      checks.push([b?.video && b?.audio, `${p.name} receives ${other.name}'s audio and video`]);
      if (!(b?.video && b?.audio)) continue;
      const frames = b.video.framesDecoded - (a?.video?.framesDecoded ?? 0);
      const fps = frames / (MEASURE_MS / 1000);
      const audioPackets = b.audio.packetsReceived - (a?.audio?.packetsReceived ?? 0);
      const samples = (b.audio.totalSamplesReceived ?? 0) - (a?.audio?.totalSamplesReceived ?? 0);
      const freezes = (b.video.freezeCount ?? 0) - (a?.video?.freezeCount ?? 0);
      report.push(
        `${p.name} <- ${other.name}: video ${b.video.frameWidth}x${b.video.frameHeight} ` +
          `${fps.toFixed(1)} fps decoded, ${freezes} freezes, lost ${b.video.packetsLost}, ` +
          `${b.video.pliCount ?? '?'} PLIs; ` +
          `audio ${audioPackets} packets, ${samples} samples in ${MEASURE_MS / 1000} s`,
      );
      // The fake camera sends about 30 fps; a working path decodes well above a trickle.
      checks.push([fps >= 5, `${p.name} decodes ${other.name}'s video (${fps.toFixed(1)} fps)`]);
      checks.push([b.video.frameWidth > 0, `${p.name} sees ${other.name}'s frames with a size`]);
      // Opus at 20 ms packets is 50 packets/s.
      checks.push([
        audioPackets >= 20 * (MEASURE_MS / 1000),
        `${p.name} receives ${other.name}'s audio (${audioPackets} packets)`,
      ]);
      checks.push([samples > 0, `${p.name} plays out ${other.name}'s audio`]);
    }
  });
  // What each publisher encodes, and what limits it (CPU or bandwidth), beside what arrives.
  for (const p of people) {
    const sent = (await p.page.evaluate(() => window.switchboardTest.outboundStats()))
      .filter((s) => s.kind === 'video')
      .map((s) => `${s.rid ?? '-'} ${s.frameWidth ?? 0}x${s.frameHeight ?? 0} ` +
        `${s.framesPerSecond ?? 0} fps (${s.qualityLimitationReason ?? '?'})`)
      .join(', ');
    report.push(`${p.name} sends: ${sent}`);
  }
  // What each subscriber's tiles ask for, and the server's estimate and allocation for it.
  const bandwidths = await serverBandwidth(server, people);
  for (const [i, p] of people.entries()) {
    const tiles = await p.page.evaluate(() =>
      [...document.querySelectorAll('[data-peer]')].map((el) =>
        `${el.dataset.peer}: maxLayer ${el.dataset.maxLayer ?? '-'}, paused ${el.dataset.paused ?? '-'}`));
    report.push(`${p.name} tiles ${JSON.stringify(tiles)}; server: ${JSON.stringify(bandwidths[i])}`);
  }
  console.log(report.join('\n'));
  for (const [ok, what] of checks) assert.ok(ok, what);

  // Both connections are DTLS-SRTP with the AEAD cipher the server prefers.
  for (const p of people) {
    const transports = await p.page.evaluate(() => window.switchboardTest.transportStats());
    for (const side of ['publish', 'subscribe']) {
      const t = transports[side];
      assert.equal(t?.dtlsState, 'connected', `${p.name} ${side} DTLS connected`);
      assert.match(t.srtpCipher, /AEAD_AES_256_GCM/, `${p.name} ${side} SRTP cipher`);
    }
    if (p === people[0]) console.log(`${p.name}: ${JSON.stringify(transports)}`);
  }

  // The server's RTCP reaches the browsers: its receiver reports give each publisher
  // remote-inbound-rtp statistics (with a round-trip time), its sender reports give each
  // subscriber remote-outbound-rtp statistics for every stream it receives.
  for (const p of people) {
    const rtcp = await p.page.evaluate(() => window.switchboardTest.rtcpStats());
    const kinds = new Set(rtcp.remoteInbound.map((r) => r.kind));
    assert.ok(kinds.has('audio') && kinds.has('video'), `${p.name} got receiver reports: ${JSON.stringify(rtcp.remoteInbound)}`);
    assert.ok(rtcp.remoteInbound.every((r) => r.roundTripTime >= 0), `${p.name}: RTT from the reports`);
    assert.ok(rtcp.remoteOutbound.length >= 4, `${p.name} got sender reports for 4 streams: ${JSON.stringify(rtcp.remoteOutbound)}`);
    console.log(`${p.name}: RTT ${rtcp.remoteInbound.map((r) => `${r.kind} ${(r.roundTripTime * 1000).toFixed(1)} ms`).join(', ')}; ` +
      `${rtcp.remoteOutbound.length} streams with sender reports`);
  }

  // A fourth participant finds the room full, and nothing changes for the others.
  const fourth = await openParticipant(browser, server, ROOM, 'Dennis');
  assert.equal(await waitForState(fourth, ['joined', 'full', 'error']), 'full', 'room of 3 is full');
  const status = await fourth.page.textContent('#status');
  assert.match(status, /full/i, 'the page says the room is full');
  for (const p of people) {
    const tiles = await p.page.$$eval('video[data-participant-id]', (v) => v.length);
    assert.equal(tiles, 2, `${p.name} still sees two others`);
  }
  await fourth.context.close();

  // One leaves: the other two see its tile go, and keep seeing and hearing each other both ways.
  const leaver = people[2];
  await leaver.page.click('#leave');
  assert.equal(await waitForState(leaver, ['left', 'idle']), 'left');
  for (const p of people.slice(0, 2)) {
    await p.page.waitForFunction(
      (id) => !document.querySelector(`video[data-participant-id="${id}"]`),
      leaver.id,
      { timeout: 10000 },
    );
  }
  await assertSustainedFlow(people.slice(0, 2), `after ${leaver.name} left`);

  for (const p of people) {
    assert.deepEqual(p.errors, [], `${p.name}'s page has no script errors`);
    await p.context.close();
  }
});
