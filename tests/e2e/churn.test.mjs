// Meetings with churn, as people live them: someone stays while dozens of others come,
// publish and go (by the leave button or by closing the tab); the first participant leaves a
// call of three; everyone leaves and a newcomer arrives; a page reloads; the signaling
// connection breaks and resumes; ICE restarts; the room's worker dies. Each case checks media
// the way a person would notice it (video frames decoded, audio arriving) and prints the time
// to media.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  startServer,
  launchBrowser,
  openParticipant,
  waitForState,
  waitForFrames,
  inboundStats,
  getJson,
  sleep,
} from './harness.mjs';

// Newcomers in the long churn test (the issue asks for 50; SB_CHURN_N shortens a local run).
const CHURNERS = Number(process.env.SB_CHURN_N ?? 50);
// A newcomer's video must play for the one who stays within this (docs/protocol.md).
const MEDIA_WITHIN_MS = 2000;

let server;
let browser;

before(async () => {
  server = await startServer(['--room-capacity=60', '--workers=1', '--resume-grace=8']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  // Fails the file if the server crashed or a worker died unexpectedly (harness.mjs).
  await server?.stop();
});

const selfId = (p) => p.page.evaluate(() => document.body.dataset.selfId);

function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
}

// Waits until `subscriber` decodes video from `publisherId`; returns the milliseconds it took.
async function timeToFrames(subscriber, publisherId, timeout = 15000) {
  const start = Date.now();
  await waitForFrames(subscriber, publisherId, timeout);
  return Date.now() - start;
}

// `subscriber` keeps decoding `publisherId`'s video and receiving its audio for `ms`.
async function assertFlowing(subscriber, publisherId, what, ms = 2000) {
  const pick = async () => {
    const stats = await inboundStats(subscriber);
    const video = stats.find((s) => s.participantId === publisherId && s.kind === 'video');
    const audio = stats.find((s) => s.participantId === publisherId && s.kind === 'audio');
    return { frames: video?.framesDecoded ?? 0, packets: audio?.packetsReceived ?? 0 };
  };
  const a = await pick();
  await sleep(ms);
  const b = await pick();
  assert.ok(b.frames - a.frames >= (ms / 1000) * 5, `${what}: video frames decoded (${b.frames - a.frames} in ${ms} ms)`);
  assert.ok(b.packets - a.packets >= (ms / 1000) * 20, `${what}: audio packets (${b.packets - a.packets} in ${ms} ms)`);
}

async function tileGone(subscriber, publisherId, timeout = 5000) {
  await subscriber.page.waitForFunction(
    (id) => !document.querySelector(`video[data-participant-id="${id}"]`),
    publisherId,
    { timeout },
  );
}

async function joinAs(room, name) {
  const p = await openParticipant(browser, server, room, name);
  await waitForState(p, 'joined');
  p.id = await selfId(p);
  return p;
}

test(`a participant who stays gets every one of ${CHURNERS} newcomers within ${MEDIA_WITHIN_MS} ms`, async () => {
  const room = 'churn-long';
  const stayer = await joinAs(room, 'Stayer');
  const times = [];
  let previous = null;
  for (let i = 0; i < CHURNERS; i++) {
    const guest = await joinAs(room, `Guest${i}`);
    // From the newcomer being in the room (its camera is published right after) to frames.
    const ms = await timeToFrames(stayer, guest.id);
    times.push(ms);
    assert.ok(ms <= MEDIA_WITHIN_MS, `Guest${i}'s video played for the stayer after ${ms} ms`);
    if (i % 10 === 0) {
      // Both ways: the newcomer sees the one who stays too.
      await waitForFrames(guest, stayer.id, 5000);
    }
    // The one before leaves: by the button on even turns, by closing the tab on odd ones.
    if (previous) {
      if (i % 2 === 0) {
        await previous.page.click('#leave');
        await waitForState(previous, 'left');
      }
      await previous.context.close();
      await tileGone(stayer, previous.id);
    }
    previous = guest;
  }
  await previous.page.click('#leave');
  await previous.context.close();
  await tileGone(stayer, previous.id);

  // Everyone else left; a newcomer publishes and the stayer gets it.
  const last = await joinAs(room, 'Last');
  const lastMs = await timeToFrames(stayer, last.id);
  assert.ok(lastMs <= MEDIA_WITHIN_MS, `after everyone left, the newcomer's video played after ${lastMs} ms`);
  await assertFlowing(stayer, last.id, 'newcomer after everyone left');
  await assertFlowing(last, stayer.id, 'the stayer, seen by the newcomer after everyone left');

  // Its subscribing connection did not grow with the churn: m-lines are reused.
  const mlines = await stayer.page.evaluate(() => window.switchboardTest.subscribeMlines());
  console.log(`churn: ${CHURNERS} newcomers, time to video for the stayer (ms): ${JSON.stringify(summary(times))}; ` +
    `after everyone left: ${lastMs}; stayer's m-lines at the end: ${mlines}`);
  assert.ok(mlines <= 4, `the stayer's connection has ${mlines} m-lines (2 live tracks, 2 more at most)`);
  for (const p of [stayer, last]) await p.context.close();
});

test('three in a call, the first leaves: the other two keep each other', async () => {
  const room = 'churn-first-leaves';
  const ada = await joinAs(room, 'Ada');
  const grace = await joinAs(room, 'Grace');
  const linus = await joinAs(room, 'Linus');
  await waitForFrames(grace, linus.id);
  await waitForFrames(linus, grace.id);
  // Ada's tracks are Grace's first m-lines (the bundle tag): her leaving must not break Grace.
  await ada.page.click('#leave');
  await ada.context.close();
  await tileGone(grace, ada.id);
  await tileGone(linus, ada.id);
  await assertFlowing(grace, linus.id, 'Grace <- Linus after Ada left', 3000);
  await assertFlowing(linus, grace.id, 'Linus <- Grace after Ada left', 3000);
  // And a newcomer after that reaches both.
  const dennis = await joinAs(room, 'Dennis');
  for (const p of [grace, linus]) await waitForFrames(p, dennis.id, MEDIA_WITHIN_MS + 3000);
  for (const p of [grace, linus, dennis]) await p.context.close();
});

test('a page reload rejoins cleanly: the old participant goes at once, the new one is seen', async () => {
  const room = 'churn-reload';
  const ada = await joinAs(room, 'Ada');
  const grace = await joinAs(room, 'Grace');
  await waitForFrames(ada, grace.id);
  const oldId = grace.id;
  const start = Date.now();
  await grace.page.reload();
  await waitForState(grace, 'joined');
  grace.id = await selfId(grace);
  assert.notEqual(grace.id, oldId);
  await tileGone(ada, oldId, 3000);
  await waitForFrames(ada, grace.id);
  await waitForFrames(grace, ada.id);
  const ms = Date.now() - start;
  console.log(`reload: media back both ways ${ms} ms after the reload`);
  const rooms = await getJson(server, '/api/rooms');
  const info = rooms.rooms.find((r) => r.name === room);
  assert.deepEqual(info.participants.map((p) => p.name).sort(), ['Ada', 'Grace'], 'no ghost of the old page');
  for (const p of [ada, grace]) await p.context.close();
});

function nft(script) {
  return spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
}

test('the signaling network breaks for a few seconds: sessions resume, media never stops', async (t) => {
  const probe = nft('add table inet sbresumeprobe\ndelete table inet sbresumeprobe\n');
  if (probe.status !== 0) {
    t.skip(`nft unusable here (${probe.error?.code ?? probe.stderr.trim()}): run as root inside unshare -n`);
    return;
  }
  const room = 'churn-resume';
  const ada = await joinAs(room, 'Ada');
  const grace = await joinAs(room, 'Grace');
  await waitForFrames(ada, grace.id);
  await waitForFrames(grace, ada.id);
  // Every TCP packet to and from the HTTP/WebSocket port is dropped: both signaling
  // connections go dark without a close (a network change); media (UDP) goes on.
  const table = 'sbresume';
  const drop = nft(`add table inet ${table}
add chain inet ${table} out { type filter hook output priority 0; }
add rule inet ${table} out tcp dport ${server.port} drop
add rule inet ${table} out tcp sport ${server.port} drop
`);
  assert.equal(drop.status, 0, drop.stderr);
  const started = Date.now();
  try {
    for (const p of [ada, grace]) {
      await p.page.waitForFunction(() => document.body.dataset.connection === 'reconnecting', null, {
        timeout: 15000,
      });
    }
    console.log(`resume: heartbeats noticed the dead connections after ${Date.now() - started} ms`);
    await assertFlowing(ada, grace.id, 'Ada <- Grace while both reconnect', 2000);
    await assertFlowing(grace, ada.id, 'Grace <- Ada while both reconnect', 2000);
  } finally {
    nft(`delete table inet ${table}\n`);
  }
  const healed = Date.now();
  for (const p of [ada, grace]) {
    await p.page.waitForFunction(() => !document.body.dataset.connection, null, { timeout: 10000 });
  }
  console.log(`resume: both resumed ${Date.now() - healed} ms after the network came back`);
  for (const p of [ada, grace]) {
    assert.equal(await selfId(p), p.id, `${p.name} is the same participant`);
    assert.equal(await p.page.evaluate(() => document.body.dataset.state), 'joined');
  }
  await assertFlowing(ada, grace.id, 'Ada <- Grace after the resume');
  await assertFlowing(grace, ada.id, 'Grace <- Ada after the resume');
  // Nobody saw anybody leave, and the server kept both.
  for (const [p, other] of [[ada, grace], [grace, ada]]) {
    assert.ok(await p.page.$(`video[data-participant-id="${other.id}"]`), `${p.name} still shows ${other.name}`);
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^switchboard_resumes_total [2-9]/m);
  assert.match(metrics, /^switchboard_resume_expired_total 0$/m);
  for (const p of [ada, grace]) await p.context.close();
});

test('ICE restart on both connections keeps the call', async () => {
  const room = 'churn-ice';
  const ada = await joinAs(room, 'Ada');
  const grace = await joinAs(room, 'Grace');
  await waitForFrames(ada, grace.id);
  await waitForFrames(grace, ada.id);
  const before = await (await fetch(`${server.url}/metrics`)).text();
  const restarts = (text) => Number(/^switchboard_ice_restarts_total (\d+)$/m.exec(text)[1]);
  const ufrags = () => grace.page.evaluate(() => window.switchboardTest.remoteUfrags());
  const was = await ufrags();
  const started = Date.now();
  await grace.page.evaluate(() => window.switchboardTest.restartIce());
  let now = await ufrags();
  assert.notEqual(now.publish, was.publish, 'new server credentials on the publishing connection');
  for (const deadline = Date.now() + 10000; now.subscribe === was.subscribe && Date.now() < deadline; ) {
    await sleep(100);
    now = await ufrags();
  }
  assert.notEqual(now.subscribe, was.subscribe, 'new server credentials on the subscribing connection');
  console.log(`ICE restart: both connections renegotiated in ${Date.now() - started} ms`);
  const after = await (await fetch(`${server.url}/metrics`)).text();
  assert.equal(restarts(after) - restarts(before), 2, 'one restart per connection');
  await assertFlowing(ada, grace.id, 'Ada <- Grace after the ICE restart');
  await assertFlowing(grace, ada.id, 'Grace <- Ada after the ICE restart');
  for (const p of [ada, grace]) await p.context.close();
});

test('the room\'s worker dies: the web app rejoins by itself and the call is back within 3 s', async () => {
  const room = 'churn-worker';
  const ada = await joinAs(room, 'Ada');
  const grace = await joinAs(room, 'Grace');
  await waitForFrames(ada, grace.id);
  await waitForFrames(grace, ada.id);
  const { workerPid } = (await getJson(server, '/api/rooms')).rooms.find((r) => r.name === room);
  const start = Date.now();
  server.killWorker(workerPid);
  // Both are back in the room as new participants, seeing each other again.
  for (const p of [ada, grace]) {
    await p.page.waitForFunction(
      (old) => document.body.dataset.state === 'joined' && document.body.dataset.selfId !== old,
      p.id,
      { timeout: 3000 },
    );
    p.id = await selfId(p);
  }
  await waitForFrames(ada, grace.id, 3000 - (Date.now() - start));
  await waitForFrames(grace, ada.id, 3000 - (Date.now() - start));
  const ms = Date.now() - start;
  console.log(`worker killed: media back both ways after ${ms} ms`);
  assert.ok(ms <= 3000, `the call was back after ${ms} ms`);
  for (const p of [ada, grace]) await p.context.close();
});
