// A media worker dies (SIGKILL): only the rooms on it are closed, their clients are told and
// can join again once the worker is restarted; rooms on the other worker carry on untouched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connectClient, joinRoom, getJson, sleep } from './harness.mjs';

let server;
const clients = [];

before(async () => {
  server = await startServer(['--workers=2']);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  // Fails the file if the server crashed or a worker died (harness.mjs).
  await server?.stop();
});

async function member(room, name) {
  const m = await joinRoom(server, room, name);
  clients.push(m.client);
  return m;
}

async function roomInfo(name) {
  return (await getJson(server, '/api/rooms')).rooms.find((r) => r.name === name);
}

function metric(text, name) {
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

async function until(what, fn, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('a dead worker closes only its rooms; their clients rejoin after the restart', async () => {
  assert.deepEqual(await getJson(server, '/api/health'), { status: 'ok', workers: 2 });

  // Room A, then room B: rooms go to the least-loaded worker, so B lands on the other one.
  const a1 = await member('room-a', 'Ada');
  const a2 = await member('room-a', 'Grace');
  await a1.client.next('participant-joined');
  let bName;
  let b1;
  let b2;
  for (let attempt = 0; attempt < 4 && !bName; attempt++) {
    const name = `room-b${attempt}`;
    const x = await member(name, 'Linus');
    const y = await member(name, 'Dennis');
    await x.client.next('participant-joined');
    const [ra, rb] = [await roomInfo('room-a'), await roomInfo(name)];
    if (ra.worker !== rb.worker) [bName, b1, b2] = [name, x, y];
  }
  assert.ok(bName, 'rooms A and B on different workers');
  const roomA = await roomInfo('room-a');
  const roomB = await roomInfo(bName);
  assert.notEqual(roomA.workerPid, roomB.workerPid);
  assert.ok(roomA.workerPid > 0);
  const restartsBefore = metric(await (await fetch(`${server.url}/metrics`)).text(), 'switchboard_worker_restarts_total');
  assert.equal(restartsBefore, 0);

  server.killWorker(roomA.workerPid);

  for (const m of [a1, a2]) {
    const closed = await m.client.next('room-closed');
    assert.equal(closed.room, 'room-a');
    assert.equal(typeof closed.reason, 'string');
    assert.ok(closed.reason.length > 0);
  }
  // Room B notices nothing.
  const noise = (m) => ['room-closed', 'participant-left', 'error'].includes(m.type);
  assert.deepEqual(await b1.client.collect(noise, 500), [], 'room B, first client: nothing');
  assert.deepEqual(await b2.client.collect(noise, 0), [], 'room B, second client: nothing');
  assert.equal(await roomInfo('room-a'), undefined, 'room A is gone');
  const stillB = await roomInfo(bName);
  assert.equal(stillB.workerPid, roomB.workerPid, 'room B stays on its worker');
  assert.equal(stillB.participants.length, 2);

  // Room B still works: a newcomer joins, and both see it.
  const b3 = await member(bName, 'Barbara');
  assert.deepEqual(b3.joined.participants.map((p) => p.id).sort(), [b1.id, b2.id].sort());
  for (const m of [b1, b2]) {
    assert.equal((await m.client.next('participant-joined')).participant.id, b3.id);
  }

  // The worker is restarted (100 ms backoff) and counted.
  await until('switchboard_worker_restarts_total >= 1', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return metric(text, 'switchboard_worker_restarts_total') >= 1;
  });
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.ok(metric(text, 'switchboard_rooms_closed_by_worker_death_total') >= 1);

  // Room A's clients are out of the room, their sockets still work, and they can join again.
  for (const m of [a1, a2]) {
    const pong = await m.client.request({ type: 'ping' }, (x) => x.type === 'pong' || x.type === 'error');
    assert.equal(pong.type, 'pong');
    const err = await m.client.request({ type: 'mute', kind: 'audio', muted: true }, 'error');
    assert.equal(err.code, 'not-joined', 'no longer in a room');
  }
  const again1 = await a1.client.request({ type: 'join', room: 'room-a', name: 'Ada' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.equal(again1.type, 'joined', JSON.stringify(again1));
  assert.deepEqual(again1.participants, [], 'a fresh room A');
  const again2 = await a2.client.request({ type: 'join', room: 'room-a', name: 'Grace' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.equal(again2.type, 'joined', JSON.stringify(again2));
  assert.deepEqual(again2.participants.map((p) => p.id), [again1.id]);
  assert.equal((await a1.client.next('participant-joined')).participant.id, again2.id);

  const rebuilt = await roomInfo('room-a');
  assert.notEqual(rebuilt.workerPid, roomA.workerPid, 'not on the dead process');
  const live = new Set(
    (await getJson(server, '/api/rooms')).rooms.map((r) => r.workerPid).concat([roomB.workerPid]),
  );
  for (const pid of live) assert.doesNotThrow(() => process.kill(pid, 0), `worker ${pid} is alive`);
  assert.deepEqual(await getJson(server, '/api/health'), { status: 'ok', workers: 2 });
});

test('a client that connects while a worker is down can still join', async () => {
  // Kill whichever worker hosts a fresh room and join right away, before the restart.
  const first = await member('room-c', 'Ada');
  const info = await roomInfo('room-c');
  server.killWorker(info.workerPid);
  await first.client.next('room-closed');
  const c = await connectClient(server);
  clients.push(c);
  const joined = await c.request({ type: 'join', room: 'room-c', name: 'Grace' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.equal(joined.type, 'joined', JSON.stringify(joined));
  const again = await first.client.request({ type: 'join', room: 'room-c', name: 'Ada' }, (m) =>
    ['joined', 'full', 'error'].includes(m.type),
  );
  assert.equal(again.type, 'joined', JSON.stringify(again));
  assert.deepEqual(again.participants.map((p) => p.id), [joined.id]);
});
