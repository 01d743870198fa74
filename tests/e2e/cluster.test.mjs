// Nodes of a cluster on one real redis-server (issue 14, --redis): three switchboard processes
// register, see each other and each other's load in GET /api/nodes; a node killed with SIGKILL
// (no clean leave) is noticed by the others within seconds (its registration expires: 3 s, read
// every second) and counted; a node stopped cleanly leaves at once. Rooms are claimed in the
// directory by the nodes that host them (checked in Redis itself).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startServer, getJson, joinRoom, sleep, startRedis, REDIS_SERVER } from './harness.mjs';

const skip = !existsSync(REDIS_SERVER) && 'redis-server is not installed (scripts/setup.sh installs it)';

let redis;
let redisPort;

function redisCli(...args) {
  return execFileSync('redis-cli', ['-p', String(redisPort), ...args], { encoding: 'utf8' }).trim();
}

async function waitFor(what, predicate, timeout) {
  const started = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return Date.now() - started;
    if (Date.now() - started > timeout) throw new Error(`timed out (${timeout} ms) waiting for ${what}`);
    await sleep(100);
  }
}

const nodeIds = async (server) => (await getJson(server, '/api/nodes')).nodes.map((n) => n.id);

before(async () => {
  if (skip) return;
  redis = await startRedis();
  redisPort = redis.port;
});
after(() => redis?.stop());

test('three nodes see each other; a killed one is noticed within seconds', { skip }, async () => {
  const flags = (id) => [`--redis=127.0.0.1:${redisPort}`, `--node-id=${id}`, '--workers=1'];
  const a = await startServer(flags('a'));
  const b = await startServer(flags('b'));
  const c = await startServer(flags('c'));
  try {
    for (const server of [a, b, c]) {
      await waitFor('every node live everywhere', async () => (await nodeIds(server)).join() === 'a,b,c', 8000);
    }
    const info = await getJson(a, '/api/nodes');
    assert.equal(info.node, 'a');
    assert.equal(info.redis, true);
    assert.equal(info.address, `127.0.0.1:${a.port}`);
    assert.deepEqual(
      info.nodes.map((n) => n.address).sort(),
      [a, b, c].map((s) => `127.0.0.1:${s.port}`).sort(),
    );

    // Load travels: a participant on b shows on a.
    const { client, joined } = await joinRoom(b, 'townhall', 'Bea');
    // Where to go if b goes away: b first, then the others.
    assert.deepEqual(joined.nodes, [b, a, c].map((s) => `127.0.0.1:${s.port}`));
    await waitFor("b's participant in a's view", async () => {
      const nodes = (await getJson(a, '/api/nodes')).nodes;
      return nodes.find((n) => n.id === 'b')?.participants === 1;
    }, 6000);
    // The room directory: b hosts the room.
    await waitFor('b claiming the room', async () => redisCli('SMEMBERS', 'sb:roomnodes:townhall') === 'b', 5000)
      .catch(async () => {
        throw new Error(`keys: ${redisCli('KEYS', 'sb:*')}`);
      });

    // c dies without a word: a and b notice when its registration expires.
    const killedAt = Date.now();
    c.process.kill('SIGKILL');
    const noticedA = await waitFor('a dropping c', async () => !(await nodeIds(a)).includes('c'), 10000);
    const noticedB = await waitFor('b dropping c', async () => !(await nodeIds(b)).includes('c'), 10000);
    console.log(`c killed: a noticed after ${noticedA} ms, b after ${Date.now() - killedAt} ms`);
    assert.ok(noticedA < 6000, `noticed within seconds (${noticedA} ms)`);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(metrics, /^switchboard_cluster_nodes 2$/m);
    assert.match(metrics, /^switchboard_cluster_nodes_down_total 1$/m);
    assert.match(metrics, /^switchboard_cluster_redis_connected 1$/m);

    // b leaves the room: its claim goes; b stops cleanly: a drops it at once.
    client.send({ type: 'leave' });
    await waitFor('the room released', async () => redisCli('SMEMBERS', 'sb:roomnodes:townhall') === '', 5000);
    client.close();
    await b.stop();
    const left = await waitFor('a dropping b', async () => (await nodeIds(a)).join() === 'a', 5000);
    console.log(`b stopped cleanly: a dropped it after ${left} ms`);
  } finally {
    await a.stop();
    if (b.process.exitCode === null) await b.stop();
  }
});
