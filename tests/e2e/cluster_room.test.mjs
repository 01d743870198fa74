// One room across the nodes of a cluster (issue 14): three switchboard nodes, each in a network
// namespace of its own at its own address, joined by a bridge (192.0.2.0/24, netns.mjs), one real
// redis-server for them all (on the test process's 192.0.2.2), and three Chromium participants,
// each in its own namespace and joined to a different node of one room. Each sees the others
// (joined, tracks, decoded video) through pipes between the nodes (SRTP over the bridge), a mute
// on one node reaches the others, dynacast reaches across nodes (Alice's only subscribers, on the
// two other nodes, ask for her lowest simulcast layer: she is told to stop the others, and to start
// them again when they ask for more), and when a node is killed mid-call (SIGKILL: no goodbye) its
// participant leaves the others' rooms within seconds while their call goes on. Data channels
// cross the nodes too (the first test, before any node dies): chat both ways between two nodes,
// in order and a 64 KiB binary message intact, a channel addressed to one participant reaching
// her only, and channels closing at their receivers when their sender closes them or leaves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  getJson,
  waitForFrames,
  videoFrom,
  sendingLayers,
  sleep,
  startRedis,
  collectMessages,
  openChat,
  chatBurst,
  REDIS_SERVER,
} from './harness.mjs';
import { createNetwork, TEST_PROCESS_IP } from './netns.mjs';

const skip = !existsSync(REDIS_SERVER) && 'redis-server is not installed (scripts/setup.sh installs it)';

let redis;
let net;
const nodes = {};
const browsers = [];

// Participant `i` (its own Chromium in client namespace i) joins `room` on `server`; `simulcast`:
// its camera at 720p as three layers.
async function join(i, server, room, name, simulcast = false) {
  const browser = await net.launchBrowser(i, { server });
  browsers.push(browser);
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  const id = await page.evaluate(
    async ({ room, name, simulcast }) => {
      const { SwitchboardClient } = await import('/lib/switchboard.js');
      const sb = new SwitchboardClient();
      window.sb = sb;
      window.events = [];
      for (const type of ['participant-joined', 'participant-left', 'participant-updated']) {
        sb.addEventListener(type, (e) => window.events.push({ type, detail: e.detail }));
      }
      await sb.connect(`ws://${location.host}/ws`);
      const reply = await sb.join(room, name);
      if (reply.type !== 'joined') throw new Error(`join: ${JSON.stringify(reply)}`);
      const video = simulcast ? { width: 1280, height: 720 } : { width: 640, height: 360 };
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
      await sb.publish(
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
      return reply.id;
    },
    { room, name, simulcast },
  );
  return { name, context, page, id };
}

async function waitFor(what, predicate, timeout = 15000) {
  const started = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return Date.now() - started;
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function framesGrow(subscriber, publisherId, ms = 2000) {
  const before = (await videoFrom(subscriber, publisherId))?.framesDecoded ?? 0;
  await sleep(ms);
  return ((await videoFrom(subscriber, publisherId))?.framesDecoded ?? 0) - before;
}

before(async () => {
  if (skip) return;
  net = createNetwork(3, { nodes: 3 });
  // Not protected mode: the nodes reach it over the bridge of this test's own namespaces.
  redis = await startRedis({ host: TEST_PROCESS_IP, protectedMode: false });
  const port = redis.port;
  for (const [k, id] of ['a', 'b', 'c'].entries()) {
    nodes[id] = await net.startNode(k, [
      `--redis=${TEST_PROCESS_IP}:${port}`,
      `--node-id=${id}`,
      '--workers=1',
    ]);
  }
});

after(async () => {
  for (const browser of browsers) await browser.close().catch(() => {});
  for (const server of Object.values(nodes)) {
    if (server.process.exitCode === null && server.process.signalCode === null) await server.stop();
  }
  redis?.stop();
  net?.destroy();
});

// Participant `i` (its own Chromium in client namespace i) joins `room` on `server` without
// camera or microphone and opens a 'chat' data channel; what reaches it on the channels the
// server opens to it is kept in window.got (binary messages as their length and byte sum).
async function joinForData(i, server, room, name) {
  const browser = await net.launchBrowser(i, { server });
  browsers.push(browser);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await page.evaluate(async () => {
    const { SwitchboardClient } = await import('/lib/switchboard.js');
    window.sb = new SwitchboardClient();
  });
  await collectMessages(page);
  const id = await page.evaluate(async ({ room, name }) => {
    await window.sb.connect(`ws://${location.host}/ws`);
    const reply = await window.sb.join(room, name);
    if (reply.type !== 'joined') throw new Error(`join: ${JSON.stringify(reply)}`);
    return reply.id;
  }, { room, name });
  await openChat(page);
  return { name, browser, context, page, id };
}

test('data channels cross the nodes: chat and a binary message reach the other node, both ways', { skip }, async () => {
  const room = 'across-data';
  const dan = await joinForData(0, nodes.a, room, 'Dan');
  const eve = await joinForData(1, nodes.b, room, 'Eve');
  for (const [from, to] of [[dan, eve], [eve, dan]]) {
    // The receiver's channel opens once the sender's node announced it and the pipe's channel
    // opened.
    const { firstMs, ms } = await chatBurst(from, to, 20000);
    console.log(`data across nodes, ${from.name} to ${to.name}: first message after ${firstMs} ms, ` +
      `20 messages and 64 KiB in ${ms} ms`);
  }
  for (const server of [nodes.a, nodes.b]) {
    const info = (await getJson(server, '/api/rooms')).rooms.find((r) => r.name === room);
    assert.equal(info.pipedDataProducers, 1, `the other node's channel piped here: ${JSON.stringify(info)}`);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name) => Number(metrics.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1]);
    assert.ok(value('switchboard_data_producers_piped_total') >= 1);
    assert.equal(value('switchboard_data_channels_not_piped_total'), 0);
  }

  // A channel addressed to one participant reaches her and nobody else: Fay, on a third node,
  // gets the room's channels but not Dan's to Eve.
  const fay = await joinForData(2, nodes.c, room, 'Fay');
  const channelsFrom = (who, id) =>
    who.page.evaluate((id) => window.sb.dataChannels().filter((c) => c.from === id).map((c) => c.label), id);
  await waitFor("Dan's chat at Fay", async () => (await channelsFrom(fay, dan.id)).includes('chat'), 20000);
  await dan.page.evaluate((to) => {
    window.dm = window.sb.openDataChannel('dm', { to });
    return new Promise((resolve) => window.dm.addEventListener('open', resolve, { once: true }));
  }, eve.id);
  await waitFor("Dan's message to Eve", async () => {
    await dan.page.evaluate(() => window.dm.send('for Eve'));
    return eve.page.evaluate(() => window.got.some((m) => m.label === 'dm' && m.data === 'for Eve'));
  }, 20000);
  await sleep(1000);
  assert.deepEqual(await channelsFrom(fay, dan.id), ['chat'], 'Fay has no channel for Dan\'s message to Eve');
  assert.ok(await fay.page.evaluate(() => window.got.every((m) => m.label === 'chat')));

  // Eve closes her channel: Dan's and Fay's copies of it close on nodes a and c. Dan leaves: his
  // channels close at Eve.
  for (const who of [dan, eve, fay]) {
    await who.page.evaluate(() => {
      window.closedChannels = [];
      for (const { channel, from, label } of window.sb.dataChannels()) {
        channel.addEventListener('close', () => window.closedChannels.push(`${label} from ${from}`));
      }
    });
  }
  await eve.page.evaluate(() => window.chat.close());
  for (const who of [dan, fay]) {
    await waitFor(`Eve's channel closed at ${who.name}`, () =>
      who.page.evaluate((id) => window.closedChannels.includes(`chat from ${id}`), eve.id), 15000);
  }
  await dan.page.evaluate(() => window.sb.leave());
  await waitFor("Dan's channels closed at Eve", () =>
    eve.page.evaluate((id) => window.closedChannels.includes(`chat from ${id}`) && window.closedChannels.includes(`dm from ${id}`),
      dan.id), 15000);
  for (const server of [nodes.a, nodes.b, nodes.c]) {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name) => Number(metrics.match(new RegExp(`^${name} (\\d+)`, 'm'))?.[1]);
    assert.equal(value('switchboard_data_channels_not_piped_total'), 0, server.url);
  }
  for (const p of [dan, eve, fay]) await p.browser.close().catch(() => {});
});

test('participants on three nodes meet in one room; a node dies and the call goes on', { skip }, async () => {
  const alice = await join(0, nodes.a, 'across', 'Alice', /*simulcast=*/ true);
  const bob = await join(1, nodes.b, 'across', 'Bob');
  const carol = await join(2, nodes.c, 'across', 'Carol');
  // The nodes registered from their own addresses, over the bridge.
  const addresses = [nodes.a, nodes.b, nodes.c].map((s) => s.url.slice('http://'.length)).join();
  await waitFor('every node registered', async () =>
    (await getJson(nodes.a, '/api/nodes')).nodes.map((n) => n.address).join() === addresses)
    .catch(async (e) => {
      // Why: what a knows, and what b's log says of the cluster.
      console.log(JSON.stringify(await getJson(nodes.a, '/api/nodes')), addresses);
      console.log(nodes.b.log.split('\n').filter((l) => /cluster/.test(l)).slice(-10).join('\n'));
      throw e;
    });

  // Everyone decodes everyone, across nodes.
  for (const [who, from] of [
    [alice, bob], [alice, carol], [bob, alice], [bob, carol], [carol, alice], [carol, bob],
  ]) {
    const video = await waitForFrames(who, from.id, 25000);
    assert.ok(video.framesDecoded > 0, `${who.name} decodes ${from.name}`);
  }
  const roomOnA = (await getJson(nodes.a, '/api/rooms')).rooms.find((r) => r.name === 'across');
  assert.equal(roomOnA.participants.length, 3, JSON.stringify(roomOnA.participants));
  assert.ok(roomOnA.pipedProducers >= 4, `b's and c's tracks piped to a: ${roomOnA.pipedProducers}`);

  // Dynacast across nodes: Alice's subscribers are all on b and c. When both want her lowest
  // layer only, their nodes' copies say so to the relays on a, and she is told to stop the rest.
  let layers = {};
  for (let i = 0; i < 10 && Object.keys(layers).length < 2; ++i) layers = await sendingLayers(alice);
  assert.ok(Object.keys(layers).length >= 2, `Alice sends at least two layers: ${JSON.stringify(layers)}`);
  const lowest = Math.min(...Object.values(layers));
  const aliceVideo = await bob.page.evaluate((id) => window.sb.producerIdOf(id), alice.id);
  for (const who of [bob, carol]) {
    await who.page.evaluate((pid) => window.sb.setSubscription(pid, { maxLayer: 0 }), aliceVideo);
  }
  const stoppedMs = await waitFor('Alice sending her lowest layer only', async () => {
    const sending = Object.values(await sendingLayers(alice, 1000));
    return sending.length === 1 && sending[0] === lowest;
  }, 20000);
  for (const who of [bob, carol]) {
    await who.page.evaluate((pid) => window.sb.setSubscription(pid, { maxLayer: null }), aliceVideo);
  }
  const restartedMs = await waitFor('Alice sending her layers again', async () =>
    Object.keys(await sendingLayers(alice, 1000)).length >= 2, 20000);
  console.log(`dynacast across nodes: Alice down to one layer in ${stoppedMs} ms, back in ${restartedMs} ms`);

  // A mute on node b reaches the participants on a and c.
  await bob.page.evaluate(() => window.sb.setMuted('video', true));
  await waitFor("Bob's mute seen on node a", () =>
    alice.page.evaluate((id) =>
      window.events.some((e) => e.type === 'participant-updated' && e.detail?.participant?.id === id &&
        e.detail.participant.videoMuted), bob.id),
  );
  await bob.page.evaluate(() => window.sb.setMuted('video', false));
  await waitFor("Bob's video again at Carol", async () => (await framesGrow(carol, bob.id, 1500)) > 5, 20000);

  // Node c dies: Carol leaves the others' rooms within seconds; Alice and Bob go on.
  const killedAt = Date.now();
  nodes.c.process.kill('SIGKILL');
  const leftMs = await waitFor('Carol gone at Alice', () =>
    alice.page.evaluate((id) =>
      window.events.some((e) => e.type === 'participant-left' && (e.detail?.id ?? e.detail) === id), carol.id),
  );
  console.log(`node c killed: its participant left node a's room after ${Date.now() - killedAt} ms`);
  assert.ok(Date.now() - killedAt < 10000);
  await waitFor('Carol gone at Bob', () =>
    bob.page.evaluate((id) =>
      window.events.some((e) => e.type === 'participant-left' && (e.detail?.id ?? e.detail) === id), carol.id),
  );
  assert.ok((await framesGrow(alice, bob.id)) > 10, 'Alice still decodes Bob');
  assert.ok((await framesGrow(bob, alice.id)) > 10, 'Bob still decodes Alice');
  const after = (await getJson(nodes.a, '/api/rooms')).rooms.find((r) => r.name === 'across');
  assert.equal(after.participants.length, 2);
  void leftMs;
  for (const p of [alice, bob, carol]) await p.context.close().catch(() => {});
});
