// Bandwidth allocation as a subscriber sees it, over a real, shaped network path (netns.mjs):
// the server in its own namespace, Alice, Bob and Carol each in a namespace of their own with
// their own Chromium. Alice publishes a 1280x720 camera as three simulcast layers (q/h/f at
// 320/640/1280 px). Bob's downlink goes through a 300 kbit/s token bucket from the start, Carol's
// is not shaped. The server has to estimate each subscriber's downlink and give Bob a layer that
// fits: he keeps decoding a low layer while Carol gets the top one; the estimate it holds for
// Bob's subscribing transport (GET /api/rooms, participants[].bandwidth) is near 300 kbit/s; and
// once his link is raised to 5 Mbit/s he gets the top layer too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  joinWithLibrary, waitForFrames, inboundStats, sendingLayers, getJson, sleep, publishSimulcast720,
  selectedPaths,
} from './harness.mjs';
import { createNetwork } from './netns.mjs';

const ROOM = 'allocation';
const ALICE = 0;
const BOB = 1;
const CAROL = 2;
const BOB_KBIT = 300;
const RAISED_KBIT = 5000;
const WINDOW_MS = 30_000;
const SAMPLE_MS = 5000;
// The window starts no earlier than this after Alice publishes: her own send estimate ramps up
// in up to 10 s (bandwidth.test.mjs), and what Bob sees before the window is traced, not judged.
const SETTLE_MS = 10_000;
// Chromium's fake camera runs at 20 fps unless told otherwise (its fps= option; the later
// switch overrides harness.launchBrowser's bare one); frameRate: 30 in getUserMedia cannot
// raise it.
const CAMERA_30FPS = '--use-fake-device-for-media-stream=fps=30';

let net;
let server;
const browsers = [];
let alice;
let bob;
let carol;

// Alice's video as `p` receives it (inbound-rtp, harness.inboundStats), with when it was read.
async function videoOf(p) {
  const stats = await inboundStats(p);
  const video = stats.find((s) => s.participantId === alice.id && s.kind === 'video');
  return { at: Date.now(), ...video };
}

// What changed between two videoOf() readings.
function rates(a, b) {
  const seconds = (b.at - a.at) / 1000;
  return {
    seconds,
    width: b.frameWidth,
    fps: ((b.framesDecoded ?? 0) - (a.framesDecoded ?? 0)) / seconds,
    kbps: (((b.bytesReceived ?? 0) - (a.bytesReceived ?? 0)) * 8) / seconds / 1000,
    freezes: (b.freezeCount ?? 0) - (a.freezeCount ?? 0),
    lost: (b.packetsLost ?? 0) - (a.packetsLost ?? 0),
    nacks: (b.nackCount ?? 0) - (a.nackCount ?? 0),
    framesDecoded: b.framesDecoded ?? 0,
  };
}

const fmt = (r) =>
  `${r.width ?? '-'} px, ${r.fps.toFixed(1)} fps, ${Math.round(r.kbps)} kbit/s, ` +
  `+${r.freezes} freezes, +${r.lost} lost, +${r.nacks} NACKs`;

// participants[].bandwidth of `p` in GET /api/rooms ({ estimateBps, allocatedBps, desiredBps }),
// or undefined when the server does not report it.
async function serverBandwidth(p) {
  const { rooms } = await getJson(server, '/api/rooms');
  const room = rooms.find((r) => r.name === ROOM);
  return room?.participants.find((q) => q.id === p.id)?.bandwidth;
}

const kbit = (bps) => (bps === undefined ? '-' : `${Math.round(bps / 1000)}`);
const fmtBandwidth = (bw) =>
  bw ? `estimate ${kbit(bw.estimateBps)}, allocated ${kbit(bw.allocatedBps)}, ` +
    `desired ${kbit(bw.desiredBps)} kbit/s` : 'no bandwidth in /api/rooms';

// Alice's camera settings and, per layer, what her encoder does and what limits it.
async function publisherState(p) {
  return p.page.evaluate(async () => {
    const track = window.sb.localStream?.getVideoTracks()[0];
    const { frameRate, width, height } = track?.getSettings() ?? {};
    const layers = {};
    const { publish } = await window.sb.getStats();
    for (const s of publish?.values() ?? []) {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        layers[s.rid] = { width: s.frameWidth, fps: s.framesPerSecond,
          limitation: s.qualityLimitationReason, targetBps: s.targetBitrate };
      }
    }
    return { camera: { width, height, frameRate }, layers };
  });
}

before(async () => {
  net = createNetwork(3);
  net.shape(BOB, BOB_KBIT); // from the start: Bob never had more
  server = await net.startServer(['--workers=1']);
  for (const i of [ALICE, BOB, CAROL]) {
    browsers[i] = await net.launchBrowser(i, { server, extraArgs: i === ALICE ? [CAMERA_30FPS] : [] });
  }
  const names = ['Alice', 'Bob', 'Carol'];
  [alice, bob, carol] = await Promise.all(
    names.map((name, i) => joinWithLibrary({ server, browser: browsers[i] }, ROOM, name)),
  );
  await publishSimulcast720(alice);
  const publishedAt = Date.now();
  const since = () => `${((Date.now() - publishedAt) / 1000).toFixed(1)} s`;

  // Everyone is connected and media flows: Carol decodes, Bob's shaped link brings packets
  // (whether he can decode them is assertion a).
  await waitForFrames(carol, alice.id, 20_000);
  console.log(`${since()}: Carol decodes Alice`);
  for (const deadline = Date.now() + 20_000; ; await sleep(250)) {
    const v = await videoOf(bob);
    if (v.packetsReceived > 0) break;
    if (Date.now() > deadline) throw new Error(`Bob receives no video from Alice: ${JSON.stringify(v)}`);
  }
  console.log(`${since()}: Bob receives packets of Alice's video`);
  // Which addresses ICE chose (Chromium may hide its host addresses behind mDNS names).
  for (const p of [alice, bob, carol]) {
    const path = Object.fromEntries(Object.entries(await selectedPaths(p)).map(([name, x]) =>
      [name, `${x.localAddress} ${x.local} -> ${x.remote}, DTLS ${x.dtlsState}`]));
    console.log(`${p.name}'s connections: ${JSON.stringify(path)}`);
  }

  // Steady state before measuring: Alice sends all three layers and Carol, unshaped, gets the
  // top one (the publisher's own estimate ramps up in about 10 s; bandwidth.test.mjs). Not
  // reaching it here is not fatal: assertion b says so with numbers.
  let layers = {};
  for (const deadline = Date.now() + 25_000; Date.now() < deadline; ) {
    layers = await sendingLayers(alice, 1000);
    const c = await videoOf(carol);
    if (Object.keys(layers).length === 3 && c.frameWidth === 1280) break;
  }
  console.log(`${since()}: Alice sends ${JSON.stringify(layers)}; Carol decodes ` +
    `${(await videoOf(carol)).frameWidth} px`);
  await sleep(Math.max(0, publishedAt + SETTLE_MS - Date.now()));
  const b = await videoOf(bob);
  const tbf = net.qdiscStats(BOB);
  console.log(`${since()}: before the window Bob decoded ${b.framesDecoded} frames ` +
    `(${b.frameWidth} px), ${b.freezeCount} freezes, ${b.packetsLost} lost, ${b.nackCount} NACKs; ` +
    `his tbf passed ${tbf.sentPackets} packets (${Math.round(tbf.sentBytes / 1000)} kB) and ` +
    `dropped ${tbf.dropped}`);
  console.log(`Alice's camera and layers: ${JSON.stringify(await publisherState(alice))}`);
}, { timeout: 90_000 });

after(async () => {
  try {
    await Promise.all(browsers.map((b) => b?.close()));
    // Fails the file if the server crashed or a worker died (harness.mjs).
    await server?.stop();
  } finally {
    net?.destroy();
  }
});

// One 30 s window, measured once for the tests that read it: Bob's and Carol's reception of
// Alice's video, traced every 5 s with the server's bandwidth figures and Bob's token bucket.
let windowResult;
function measureWindow() {
  windowResult ??= (async () => {
    const start = { bob: await videoOf(bob), carol: await videoOf(carol), tbf: net.qdiscStats(BOB) };
    // The server's estimate for Bob, read every second through the window: an estimate moves
    // (it rises until the link queues, then steps back), so the window's median is its value.
    const estimates = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const bw = await serverBandwidth(bob).catch(() => undefined);
        if (typeof bw?.estimateBps === 'number') estimates.push(bw.estimateBps);
        await sleep(1000);
      }
    })();
    let previous = start;
    let now;
    const bobWidths = new Set();
    while (Date.now() - start.bob.at < WINDOW_MS) {
      await sleep(SAMPLE_MS);
      now = { bob: await videoOf(bob), carol: await videoOf(carol), tbf: net.qdiscStats(BOB) };
      if (now.bob.frameWidth) bobWidths.add(now.bob.frameWidth);
      const t = ((now.bob.at - start.bob.at) / 1000).toFixed(0);
      const bw = await serverBandwidth(bob).catch((e) => ({ error: String(e) }));
      const dropped = now.tbf.dropped - previous.tbf.dropped;
      const tbfKbps = ((now.tbf.sentBytes - previous.tbf.sentBytes) * 8) / (now.bob.at - previous.bob.at);
      console.log(`+${t} s  Bob: ${fmt(rates(previous.bob, now.bob))}; ` +
        `his tbf passed ${Math.round(tbfKbps)} kbit/s, dropped ${dropped}; server: ${fmtBandwidth(bw)}`);
      console.log(`+${t} s  Carol: ${fmt(rates(previous.carol, now.carol))}`);
      previous = now;
    }
    sampling = false;
    await sampler;
    const result = {
      estimates,
      bob: rates(start.bob, now.bob),
      carol: rates(start.carol, now.carol),
      bobWidths: [...bobWidths],
      tbf: {
        kbps: ((now.tbf.sentBytes - start.tbf.sentBytes) * 8) / (now.bob.at - start.bob.at),
        dropped: now.tbf.dropped - start.tbf.dropped,
        sentPackets: now.tbf.sentPackets - start.tbf.sentPackets,
      },
    };
    console.log(`over ${result.bob.seconds.toFixed(1)} s  Bob: ${fmt(result.bob)} ` +
      `(widths seen ${JSON.stringify(result.bobWidths)}); his tbf passed ` +
      `${Math.round(result.tbf.kbps)} kbit/s and dropped ${result.tbf.dropped} of ` +
      `${result.tbf.sentPackets + result.tbf.dropped} packets`);
    console.log(`over ${result.carol.seconds.toFixed(1)} s  Carol: ${fmt(result.carol)}`);
    console.log(`Alice's camera and layers: ${JSON.stringify(await publisherState(alice))}`);
    return result;
  })();
  return windowResult;
}

// Not about the allocator: the path is what it claims to be. Bob's shaped downlink carries no more
// than its 300 kbit/s (the token bucket's own count, Ethernet frames included, and what his
// browser received in RTP payload), while Carol's unshaped one carries well over that.
test('the token bucket limits Bob\'s downlink to 300 kbit/s and only his', async () => {
  const w = await measureWindow();
  assert.ok(w.tbf.kbps <= BOB_KBIT * 1.05,
    `Bob's tbf passes at most ${BOB_KBIT} kbit/s: ${w.tbf.kbps.toFixed(0)} kbit/s`);
  assert.ok(w.bob.kbps <= BOB_KBIT,
    `Bob receives at most ${BOB_KBIT} kbit/s of video: ${w.bob.kbps.toFixed(0)} kbit/s`);
  assert.ok(w.carol.kbps > 2 * BOB_KBIT,
    `Carol, unshaped, receives more than twice that: ${w.carol.kbps.toFixed(0)} kbit/s`);
});

test('a. at 300 kbit/s Bob keeps decoding a low layer (≤ 320 px, ≥ 15 fps, ≤ 1 freeze in 30 s)',
  async () => {
    const { bob: r } = await measureWindow();
    const what = `Bob over ${r.seconds.toFixed(1)} s: ${fmt(r)}, ${r.framesDecoded} frames in all`;
    assert.ok(r.width !== undefined, `Bob has decoded no frame at all: ${what}`);
    assert.ok(r.fps > 0, `Bob decodes frames in the window (the last one he decoded is ` +
      `older): ${what}`);
    assert.ok(r.width <= 320, `Bob receives a low layer (frameWidth ≤ 320): ${what}`);
    assert.ok(r.fps >= 15, `Bob decodes at least 15 fps: ${what}`);
    assert.ok(r.freezes <= 1, `Bob's freezeCount grows by at most 1: ${what}`);
  });

test('b. Carol, unshaped, receives the top layer (1280 px) at ≥ 25 fps without freezes', async () => {
  const { carol: r } = await measureWindow();
  const what = `Carol over ${r.seconds.toFixed(1)} s: ${fmt(r)}`;
  assert.equal(r.width, 1280, `Carol receives the top layer: ${what}`);
  assert.ok(r.fps >= 25, `Carol decodes at least 25 fps: ${what}`);
  assert.equal(r.freezes, 0, `Carol's video does not freeze: ${what}`);
});

// The estimate sits near what Bob's link carries: it is capped at 1.5 times what he
// acknowledges (his 320 px at 30 fps take ~160 kbit/s of the 300), and a probe into his link
// measures everything that arrives while it lasts, media included, so a saturated link reads as
// its own rate. Session 6 saw 196-276 kbit/s from single readings, before probes counted the
// media beside them; the window's median is what is judged, the range is printed.
test('c. the server\'s estimate of Bob\'s subscribing transport is within 25 % of 300 kbit/s',
  async () => {
    const { estimates } = await measureWindow();
    const { rooms } = await getJson(server, '/api/rooms');
    const entry = rooms.find((r) => r.name === ROOM)?.participants.find((p) => p.id === bob.id);
    console.log(`/api/rooms, Bob: ${JSON.stringify(entry)}`);
    console.log(`/api/rooms, Carol: ${fmtBandwidth(await serverBandwidth(carol))}`);
    assert.ok(entry?.bandwidth,
      `/api/rooms reports participants[].bandwidth for Bob: ${JSON.stringify(entry)}`);
    assert.ok(estimates.length >= 20, `the estimate was read through the window: ${estimates.length}`);
    const sorted = [...estimates].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)];
    const wanted = BOB_KBIT * 1000;
    const range = `median ${kbit(median)}, min ${kbit(sorted[0])}, ` +
      `max ${kbit(sorted[sorted.length - 1])} kbit/s over ${estimates.length} readings`;
    console.log(`Bob's estimate through the window: ${range}`);
    assert.ok(Math.abs(median - wanted) <= 0.25 * wanted,
      `Bob's estimate is within 25 % of ${BOB_KBIT} kbit/s (${0.75 * BOB_KBIT}..` +
        `${1.25 * BOB_KBIT}): ${range}`);
  });

test('d. with his link raised to 5 Mbit/s, Bob receives the top layer (1280 px) within 15 s',
  async () => {
    await measureWindow();
    net.shape(BOB, RAISED_KBIT);
    const raisedAt = Date.now();
    const first = await videoOf(bob);
    let previous = first;
    let now = first;
    const trace = [];
    while (Date.now() - raisedAt < 15_000) {
      await sleep(1000);
      now = await videoOf(bob);
      const bw = await serverBandwidth(bob).catch(() => undefined);
      const line = `+${((now.at - raisedAt) / 1000).toFixed(0)} s ${fmt(rates(previous, now))}` +
        (bw ? `; ${fmtBandwidth(bw)}` : '');
      trace.push(line);
      console.log(`raised to ${RAISED_KBIT} kbit/s, Bob ${line}`);
      previous = now;
      if (now.frameWidth === 1280 && now.framesDecoded > first.framesDecoded) break;
    }
    assert.ok(
      now.frameWidth === 1280 && now.framesDecoded > first.framesDecoded,
      `Bob decodes 1280 px within 15 s of the raise: ${trace.slice(-3).join(' | ')}`,
    );
  });
