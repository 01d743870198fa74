// Retransmission as a subscriber sees it: a Chromium publisher sends its camera, a Chromium
// subscriber decodes it, and a few percent of the RTP packets the SERVER sends the subscriber
// are dropped (nftables, in the test's own loopback-only network namespace, scripts/test.sh).
// The subscriber NACKs the gaps (RFC 4585 generic NACK) and the server answers from its packet
// history (RTX, RFC 4588, when negotiated; router/consumer.cc), so the subscriber still decodes
// (almost) every frame the publisher sends, without asking for key frames.
//
// To see the test fail as it would without retransmission, run it with SB_NACK_DROP_RTX=1: the
// subscriber's whole RTX stream is dropped as well.
//
// What is dropped: UDP packets leaving the server's media ports (a narrow --rtc-ports range
// outside the kernel's ephemeral range, so the browsers' own sockets never match), whose first
// two payload bits are RTP version 2 (not STUN or DTLS, RFC 7983) and that are longer than
// 300 bytes (video, not RTCP). Only the subscriber gets such packets from the server: the
// publisher's connection carries RTCP from the server, and the subscriber publishes nothing.
// The rules go in only once video flows, and an nft counter says how many packets they dropped.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { serverAndBrowser, joinWithLibrary, sleep } from './harness.mjs';

const LOSS_PERCENT = 5;
const LOSS_SECONDS = 15;
const TABLE = 'sbloss';
// Below the ephemeral range (32768-60999 here), where Chromium binds its UDP sockets.
const RTC_PORT_MIN = 10000 + 20 * Math.floor(Math.random() * 1000);
const RTC_PORT_MAX = RTC_PORT_MIN + 19;

// A port per transport from that range (--rtc-port=0), not the worker's shared default port.
const env = serverAndBrowser(['--rtc-port=0', `--rtc-ports=${RTC_PORT_MIN}-${RTC_PORT_MAX}`]);

function nft(...args) {
  return spawnSync('nft', args, { encoding: 'utf8' });
}

// Whether nft can add a table in this namespace (needs the nftables package and root).
function nftUsable() {
  const probe = nft('add', 'table', 'inet', `${TABLE}probe`);
  if (probe.error || probe.status !== 0) {
    return `nft cannot add a table (${probe.error?.code ?? probe.stderr.trim()}); ` +
      'install Debian\'s nftables package and run as root in a network namespace (scripts/test.sh)';
  }
  nft('delete', 'table', 'inet', `${TABLE}probe`);
  return null;
}

function removeLoss() {
  nft('delete', 'table', 'inet', TABLE);
}
after(removeLoss);

// `rtxSsrc` (a check that the test can fail, SB_NACK_DROP_RTX=1): also drop every packet of
// the subscriber's RTX stream (SSRC at byte 8 of the RTP header), so no retransmission arrives.
function addLoss(rtxSsrc) {
  removeLoss();
  const match = `udp sport ${RTC_PORT_MIN}-${RTC_PORT_MAX} @th,64,2 2 meta length > 300`;
  const script = [
    `add table inet ${TABLE}`,
    `add chain inet ${TABLE} out { type filter hook output priority 0; }`,
    `add rule inet ${TABLE} out ${match} counter`,
    `add rule inet ${TABLE} out ${match} numgen random mod 100 < ${LOSS_PERCENT} counter drop`,
    ...(rtxSsrc !== undefined
      ? [`add rule inet ${TABLE} out udp sport ${RTC_PORT_MIN}-${RTC_PORT_MAX} @th,128,32 ${rtxSsrc} counter drop`]
      : []),
  ].join('\n');
  const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
  assert.equal(r.status, 0, `nft: ${r.stderr}`);
}

// Packet counters of the rules: { matched, dropped, droppedRtx }.
function lossCounters() {
  const r = nft('-j', 'list', 'table', 'inet', TABLE);
  assert.equal(r.status, 0, `nft: ${r.stderr}`);
  const counters = JSON.parse(r.stdout)
    .nftables.filter((e) => e.rule)
    .map((e) => e.rule.expr.find((x) => x.counter).counter.packets);
  return { matched: counters[0], dropped: counters[1], droppedRtx: counters[2] };
}


// The subscriber's video inbound-rtp entry, straight from getStats() (the library's summary
// leaves out the retransmission counters), with the codecs of the subscribing connection.
async function inboundVideo(subscriber) {
  return subscriber.page.evaluate(async () => {
    const { subscribe } = await window.sb.getStats();
    if (!subscribe) return undefined;
    const codecs = [...subscribe.values()].filter((s) => s.type === 'codec').map((s) => s.mimeType);
    for (const s of subscribe.values()) {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') continue;
      return {
        mimeType: subscribe.get(s.codecId)?.mimeType,
        codecs,
        framesDecoded: s.framesDecoded ?? 0,
        packetsReceived: s.packetsReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        nackCount: s.nackCount ?? 0,
        pliCount: s.pliCount ?? 0,
        freezeCount: s.freezeCount ?? 0,
        retransmittedPacketsReceived: s.retransmittedPacketsReceived ?? 0,
        retransmittedBytesReceived: s.retransmittedBytesReceived ?? 0,
        rtxSsrc: s.rtxSsrc,
      };
    }
    return undefined;
  });
}

test('the server answers the subscriber\'s NACKs and repairs loss on the way to it', async (t) => {
  const why = nftUsable();
  if (why) {
    t.skip(why);
    return;
  }
  const alice = await joinWithLibrary(env, 'nack', 'Alice');
  await alice.page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    await window.sb.publish(stream);
  });
  const bob = await joinWithLibrary(env, 'nack', 'Bob');

  const sentFrames = async () =>
    (await alice.page.evaluate(() => window.sb.getSenderStats())).find((s) => s.kind === 'video')
      ?.framesSent ?? 0;
  const deadline = Date.now() + 20000;
  let start;
  for (;;) {
    start = await inboundVideo(bob);
    if (start?.framesDecoded > 10) break;
    assert.ok(Date.now() < deadline, `Bob decodes no video from Alice: ${JSON.stringify(start)}`);
    await sleep(250);
  }
  const sentAtStart = await sentFrames();

  addLoss(process.env.SB_NACK_DROP_RTX ? start.rtxSsrc : undefined);
  await sleep(LOSS_SECONDS * 1000);
  const { matched, dropped, droppedRtx } = lossCounters();
  removeLoss();
  // Time for the last NACKs to be answered before counting what stayed lost.
  await sleep(1500);
  const end = await inboundVideo(bob);
  const sent = (await sentFrames()) - sentAtStart;

  const d = (key) => end[key] - start[key];
  const figures = {
    matched, dropped, nacks: d('nackCount'), retransmitted: d('retransmittedPacketsReceived'),
    lost: d('packetsLost'), received: d('packetsReceived'), sent, frames: d('framesDecoded'),
    plis: d('pliCount'), freezes: d('freezeCount'), codec: end.mimeType, rtxSsrc: end.rtxSsrc,
  };
  if (droppedRtx !== undefined) figures.droppedRtx = droppedRtx;
  console.log(`Bob <- Alice with ${LOSS_PERCENT} % of the server's video dropped for ` +
    `${LOSS_SECONDS} s: ${JSON.stringify(figures)}`);

  // The loss really happened (about 5 % of the video: a few packets a second).
  assert.ok(dropped >= 10, `the network dropped video packets (${dropped} of ${matched})`);
  // The browser noticed the gaps and asked for them again (this holds with or without
  // retransmission: it shows the NACKs the server had to answer exist).
  assert.ok(figures.nacks > 0, `Bob sent NACKs (${figures.nacks})`);
  // Retransmissions arrived (the server negotiated RTX, so Chromium counts them on the RTX
  // stream): without the server answering NACKs this stays 0. Every dropped packet needs one
  // (some are dropped again and asked for once more), so expect at least half as many.
  assert.ok(figures.retransmitted >= dropped / 2,
    `the server retransmitted to Bob (${figures.retransmitted} for ${dropped} dropped)`);
  // What the user sees: (almost) every frame the publisher sent is decoded, with no key frame
  // requests. Without retransmission each dropped packet leaves its frame incomplete, and VP8
  // cannot decode the frames after it until a key frame, which Chromium asks for (PLI) only
  // after waiting: the picture freezes again and again and most frames are never shown.
  // (Checked by dropping the RTX stream too, SB_NACK_DROP_RTX=1: 94 of 333 frames decoded,
  // 4 PLIs, 5 freezes, 7 retransmissions counted; with it, 331 of 332, no PLI.)
  // Chromium's packetsLost does not show the repair: libwebrtc leaves packets recovered from
  // RTX out of the media stream's receive statistics, so it counts every gap either way.
  assert.ok(figures.frames >= 0.85 * sent,
    `Bob decodes the frames Alice sent (${figures.frames} of ${sent})`);
  assert.ok(figures.plis <= 3, `Bob needed (almost) no key frames (${figures.plis} PLIs)`);
  assert.ok(figures.frames >= LOSS_SECONDS * 10,
    `Bob keeps decoding frames (${figures.frames} in ${LOSS_SECONDS + 1.5} s)`);

  await alice.context.close();
  await bob.context.close();
});
