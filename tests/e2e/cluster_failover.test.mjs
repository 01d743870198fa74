// The client library fails over to another node (issue 14): three switchboard nodes on one real
// redis-server, Chromium participants each given ONE node's URL (the others come from
// `joined.nodes`). Alice on node a, Bob on b, Carol on c publish camera and microphone and
// decode each other; node c is killed (SIGKILL: no goodbye). Carol's client finds its node gone,
// joins the same room through a or b as a new participant, republishes and reopens its data
// channel ('failover' event); Alice and Bob decode Carol's new participant's video and Carol
// decodes them again. Prints the fail-over time: from the kill to Carol's video decoded again
// at Alice.
// The pages come from a site of their own (a static server of web/, as a deployment serves the
// app apart from the nodes): every node allows that origin (--allowed-origins), since a page
// that fails over opens a WebSocket to another node than the one it started on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join as joinPath, normalize } from 'node:path';
import {
  startServer,
  launchBrowser,
  waitForFrames,
  videoFrom,
  sleep,
  repoRoot,
  startRedis,
  REDIS_SERVER,
} from './harness.mjs';

const skip = !existsSync(REDIS_SERVER) && 'redis-server is not installed (scripts/setup.sh installs it)';

let redis;
let browser;
let site; // { server, url }
const nodes = {};

// Serves web/ on 127.0.0.1 (an index for '/', the library and the app's files).
async function startSite() {
  const root = joinPath(repoRoot, 'web');
  const types = { '.js': 'text/javascript', '.html': 'text/html', '.css': 'text/css' };
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = joinPath(root, path === '/' ? 'index.html' : path);
    try {
      if (!file.startsWith(root)) throw new Error('outside');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

// A participant whose page (on `server`'s origin) drives the client library, given only that
// node's URL; it records the library's events in window.events and keeps every data channel the
// server opens to it in window.received (label, sender, messages).
async function join(server, room, name) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(`${site.url}/`);
  const id = await page.evaluate(
    async ({ room, name, url }) => {
      const { SwitchboardClient } = await import('/lib/switchboard.js');
      const sb = new SwitchboardClient();
      window.sb = sb;
      window.events = [];
      window.received = [];
      for (const type of ['participant-joined', 'participant-left', 'reconnecting', 'resumed',
        'room-closed', 'joined', 'error']) {
        sb.addEventListener(type, (e) => window.events.push({ type, detail: e.detail, at: Date.now() }));
      }
      sb.addEventListener('failover', (e) => {
        const { from, to, room, id, channels } = e.detail;
        window.failoverChannels = channels;
        window.events.push({
          type: 'failover', at: Date.now(),
          detail: { from, to, room, id, channels: channels.map((c) => c.channel.label) },
        });
      });
      sb.addEventListener('datachannel', (e) => {
        const entry = { from: e.detail.from, label: e.detail.label, messages: [] };
        window.received.push(entry);
        e.detail.channel.addEventListener('message', (m) => entry.messages.push(String(m.data)));
      });
      await sb.connect(url);
      const reply = await sb.join(room, name);
      if (reply.type !== 'joined') throw new Error(`join: ${JSON.stringify(reply)}`);
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      await sb.publish(stream);
      return reply.id;
    },
    { room, name, url: `ws://127.0.0.1:${server.port}/ws` },
  );
  return { name, context, page, id };
}

async function waitFor(what, predicate, timeout = 15000) {
  const started = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function framesGrow(subscriber, publisherId, ms = 2000) {
  const before = (await videoFrom(subscriber, publisherId))?.framesDecoded ?? 0;
  await sleep(ms);
  return ((await videoFrom(subscriber, publisherId))?.framesDecoded ?? 0) - before;
}

const eventsOf = (p, type) =>
  p.page.evaluate((type) => window.events.filter((e) => e.type === type), type);

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const port = redis.port;
  site = await startSite();
  for (const id of ['a', 'b', 'c']) {
    // Each node its own media ports (they share the host here).
    nodes[id] = await startServer([
      `--redis=127.0.0.1:${port}`,
      `--node-id=${id}`,
      '--workers=1',
      '--rtc-port=0',
      '--ice-tcp-port=0',
      `--allowed-origins=${site.url}`,
    ]);
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  // The node killed on purpose is not stopped (its SIGKILL is no failure); the others must
  // shut down cleanly.
  for (const server of Object.values(nodes)) {
    if (server.process.exitCode === null && server.process.signalCode === null) await server.stop();
  }
  redis?.stop();
  site?.server.close();
});

test("a node dies: its participant's client fails over to another node and the call goes on", { skip }, async () => {
  const alice = await join(nodes.a, 'failover', 'Alice');
  const bob = await join(nodes.b, 'failover', 'Bob');
  const carol = await join(nodes.c, 'failover', 'Carol');
  const urlOf = (server) => `ws://127.0.0.1:${server.port}/ws`;

  // Carol was given node c only: the others come from joined.nodes, after it.
  const urls = await carol.page.evaluate(() => window.sb.urls);
  assert.equal(urls[0], urlOf(nodes.c), JSON.stringify(urls));
  assert.deepEqual([...urls].sort(), [nodes.a, nodes.b, nodes.c].map(urlOf).sort());

  // Everyone decodes everyone, across nodes.
  for (const [who, from] of [
    [alice, bob], [alice, carol], [bob, alice], [bob, carol], [carol, alice], [carol, bob],
  ]) {
    const video = await waitForFrames(who, from.id, 25000);
    assert.ok(video.framesDecoded > 0, `${who.name} decodes ${from.name}`);
  }

  // Everyone has a data channel of their own (a receiver needs one: the server opens the
  // others' channels on its connection); Carol's is to be reopened on her new node.
  for (const p of [alice, bob, carol]) {
    await p.page.evaluate(() => {
      window.notes = window.sb.openDataChannel('notes', { ordered: true });
      return new Promise((resolve) => window.notes.addEventListener('open', resolve, { once: true }));
    });
  }

  // Node c dies.
  const killedAt = Date.now();
  nodes.c.process.kill('SIGKILL');

  const [failover] = await waitFor("Carol's failover", async () => {
    const events = await eventsOf(carol, 'failover');
    return events.length > 0 && events;
  }, 15000);
  const failoverMs = failover.at - killedAt;
  console.log(`node c killed: Carol's client failed over to ${failover.detail.to} after ${failoverMs} ms`);
  assert.equal(failover.detail.from, urlOf(nodes.c));
  assert.ok([urlOf(nodes.a), urlOf(nodes.b)].includes(failover.detail.to), failover.detail.to);
  assert.equal(failover.detail.room, 'failover');
  assert.deepEqual(failover.detail.channels, ['notes']);
  const newCarolId = failover.detail.id;
  assert.ok(newCarolId && newCarolId !== carol.id, `a new participant: ${newCarolId} (was ${carol.id})`);
  assert.equal(await carol.page.evaluate(() => window.sb.id), newCarolId);
  const reconnecting = await eventsOf(carol, 'reconnecting');
  assert.ok(reconnecting.length === 1 && reconnecting[0].at <= failover.at, 'reconnecting came first');
  assert.equal((await eventsOf(carol, 'room-closed')).length, 0, 'the session did not end');
  assert.ok(!(await eventsOf(carol, 'participant-joined')).some((e) => e.detail.participant.id === carol.id),
    'Carol is not shown her old self (still listed on node a until node c is purged)');

  // Alice and Bob decode Carol's new participant's video; the fail-over time is the kill to
  // Carol's video decoded again at Alice.
  await waitForFrames(alice, newCarolId, 15000);
  const decodedAtAliceMs = Date.now() - killedAt;
  console.log(`fail-over time: node c killed -> Carol's new video decoded at Alice after ${decodedAtAliceMs} ms`);
  await waitForFrames(bob, newCarolId, 15000);
  assert.ok((await framesGrow(alice, newCarolId)) > 10, "Alice decodes Carol's new video");
  assert.ok((await framesGrow(bob, newCarolId)) > 10, "Bob decodes Carol's new video");

  // Carol decodes Alice and Bob again, on new connections.
  await waitForFrames(carol, alice.id, 15000);
  await waitForFrames(carol, bob.id, 15000);
  assert.ok((await framesGrow(carol, alice.id)) > 10, 'Carol decodes Alice again');
  assert.ok((await framesGrow(carol, bob.id)) > 10, 'Carol decodes Bob again');

  // The old Carol left the others' rooms (node c found dead); the new one joined them.
  for (const p of [alice, bob]) {
    await waitFor(`old Carol gone at ${p.name}`, async () =>
      (await eventsOf(p, 'participant-left')).some((e) => e.detail.id === carol.id));
    const ids = await p.page.evaluate(() => [...window.sb.participants.keys()]);
    assert.ok(ids.includes(newCarolId) && !ids.includes(carol.id), `${p.name}: ${ids}`);
  }
  assert.deepEqual(
    (await carol.page.evaluate(() => [...window.sb.participants.keys()])).sort(),
    [alice.id, bob.id].sort(),
  );

  // Carol's data channel, reopened on her new node, reaches the participant on that node
  // (and the one on the other node too: cluster_room.test.mjs tests data across nodes).
  const neighbour = failover.detail.to === urlOf(nodes.a) ? alice : bob;
  await carol.page.evaluate(async () => {
    const { channel } = window.failoverChannels[0];
    if (channel.readyState !== 'open') {
      await new Promise((resolve) => channel.addEventListener('open', resolve, { once: true }));
    }
    channel.send('after the fail-over');
  });
  await waitFor(`Carol's reopened channel at ${neighbour.name}`, () =>
    neighbour.page.evaluate((id) => window.received.some((r) =>
      r.from === id && r.label === 'notes' && r.messages.includes('after the fail-over')), newCarolId));
  // And the neighbour's channel is opened to Carol's new session by the new node.
  await neighbour.page.evaluate(() => window.notes.send(`hello from ${window.sb.id}`));
  await waitFor(`${neighbour.name}'s channel at Carol`, () =>
    carol.page.evaluate((id) => window.received.some((r) =>
      r.from === id && r.label === 'notes' && r.messages.includes(`hello from ${id}`)), neighbour.id));

  for (const p of [alice, bob, carol]) await p.context.close().catch(() => {});
});
