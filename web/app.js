// The Switchboard conference page. State is mirrored into the DOM for people and for tests:
//   document.body.dataset.state   idle | joining | joined | full | left | error | closed
//   document.body.dataset.selfId  own participant id while joined
//   document.body.dataset.connection  "reconnecting" while the signaling connection is being
//                                 resumed (media keeps flowing meanwhile)
//   #status                       a human sentence about the state
//   video[data-participant-id]    one per remote participant (audio in audio[data-participant-id]),
//                                 with data-audio-muted / data-video-muted = "true" | "false"
// /?room=NAME&name=NAME&autojoin=1 joins without a click. &token=JWT (from `switchboard token`)
// is passed in the join, for a server run with --auth-secret; the name is then the token's and
// the link needs none.
import { SwitchboardClient } from '/lib/switchboard.js';

const $ = (selector) => document.querySelector(selector);
const ui = {
  form: $('#join-form'),
  room: $('#room'),
  name: $('#name'),
  joinButton: $('#join'),
  status: $('#status'),
  conference: $('#conference'),
  grid: $('#grid'),
  localTile: $('#local-tile'),
  localVideo: $('#local-video'),
  mic: $('#mic'),
  cam: $('#cam'),
  leave: $('#leave'),
  soundHint: $('#sound-hint'),
  enableSound: $('#enable-sound'),
  tileTemplate: $('#tile-template'),
};

const params = new URLSearchParams(location.search);
const MEDIA_CONSTRAINTS = { audio: true, video: { width: 640, height: 360 } };
// After an interruption (room-closed), the pause before joining again.
const REJOIN_DELAY_MS = 300;
// sessionStorage key of this tab's last session, ended by the next join (a reload).
const RESUME_KEY = 'switchboard.session';

let client = null;
let localStream = null;
let session = null; // { room, name, viewer, token } while joining or joined
const tiles = new Map(); // participantId -> <figure>

// --- State and status ------------------------------------------------------------------------

function setState(state, text) {
  document.body.dataset.state = state;
  if (text !== undefined) ui.status.textContent = text;
}

function joinedStatus() {
  const others = tiles.size;
  let text = `In room ${session.room} as ${session.name}`;
  text += others === 0 ? ' · nobody else here yet' : ` · ${others} other${others === 1 ? '' : 's'}`;
  if (session.viewer) text += ' · no camera or microphone: joined as a viewer';
  return text;
}

function refreshStatus() {
  if (document.body.dataset.state === 'joined') ui.status.textContent = joinedStatus();
}

function showForm(visible) {
  ui.form.hidden = !visible;
  ui.conference.hidden = visible;
  for (const el of ui.form.elements) el.disabled = false;
}

// --- Tiles ----------------------------------------------------------------------------------

function initials(name) {
  return (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => w[0]).join('').toUpperCase();
}

function ensureTile(participantId) {
  let tile = tiles.get(participantId);
  if (tile) return tile;
  tile = ui.tileTemplate.content.firstElementChild.cloneNode(true);
  tile.dataset.peer = participantId;
  tile.querySelector('video').dataset.participantId = participantId;
  const audio = tile.querySelector('audio');
  audio.dataset.participantId = participantId;
  tiles.set(participantId, tile);
  ui.grid.append(tile);
  updateTile(participantId);
  return tile;
}

function updateTile(participantId) {
  const tile = tiles.get(participantId);
  if (!tile) return;
  const p = client?.participants.get(participantId) ?? { id: participantId };
  const video = tile.querySelector('video');
  const stream = client?.remoteStreams.get(participantId);
  const hasVideo = !!stream && stream.getVideoTracks().length > 0;
  const audioMuted = !!p.audioMuted;
  const videoMuted = !!p.videoMuted;
  tile.querySelector('.name').textContent = p.name ?? participantId;
  tile.querySelector('.avatar').dataset.initials = initials(p.name);
  tile.dataset.video = hasVideo && !videoMuted ? 'on' : 'off';
  tile.dataset.audioMuted = String(audioMuted);
  video.dataset.audioMuted = String(audioMuted);
  video.dataset.videoMuted = String(videoMuted);
}

function attachStream(participantId, stream) {
  const tile = ensureTile(participantId);
  const video = tile.querySelector('video');
  const audio = tile.querySelector('audio');
  // Re-assigning makes every browser pick up tracks added to the stream since.
  video.srcObject = stream;
  audio.srcObject = stream;
  video.play().catch(() => {});
  audio.play().catch(() => { ui.soundHint.hidden = false; });
  updateTile(participantId);
}

function removeTile(participantId) {
  const tile = tiles.get(participantId);
  if (!tile) return;
  for (const media of tile.querySelectorAll('video, audio')) media.srcObject = null;
  tile.remove();
  tiles.delete(participantId);
}

function removeAllTiles() {
  for (const id of [...tiles.keys()]) removeTile(id);
}

// --- Local media ----------------------------------------------------------------------------

async function startLocalMedia() {
  if (!navigator.mediaDevices?.getUserMedia) return null;
  try {
    return await navigator.mediaDevices.getUserMedia(MEDIA_CONSTRAINTS);
  } catch (err) {
    console.warn('getUserMedia failed; joining as a viewer', err);
    return null;
  }
}

function stopLocalMedia() {
  for (const track of localStream?.getTracks() ?? []) track.stop();
  localStream = null;
  ui.localVideo.srcObject = null;
}

function updateLocalControls() {
  const audio = localStream?.getAudioTracks()[0];
  const video = localStream?.getVideoTracks()[0];
  ui.mic.disabled = !audio;
  ui.cam.disabled = !video;
  const micOn = !!audio && audio.enabled;
  const camOn = !!video && video.enabled;
  ui.mic.textContent = micOn || !audio ? 'Mute mic' : 'Unmute mic';
  ui.cam.textContent = camOn || !video ? 'Camera off' : 'Camera on';
  ui.mic.classList.toggle('off', !!audio && !micOn);
  ui.cam.classList.toggle('off', !!video && !camOn);
  ui.localTile.dataset.video = camOn ? 'on' : 'off';
  ui.localTile.dataset.audioMuted = String(!micOn);
  ui.localTile.querySelector('.avatar').dataset.initials = initials(session?.name);
  ui.localTile.querySelector('.name').textContent = session ? `${session.name} (you)` : 'You';
}

// --- Client ---------------------------------------------------------------------------------

function signalingUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

async function connectClient() {
  if (client?.connected) return client;
  const c = new SwitchboardClient();
  c.addEventListener('participant-joined', (e) => {
    ensureTile(e.detail.participant.id);
    refreshStatus();
  });
  c.addEventListener('participant-updated', (e) => updateTile(e.detail.participant.id));
  c.addEventListener('participant-left', (e) => {
    removeTile(e.detail.id);
    refreshStatus();
  });
  c.addEventListener('track', (e) => attachStream(e.detail.participantId, e.detail.stream));
  c.addEventListener('track-ended', (e) => updateTile(e.detail.participantId));
  c.addEventListener('room-closed', (e) => {
    // Its worker died, or our session could not be resumed: back in by ourselves.
    if (client !== c || !session) return;
    removeAllTiles();
    setState('joining', `Room ${session.room} was interrupted (${e.detail.reason || 'no reason given'}); rejoining…`);
    setTimeout(() => enterRoom().catch(() => {}), REJOIN_DELAY_MS);
  });
  c.addEventListener('reconnecting', () => {
    document.body.dataset.connection = 'reconnecting';
    if (session) ui.status.textContent = `${joinedStatus()} · connection lost, reconnecting…`;
  });
  c.addEventListener('resumed', () => {
    delete document.body.dataset.connection;
    refreshStatus();
  });
  c.addEventListener('error', (e) => {
    console.warn('switchboard error', e.detail);
    if (document.body.dataset.state === 'joined') {
      ui.status.textContent = `${joinedStatus()} · server said: ${e.detail.message || e.detail.code}`;
    }
  });
  c.addEventListener('closed', () => {
    if (client !== c) return;
    client = null;
    const state = document.body.dataset.state;
    if (state === 'joined' || state === 'joining') {
      endSession();
      setState('closed', 'The connection to the server closed. Join again to reconnect.');
    }
  });
  client = c;
  await c.connect(signalingUrl());
  return c;
}

// The call's link: shared or reloaded, it joins directly (autojoin) or shows the form.
function callLink({ room, name, token }, autojoin) {
  let link = `?room=${encodeURIComponent(room)}`;
  if (name) link += `&name=${encodeURIComponent(name)}`;
  if (token) link += `&token=${encodeURIComponent(token)}`;
  return autojoin ? `${link}&autojoin=1` : link;
}

async function join(room, name) {
  if (session) return;
  session = { room, name, viewer: false, token: params.get('token') || undefined };
  for (const el of ui.form.elements) el.disabled = true;
  setState('joining', `Joining ${room}…`);

  localStream = await startLocalMedia();
  session.viewer = !localStream;
  ui.localVideo.srcObject = localStream;
  updateLocalControls();
  await enterRoom();
}

// Joins session.room and publishes the local media: on the first join, and again when the
// room was interrupted (its worker died) while we stayed.
async function enterRoom() {
  if (!session) return;
  const { room, name, token } = session;
  let reply;
  try {
    await connectClient();
    // A reloaded page ends its previous session at once instead of leaving a ghost behind.
    const previous = JSON.parse(sessionStorage.getItem(RESUME_KEY) ?? 'null');
    reply = await client.join(room, name, { token, replaces: previous?.token });
  } catch (err) {
    endSession();
    setState('error', `Could not join ${room}: ${err.message}`);
    return;
  }
  if (!session) return; // left meanwhile
  if (reply.type === 'full') {
    endSession();
    setState('full', `Room ${room} is full (${reply.capacity} of ${reply.capacity})`);
    return;
  }
  sessionStorage.setItem(RESUME_KEY, JSON.stringify({ token: reply.resumeToken }));
  // With a join token the server names us from it.
  if (reply.name) session.name = reply.name;
  updateLocalControls();

  document.body.dataset.selfId = reply.id;
  for (const p of reply.participants ?? []) ensureTile(p.id);
  showForm(false);
  // The address is the call's link: shared or reloaded, it joins directly.
  history.replaceState(null, '', callLink(session, true));
  setState('joined', joinedStatus());

  if (localStream) {
    try {
      // ?codec=H264 (or VP8, VP9...) prefers that video codec for what we send.
      await client.publish(localStream, { videoCodec: params.get('codec') || undefined });
      // After a rejoin the server has a fresh participant: tell it what is muted.
      for (const track of localStream.getTracks()) {
        if (!track.enabled) client.setMuted(track.kind, true);
      }
    } catch (err) {
      console.warn('publish failed', err);
      if (session) ui.status.textContent = `${joinedStatus()} · could not send media: ${err.message}`;
    }
  }
}

// Forgets the room locally (the server side is handled by the caller).
function endSession() {
  session = null;
  sessionStorage.removeItem(RESUME_KEY);
  delete document.body.dataset.connection;
  delete document.body.dataset.selfId;
  removeAllTiles();
  stopLocalMedia();
  updateLocalControls();
  ui.soundHint.hidden = true;
  showForm(true);
}

async function leave() {
  if (!session) return;
  const { room } = session;
  const link = callLink(session, false);
  ui.leave.disabled = true;
  try {
    await client?.leave();
  } catch (err) {
    console.warn('leave failed', err);
  }
  ui.leave.disabled = false;
  endSession();
  // Left on purpose: a reload shows the form rather than joining again.
  history.replaceState(null, '', link);
  setState('left', `You left room ${room}.`);
}

function toggle(kind) {
  const track = kind === 'audio' ? localStream?.getAudioTracks()[0] : localStream?.getVideoTracks()[0];
  if (!track || !client) return;
  client.setMuted(kind, track.enabled); // currently enabled -> mute
  updateLocalControls();
}

// --- Wiring ---------------------------------------------------------------------------------

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!ui.form.reportValidity()) return;
  join(ui.room.value.trim(), ui.name.value.trim());
});
ui.mic.addEventListener('click', () => toggle('audio'));
ui.cam.addEventListener('click', () => toggle('video'));
ui.leave.addEventListener('click', leave);
ui.enableSound.addEventListener('click', () => {
  for (const audio of ui.grid.querySelectorAll('audio')) audio.play().catch(() => {});
  ui.soundHint.hidden = true;
});
window.addEventListener('pagehide', () => client?.close());

if (params.has('room')) ui.room.value = params.get('room');
if (params.has('name')) ui.name.value = params.get('name');
// A link with a token names its holder; a name typed here is then only a placeholder.
if (params.get('token')) ui.name.required = false;
updateLocalControls();
if (params.get('autojoin') === '1' && ui.form.checkValidity()) {
  join(ui.room.value.trim(), ui.name.value.trim());
} else if (params.get('autojoin') === '1') {
  setState('error', 'The link needs a valid room (letters, digits, _ . -) and a name.');
}

// Debugging and test hook: media statistics of the current call, as the end-to-end tests and
// a curious person at the console read them.
window.switchboardTest = {
  inboundStats: async () => (client ? client.getReceiverStats() : []),
  // The subscribing connection's m-lines (transceivers): stays bounded however many come and go.
  subscribeMlines: () => client?._subPc?.getTransceivers().length ?? 0,
  selfId: () => client?.id ?? null,
  restartIce: () => client?.restartIce(),
  // The server's ICE username fragment on each connection (it changes with an ICE restart).
  remoteUfrags: () => {
    const ufrag = (pc) => /a=ice-ufrag:(\S+)/.exec(pc?.remoteDescription?.sdp ?? '')?.[1] ?? null;
    return { publish: ufrag(client?._pubPc), subscribe: ufrag(client?._subPc) };
  },
  outboundStats: async () => (client ? client.getSenderStats() : []),
  // DTLS/SRTP state of both connections, as the browser negotiated them with the server.
  transportStats: async () => {
    const out = {};
    if (!client) return out;
    const reports = await client.getStats();
    for (const [name, report] of Object.entries(reports)) {
      for (const s of report?.values() ?? []) {
        if (s.type === 'transport') {
          out[name] = { dtlsState: s.dtlsState, srtpCipher: s.srtpCipher, tlsVersion: s.tlsVersion,
            dtlsRole: s.dtlsRole, iceState: s.iceState };
        }
      }
    }
    return out;
  },
  // What the server's RTCP told the browser: remote-inbound-rtp entries come from its receiver
  // reports about our sending, remote-outbound-rtp from its sender reports about what we get.
  rtcpStats: async () => {
    const out = { remoteInbound: [], remoteOutbound: [] };
    if (!client) return out;
    const { publish, subscribe } = await client.getStats();
    for (const s of publish?.values() ?? []) {
      if (s.type === 'remote-inbound-rtp') {
        out.remoteInbound.push({ kind: s.kind, packetsLost: s.packetsLost,
          roundTripTime: s.roundTripTime, fractionLost: s.fractionLost });
      }
    }
    for (const s of subscribe?.values() ?? []) {
      if (s.type === 'remote-outbound-rtp') {
        out.remoteOutbound.push({ kind: s.kind, packetsSent: s.packetsSent,
          reportsSent: s.reportsSent, remoteTimestamp: s.remoteTimestamp });
      }
    }
    return out;
  },
};
