// A room spread over both workers (issue 14): with --room-shard-size=1 every participant after
// the first goes to the room's least-filled worker, so a call of three Chromium participants
// spans the two workers of the server and their tracks cross pipes between the workers' routers.
// Nothing changes for the browsers: everyone decodes everyone; a subscriber on the other worker
// than a simulcast publisher still chooses its own layer (the pipe carries every layer), and the
// publisher stops the layers nobody across the pipe wants (dynacast); a mute
// reaches across; a participant who leaves and comes back is seen again; GET /api/rooms shows the
// workers, the pipe and the piped tracks; /metrics counts them. When one of the room's workers
// dies, the room goes on on the other: those on it keep their call, the one on the dead worker is
// told (room-closed) and joins again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  serverAndBrowser,
  joinWithLibrary,
  getJson,
  waitForFrames,
  videoFrom,
  sendingLayers,
  sleep,
  collectMessages,
  openChat,
  chatBurst,
} from './harness.mjs';

const env = serverAndBrowser(['--workers=2', '--room-shard-size=1']);

async function publish(p, simulcast) {
  await p.page.evaluate(async (simulcast) => {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 1280, height: 720 },
    });
    await window.sb.publish(
      stream,
      simulcast
        ? {
            videoEncodings: [
              { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 40_000 },
              { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 80_000 },
              { rid: 'f', maxBitrate: 160_000 },
            ],
          }
        : {},
    );
  }, simulcast);
}

// Frames decoded from `publisher` keep growing at `subscriber` over `ms`.
async function framesGrow(subscriber, publisherId, ms = 3000) {
  const before = (await videoFrom(subscriber, publisherId))?.framesDecoded ?? 0;
  await sleep(ms);
  const after = (await videoFrom(subscriber, publisherId))?.framesDecoded ?? 0;
  return after - before;
}

async function waitFor(what, predicate, timeout = 15000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function roomInfo(name) {
  const { rooms } = await getJson(env.server, '/api/rooms');
  return rooms.find((r) => r.name === name);
}

// Participants on each of the room's workers.
function perWorker(room) {
  return room.workers.map((w) => w.participants);
}

test('a call spread over two workers: everyone sees everyone, layers chosen per side', async () => {
  const alice = await joinWithLibrary(env, 'span', 'Alice');
  await publish(alice, true);
  const bob = await joinWithLibrary(env, 'span', 'Bob');
  await publish(bob, false);

  let room = await roomInfo('span');
  assert.equal(room.workers.length, 2, `two workers: ${JSON.stringify(room.workers)}`);
  assert.notEqual(room.workers[0].worker, room.workers[1].worker);
  assert.deepEqual(perWorker(room).sort(), [1, 1]);

  // Across the pipe, both ways.
  const fromAlice = await waitForFrames(bob, alice.id, 20000);
  const fromBob = await waitForFrames(alice, bob.id, 20000);
  console.log(`Bob decodes Alice at ${fromAlice.frameWidth} px; Alice decodes Bob at ${fromBob.frameWidth} px`);
  room = await roomInfo('span');
  // Alice's audio and video to Bob's worker, Bob's to Alice's: four tracks, one pipe.
  assert.equal(room.pipes, 1);
  assert.equal(room.pipedProducers, 4, JSON.stringify(room));

  // Bob (on the other worker) chooses Alice's layers: all of them cross the pipe, so he gets the
  // top one, and the lowest when he asks for it.
  let layers = {};
  for (let i = 0; i < 10 && Object.keys(layers).length < 3; ++i) layers = await sendingLayers(alice);
  const widths = Object.values(layers).sort((a, b) => a - b);
  console.log(`Alice sends ${JSON.stringify(layers)}`);
  assert.ok(widths.length >= 2, `Alice sends at least two layers: ${JSON.stringify(layers)}`);
  await waitFor(`Bob decoding Alice's top layer (${widths.at(-1)} px)`, async () => {
    const v = await videoFrom(bob, alice.id);
    return v?.frameWidth === widths.at(-1);
  }, 20000);
  const producerId = await bob.page.evaluate((id) => window.sb.producerIdOf(id), alice.id);
  await bob.page.evaluate((pid) => window.sb.setSubscription(pid, { maxLayer: 0 }), producerId);
  await waitFor(`Bob decoding Alice's lowest layer (${widths[0]} px)`, async () => {
    const v = await videoFrom(bob, alice.id);
    return v?.frameWidth === widths[0];
  }, 15000);
  // Dynacast across the pipe: Bob, her only subscriber, wants the lowest layer, so Alice is
  // told to stop the others.
  await waitFor('Alice sending her lowest layer only', async () => {
    const sending = Object.values(await sendingLayers(alice, 1000));
    return sending.length === 1 && sending[0] === widths[0];
  }, 15000);
  await bob.page.evaluate((pid) => window.sb.setSubscription(pid, { maxLayer: null }), producerId);
  await waitFor('Alice sending her layers again', async () => {
    return Object.keys(await sendingLayers(alice, 1000)).length >= 2;
  }, 15000);

  // A third participant goes to the least-filled worker and sees both.
  const carol = await joinWithLibrary(env, 'span', 'Carol');
  await publish(carol, false);
  await waitForFrames(carol, alice.id, 20000);
  await waitForFrames(carol, bob.id, 20000);
  await waitForFrames(alice, carol.id, 20000);
  await waitForFrames(bob, carol.id, 20000);
  room = await roomInfo('span');
  assert.deepEqual(perWorker(room).sort(), [1, 2]);

  // Alice mutes her camera: the copies on the other worker pause with it, and resume.
  await alice.page.evaluate(() => window.sb.setMuted('video', true));
  await sleep(1500);
  assert.ok((await framesGrow(bob, alice.id, 2000)) <= 2, 'no frames from a muted camera');
  await alice.page.evaluate(() => window.sb.setMuted('video', false));
  await waitFor('Alice\'s video again at Bob', async () => (await framesGrow(bob, alice.id, 1500)) > 5, 20000);

  // Bob leaves and comes back (to whichever worker is least filled): the others see him again,
  // and he sees them.
  await bob.page.evaluate(() => window.sb.leave());
  await bob.context.close();
  const bob2 = await joinWithLibrary(env, 'span', 'Bob again');
  await publish(bob2, false);
  await waitForFrames(alice, bob2.id, 20000);
  await waitForFrames(carol, bob2.id, 20000);
  await waitForFrames(bob2, alice.id, 20000);
  await waitForFrames(bob2, carol.id, 20000);
  for (const [who, from] of [[alice, carol], [carol, alice], [alice, bob2], [carol, bob2]]) {
    assert.ok((await framesGrow(who, from.id, 2000)) > 10, `${who.name} still decodes ${from.name}`);
  }
  room = await roomInfo('span');
  assert.equal(room.participants.length, 3);
  assert.equal(perWorker(room).reduce((a, b) => a + b, 0), 3);

  const metrics = await (await fetch(`${env.server.url}/metrics`)).text();
  const value = (name) => Number(metrics.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1]);
  assert.ok(value('switchboard_pipes_total') >= 1, 'pipes counted');
  assert.ok(value('switchboard_producers_piped_total') >= 8, 'piped tracks counted');
  assert.equal(value('switchboard_pipe_failures_total'), 0);

  for (const p of [alice, carol, bob2]) await p.context.close();
});

test('a worker of a spread call dies: the others keep their call, the one on it joins again', async () => {
  const room = 'span-kill';
  const ann = await joinWithLibrary(env, room, 'Ann');
  await publish(ann, false);
  const ben = await joinWithLibrary(env, room, 'Ben');  // the other worker
  await publish(ben, false);
  const cat = await joinWithLibrary(env, room, 'Cat');  // with Ann (the first on a tie)
  await publish(cat, false);
  const people = [ann, ben, cat];
  for (const who of people) {
    await who.page.evaluate(() => {
      window.closedWith = null;
      window.sb.addEventListener('room-closed', (e) => { window.closedWith = e.detail.reason; });
    });
    for (const from of people) if (from !== who) await waitForFrames(who, from.id, 20000);
  }
  let info = await roomInfo(room);
  assert.deepEqual(perWorker(info).sort(), [1, 2]);
  const bensWorker = info.workers.find((w) => w.participants === 1);

  env.server.killWorker(bensWorker.workerPid);
  // Ben is told; Ann and Cat are not, and keep decoding each other throughout.
  await waitFor('Ben told that his media worker stopped', () =>
    ben.page.evaluate(() => window.closedWith), 10000);
  assert.match(await ben.page.evaluate(() => window.closedWith), /worker stopped/);
  for (const [who, from] of [[ann, cat], [cat, ann]]) {
    const grew = await framesGrow(who, from.id, 2000);
    assert.ok(grew > 10, `${who.name} still decodes ${from.name} (${grew} frames in 2 s)`);
    assert.equal(await who.page.evaluate(() => window.closedWith), null, `${who.name} stays`);
  }
  await waitFor('Ben gone from the room', async () => {
    info = await roomInfo(room);
    return info.participants.length === 2 && info.workers.length === 1;
  });

  // Ben joins again (the web app does so by itself), onto the restarted worker or the live one.
  await ben.context.close();
  const ben2 = await joinWithLibrary(env, room, 'Ben again');
  await publish(ben2, false);
  for (const [who, from] of [[ann, ben2], [cat, ben2], [ben2, ann], [ben2, cat]]) {
    await waitForFrames(who, from.id, 20000);
  }
  for (const [who, from] of [[ann, cat], [cat, ann]]) {
    assert.ok((await framesGrow(who, from.id, 2000)) > 10, `${who.name} still decodes ${from.name}`);
  }
  const metrics = await (await fetch(`${env.server.url}/metrics`)).text();
  const value = (name) => Number(metrics.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1]);
  assert.equal(value('switchboard_participants_moved_by_worker_death_total'), 1);
  assert.equal(value('switchboard_rooms_closed_by_worker_death_total'), 0);
  for (const p of [ann, cat, ben2]) await p.context.close();
});

test('data channels cross the workers: chat and a binary message reach the other worker, both ways', async () => {
  const room = 'span-data';
  const ann = await joinWithLibrary(env, room, 'Ann');
  const ben = await joinWithLibrary(env, room, 'Ben');  // the other worker
  const people = [ann, ben];
  let info = await roomInfo(room);
  assert.equal(info.workers.length, 2, JSON.stringify(info.workers));
  for (const p of people) {
    await collectMessages(p.page);
    await openChat(p.page);
  }
  for (const [from, to] of [[ann, ben], [ben, ann]]) await chatBurst(from, to);
  info = await roomInfo(room);
  assert.equal(info.pipedDataProducers, 2, `both channels piped: ${JSON.stringify(info)}`);
  const metrics = await (await fetch(`${env.server.url}/metrics`)).text();
  const value = (name) => Number(metrics.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1]);
  assert.ok(value('switchboard_data_producers_piped_total') >= 2);
  assert.equal(value('switchboard_data_channels_not_piped_total'), 0);
  for (const p of people) await p.context.close();
});
