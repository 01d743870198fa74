// A worker of one node dies under a room that spans nodes (issue 14, close-pipe): node A runs two
// workers with --room-shard-size=1 (Alice on one, Bob on the other), node B one worker (Carol);
// all three are node-datachannel participants (ndc_peer.mjs) that publish, so B pipes in Alice's
// and Bob's tracks from both of A's routers and serves Carol's to both: four pipes on B. A's
// worker under Bob is killed (SIGKILL): Bob is told (room-closed), and A tells B to close its ends
// of the pipes to Bob's router, so B keeps the two pipes with Alice's and Carol keeps hearing and
// seeing Alice. One redis-server and both nodes on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServer, getJson, sleep, startRedis, REDIS_SERVER } from './harness.mjs';
import { NdcPeer, shutdownNdc } from './ndc_peer.mjs';

const skip =
  !existsSync(REDIS_SERVER) && 'redis-server is not installed (scripts/setup.sh installs it)';
const ROOM = 'worker-death';

let redis;
let a;
let b;
const peers = [];

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const flags = (id, workers) => [
    `--redis=127.0.0.1:${redis.port}`,
    `--node-id=${id}`,
    `--workers=${workers}`,
    '--room-shard-size=1',
    '--rtc-port=0',
    '--ice-tcp-port=0',
  ];
  a = await startServer(flags('a', 2), { allowWorkerDeaths: true });
  b = await startServer(flags('b', 1));
});

after(async () => {
  for (const peer of peers) await peer.leave().catch(() => peer.close());
  shutdownNdc();
  await a?.stop();
  await b?.stop();
  redis?.stop();
});

async function joinAndPublish(server, name) {
  const peer = new NdcPeer(server, ROOM, name);
  peers.push(peer);
  await peer.join();
  await peer.publish();
  return peer;
}

async function waitFor(what, predicate, timeout = 15000) {
  const started = Date.now();
  for (;;) {
    if (await predicate()) return Date.now() - started;
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const roomOn = async (server) =>
  (await getJson(server, '/api/rooms')).rooms.find((r) => r.name === ROOM);

test('a dead worker\'s pipes to another node are closed at that node too', { skip }, async () => {
  const alice = await joinAndPublish(a, 'alice');
  const bob = await joinAndPublish(a, 'bob');
  const carol = await joinAndPublish(b, 'carol');
  const onA = await roomOn(a);
  assert.equal(onA.workers.length, 2, 'the room spans both of A\'s workers');
  await waitFor(
    'Carol receiving Alice and Bob',
    () => carol.from(alice.id).video > 0 && carol.from(bob.id).video > 0,
  );
  await waitFor('four pipes on B', async () => (await roomOn(b))?.pipes === 4);

  // Bob joined second: the second router of the room on A, on the other worker.
  const bobsWorker = onA.workers[1];
  const closed = bob.next('room-closed');
  const killedAt = Date.now();
  a.killWorker(bobsWorker.workerPid);
  await closed;
  const took = await waitFor(
    'B down to the pipes with Alice\'s router',
    async () => (await roomOn(b))?.pipes === 2,
    5000,
  );
  console.log(
    `B closed its ends of the pipes to the dead router ${Date.now() - killedAt} ms after the ` +
      `kill (${took} ms of polling after Bob's room-closed)`,
  );
  assert.match(b.log, new RegExp(`router ${bobsWorker.router} of node a is gone`));
  peers.splice(peers.indexOf(bob), 1);
  bob.stopSending();
  bob.close();

  // The call goes on between Alice and Carol, both ways.
  const before = { ...carol.from(alice.id) };
  const aliceBefore = { ...alice.from(carol.id) };
  await sleep(1500);
  assert.ok(carol.from(alice.id).audio - before.audio >= 40, 'Carol hears Alice');
  assert.ok(carol.from(alice.id).video - before.video >= 10, 'Carol sees Alice');
  assert.ok(alice.from(carol.id).audio - aliceBefore.audio >= 40, 'Alice hears Carol');
});
