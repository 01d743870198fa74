// The Switchboard conference page. State is mirrored into the DOM for people and for tests:
//   document.body.dataset.state   idle | joining | joined | full | left | error | closed
//   document.body.dataset.selfId  own participant id while joined
//   document.body.dataset.connection  "reconnecting" while the signaling connection is being
//                                 resumed (media keeps flowing meanwhile)
//   document.body.dataset.failovers   how many times the session went on through another
//                                 server of a cluster (the client library's 'failover'; absent: 0)
//   #status                       a human sentence about the state
//   video[data-participant-id]    one per remote participant (audio in audio[data-participant-id]),
//                                 with data-audio-muted / data-video-muted = "true" | "false"
//   figure.tile[data-peer=ID]     that participant's tile; data-max-layer ("0" | "1" | "none") and
//                                 data-paused ("true" | "false"): what we last asked the server
//                                 for its video (the protocol's `subscription`)
//   figure.tile[data-speaking]    the room's active speaker ("true"), highlighted and shown large
//                                 (only highlighted while someone shares a screen)
//   .tile-stats                   in each remote tile: the video as received, "1280x720 · 900
//                                 kbit/s" (every 2 s; "paused" while hidden), with data-width,
//                                 data-height and data-kbps
//   figure.tile[data-source="screen"][data-screen-of=ID]  that participant's screen share, shown
//                                 large above every other tile (its video: video[data-screen-of]);
//                                 our own share's preview is #local-screen-tile
//   document.body.dataset.sharing "true" while we share our screen (#share: "Share screen" /
//                                 "Stop sharing"; the browser's own "stop sharing" stops it too)
//
// Receiving: each remote video tile asks the server for the simulcast layer its size needs (the
// picture height it shows, in device pixels: up to 200 -> layer 0, up to 400 -> layer 1, above:
// no ceiling; again when it is resized, debounced) and pauses the video of a tile that cannot be
// seen (scrolled out, display: none, a hidden page); it resumes as soon as it can be seen again.
// Sending: the camera goes out as three simulcast layers (q/h/f at 1/4, 1/2 and full size of
// 1280x720) unless the link has &simulcast=0 (then one 640x360 stream). A screen share
// (getDisplayMedia) goes out as a second video track, one encoding, which the server forwards
// to everyone before any camera when their bandwidth is short.
// &relay=1 sends and receives media only through the TURN relay the server names (its
// --turn-url): for networks that let nothing else through, and to test the relay.
// /?room=NAME&name=NAME&autojoin=1 joins without a click. &token=JWT (from `switchboard token`)
// is passed in the join, for a server run with --auth-secret; the name is then the token's and
// the link needs none.
//   #chat                         the room's chat and file transfer (chat.js: its DOM contract)
import { SwitchboardClient } from '/lib/switchboard.js';
import { RoomChat } from '/chat.js';

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
  share: $('#share'),
  localScreenTile: $('#local-screen-tile'),
  localScreenVideo: $('#local-screen-video'),
  screenTileTemplate: $('#screen-tile-template'),
  leave: $('#leave'),
  soundHint: $('#sound-hint'),
  enableSound: $('#enable-sound'),
  tileTemplate: $('#tile-template'),
};

const params = new URLSearchParams(location.search);
// &simulcast=0 turns simulcast off.
const SIMULCAST = params.get('simulcast') !== '0';
// &relay=1: media through the server's TURN relay only (iceTransportPolicy 'relay').
const RELAY = params.get('relay') === '1';
// Lowest quality first (the server takes the rids in this order). The caps leave each layer
// what it needs at its size, so a call of several does not spend more than that.
const SIMULCAST_ENCODINGS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 1_500_000 },
];
const MEDIA_CONSTRAINTS = {
  audio: true,
  video: SIMULCAST ? { width: 1280, height: 720 } : { width: 640, height: 360 },
};
// The picture heights (device pixels) up to which a tile asks for layer 0, then layer 1; above
// the last it asks for no ceiling. With a 720p camera the layers are 180, 360 and 720 high.
const LAYER_HEIGHTS = [200, 400];
// The screen share: at most 1080p and 15 fps (text and slides, not motion), one encoding of at
// most 2 Mbit/s, about what a 1080p slide needs to stay sharp.
const SCREEN_CONSTRAINTS = {
  video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { max: 15 } },
  audio: false,
};
const SCREEN_MAX_BITRATE = 2_000_000;
// A resized tile asks for its new layer once the size settles this long.
const LAYER_DEBOUNCE_MS = 300;
// A tile hidden this long has its video paused (not at once: scrolling past costs nothing).
const HIDDEN_PAUSE_MS = 500;
// The tiles' received-video indicator is refreshed this often.
const STATS_INTERVAL_MS = 2000;
// After an interruption (room-closed), the pause before joining again.
const REJOIN_DELAY_MS = 300;
// sessionStorage key of this tab's last session, ended by the next join (a reload).
const RESUME_KEY = 'switchboard.session';

let client = null;
// The signaling URLs of the last session (the client's list, with a cluster's nodes): joining
// again after an interruption tries them after this page's own server.
let knownUrls = [];
let localStream = null;
let session = null; // { room, name, viewer, token } while joining or joined
// What went wrong with the TURN relay, for the status line (null: nothing).
let relayProblem = null;
const tiles = new Map(); // participantId -> <figure>
// participantId -> { visible, timer, sent: { producerId, maxLayer, paused } | null, bytes, at }
const views = new Map();
// Every 'ice-candidate-error' of this page (the test hook's iceCandidateErrors).
const iceCandidateErrors = [];
const screenTiles = new Map(); // participantId -> <figure> of its screen share
const screenViews = new Map(); // participantId -> { bytes, at } (its indicator)
let screenTrack = null; // the track we share, or null
const chat = new RoomChat();

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
  if (RELAY) text += ' · media through the TURN relay only';
  if (relayProblem) text += ` · ${relayProblem}`;
  if (screenTrack) text += ' · sharing your screen';
  return text;
}

function refreshStatus() {
  if (session && document.body.dataset.state === 'joined') ui.status.textContent = joinedStatus();
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
  tile.dataset.maxLayer = 'none';
  tile.dataset.paused = 'false';
  tile.querySelector('video').dataset.participantId = participantId;
  const audio = tile.querySelector('audio');
  audio.dataset.participantId = participantId;
  tiles.set(participantId, tile);
  views.set(participantId, { visible: true, timer: null, sent: null, bytes: null, at: 0 });
  ui.grid.append(tile);
  resizeObserver?.observe(tile.querySelector('video'));
  intersectionObserver?.observe(tile);
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
  resizeObserver?.unobserve(tile.querySelector('video'));
  intersectionObserver?.unobserve(tile);
  clearTimeout(views.get(participantId)?.timer);
  views.delete(participantId);
  for (const media of tile.querySelectorAll('video, audio')) media.srcObject = null;
  tile.remove();
  tiles.delete(participantId);
}

function removeAllTiles() {
  for (const id of [...tiles.keys()]) removeTile(id);
  for (const id of [...screenTiles.keys()]) removeScreenTile(id);
}

// A participant's screen share: its own tile, large and first (style.css).
function showScreenTile(participantId, stream) {
  let tile = screenTiles.get(participantId);
  if (!tile) {
    tile = ui.screenTileTemplate.content.firstElementChild.cloneNode(true);
    tile.dataset.screenOf = participantId;
    tile.querySelector('video').dataset.screenOf = participantId;
    screenTiles.set(participantId, tile);
    screenViews.set(participantId, { bytes: null, at: 0 });
    ui.grid.prepend(tile);
    ui.grid.classList.add('presenting');
  }
  const name = client?.participants.get(participantId)?.name ?? participantId;
  tile.querySelector('.name').textContent = `${name}'s screen`;
  const video = tile.querySelector('video');
  video.srcObject = stream;
  video.play().catch(() => {});
}

function removeScreenTile(participantId) {
  const tile = screenTiles.get(participantId);
  if (!tile) return;
  tile.querySelector('video').srcObject = null;
  tile.remove();
  screenTiles.delete(participantId);
  screenViews.delete(participantId);
  ui.grid.classList.toggle('presenting', screenTiles.size > 0);
}

// --- What each tile receives: its layer, paused while hidden, and its indicator --------------

// The simulcast layer a tile's video needs: 0, 1, or null (no ceiling), from the picture height
// it shows in device pixels. The video covers its box (object-fit: cover), so a box wider than
// the picture needs the height that fills its width.
function layerFor(tile) {
  const video = tile.querySelector('video');
  const aspect = video.videoWidth > 0 && video.videoHeight > 0 ? video.videoHeight / video.videoWidth : 9 / 16;
  const needed = Math.max(video.clientHeight, video.clientWidth * aspect) * (window.devicePixelRatio || 1);
  const layer = LAYER_HEIGHTS.findIndex((height) => needed <= height);
  return layer < 0 ? null : layer;
}

// Whether a tile's video can be seen: on screen (IntersectionObserver), laid out with a size
// (not display: none) and on a visible page.
function tileSeen(participantId) {
  const tile = tiles.get(participantId);
  const view = views.get(participantId);
  if (!tile || !view) return false;
  const video = tile.querySelector('video');
  return view.visible && video.clientWidth > 0 && video.clientHeight > 0 && document.visibilityState !== 'hidden';
}

// Looks at a tile again after something changed (its size, visibility, track) and sends the
// server what changed, after a pause that depends on what it is: resuming at once, a new layer
// once the size settles, pausing once the tile has stayed hidden a moment.
function reviewTile(participantId) {
  const view = views.get(participantId);
  const tile = tiles.get(participantId);
  if (!view || !tile) return;
  const producerId = client?.producerIdOf(participantId, 'video');
  if (!producerId) return;
  if (view.sent && view.sent.producerId !== producerId) {
    // A new track (republished): what we asked for the old one does not apply to it.
    view.sent = null;
    tile.dataset.maxLayer = 'none';
    tile.dataset.paused = 'false';
  }
  const paused = !tileSeen(participantId);
  const maxLayer = layerFor(tile);
  // A producer we have not told anything yet is forwarded unpaused with no ceiling.
  const sent = view.sent ?? { producerId, maxLayer: null, paused: false };
  clearTimeout(view.timer);
  view.timer = null;
  if (sent.paused === paused && (paused || sent.maxLayer === maxLayer)) return;
  let delay = LAYER_DEBOUNCE_MS;
  if (sent.paused && !paused) delay = 0;
  else if (paused) delay = HIDDEN_PAUSE_MS;
  else if (!view.sent) delay = 0; // a new track: ask before it ramps up
  view.timer = setTimeout(() => sendSubscription(participantId), delay);
}

// Sends the server the tile's preference as it is now, the fields that changed.
function sendSubscription(participantId) {
  const view = views.get(participantId);
  const tile = tiles.get(participantId);
  if (!view || !tile || !client) return;
  view.timer = null;
  const producerId = client.producerIdOf(participantId, 'video');
  if (!producerId) return;
  const paused = !tileSeen(participantId);
  const maxLayer = layerFor(tile);
  const sent = view.sent?.producerId === producerId ? view.sent : { producerId, maxLayer: null, paused: false };
  const change = {};
  if (sent.paused !== paused) change.paused = paused;
  // A paused tile keeps its last layer until it is seen again (its size may be 0 meanwhile).
  if (!paused && sent.maxLayer !== maxLayer) change.maxLayer = maxLayer;
  if (Object.keys(change).length === 0) return;
  try {
    client.setSubscription(producerId, change);
  } catch (err) {
    console.warn('subscription not sent', err); // not connected: sent again on the next change
    return;
  }
  view.sent = { ...sent, ...change };
  tile.dataset.maxLayer = view.sent.maxLayer === null ? 'none' : String(view.sent.maxLayer);
  tile.dataset.paused = String(view.sent.paused);
  if (view.sent.paused) showTileStats(participantId, null);
}

function reviewAllTiles() {
  for (const id of tiles.keys()) reviewTile(id);
}

const resizeObserver = typeof ResizeObserver === 'function'
  ? new ResizeObserver((entries) => {
    for (const entry of entries) {
      const id = entry.target.dataset.participantId;
      if (id) reviewTile(id);
    }
  })
  : null;
const intersectionObserver = typeof IntersectionObserver === 'function'
  ? new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const id = entry.target.dataset.peer;
      const view = views.get(id);
      if (!view) continue;
      view.visible = entry.isIntersecting;
      reviewTile(id);
    }
  })
  : null;

// The indicator of a tile: "1280x720 · 900 kbit/s" (just the size until a second reading gives
// the bitrate), "paused", or nothing (no video).
function showTileStats(participantId, video) {
  const el = tiles.get(participantId)?.querySelector('.tile-stats');
  if (!el) return;
  const view = views.get(participantId);
  if (view?.sent?.paused) {
    el.textContent = 'paused';
    delete el.dataset.width;
    delete el.dataset.height;
    delete el.dataset.kbps;
    return;
  }
  renderStats(el, video);
}

function renderStats(el, video) {
  if (!video) {
    el.textContent = '';
    return;
  }
  const size = `${video.width}x${video.height}`;
  el.textContent = video.kbps === null ? size : `${size} · ${video.kbps} kbit/s`;
  el.dataset.width = String(video.width);
  el.dataset.height = String(video.height);
  if (video.kbps === null) delete el.dataset.kbps;
  else el.dataset.kbps = String(video.kbps);
}

async function refreshTileStats() {
  const c = client;
  if (!c || tiles.size === 0) return;
  let stats;
  try {
    stats = await c.getReceiverStats();
  } catch {
    return;
  }
  const now = performance.now();
  // What one tile shows from its track's statistics `s`; `view` keeps the last byte count.
  const reading = (view, s, element) => {
    if (!s || !element) {
      view.bytes = null;
      return null;
    }
    const bytes = s.bytesReceived ?? 0;
    // bits per millisecond are kbit/s.
    const kbps = view.bytes !== null && now > view.at ? Math.max(0, Math.round(((bytes - view.bytes) * 8) / (now - view.at))) : null;
    view.bytes = bytes;
    view.at = now;
    // Firefox's statistics may lack the frame size: the element has it.
    const width = s.frameWidth || element.videoWidth;
    const height = s.frameHeight || element.videoHeight;
    return width && height ? { width, height, kbps } : null;
  };
  for (const [id, view] of views) {
    const s = stats.find((x) => x.participantId === id && x.kind === 'video' && x.source !== 'screen');
    showTileStats(id, reading(view, s, tiles.get(id)?.querySelector('video')));
  }
  for (const [id, view] of screenViews) {
    const s = stats.find((x) => x.participantId === id && x.source === 'screen');
    const tile = screenTiles.get(id);
    if (tile) renderStats(tile.querySelector('.tile-stats'), reading(view, s, tile.querySelector('video')));
  }
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
  ui.share.disabled = !session || !navigator.mediaDevices?.getDisplayMedia;
  ui.share.textContent = screenTrack ? 'Stop sharing' : 'Share screen';
  ui.share.classList.toggle('sharing', !!screenTrack);
  ui.localScreenTile.hidden = !screenTrack;
  if (screenTrack) document.body.dataset.sharing = 'true';
  else delete document.body.dataset.sharing;
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
  const c = new SwitchboardClient({ iceTransportPolicy: RELAY ? 'relay' : 'all' });
  relayProblem = null;
  c.addEventListener('ice-candidate-error', (e) => {
    console.warn('ICE server error', e.detail);
    iceCandidateErrors.push(e.detail);
    // 401/403: the relay refused our credentials (a secret that differs from the relay's).
    if (e.detail.errorCode === 401 || e.detail.errorCode === 403) {
      relayProblem = `the TURN relay refused the credentials (${e.detail.errorCode})`;
      refreshStatus();
    }
  });
  c.addEventListener('participant-joined', (e) => {
    ensureTile(e.detail.participant.id);
    refreshStatus();
  });
  c.addEventListener('participant-updated', (e) => updateTile(e.detail.participant.id));
  c.addEventListener('active-speaker', (e) => {
    // The speaker's tile is highlighted and takes a whole row of the grid (it then asks for a
    // larger layer by itself: its size changed).
    for (const [id, tile] of tiles) {
      if (id === e.detail.participantId) tile.dataset.speaking = 'true';
      else delete tile.dataset.speaking;
    }
  });
  c.addEventListener('participant-left', (e) => {
    removeTile(e.detail.id);
    removeScreenTile(e.detail.id);
    refreshStatus();
  });
  c.addEventListener('track', (e) => {
    if (e.detail.source === 'screen') {
      showScreenTile(e.detail.participantId, e.detail.stream);
      return;
    }
    attachStream(e.detail.participantId, e.detail.stream);
    if (e.detail.kind === 'video') reviewTile(e.detail.participantId);
  });
  c.addEventListener('track-ended', (e) => {
    if (e.detail.source !== 'screen') updateTile(e.detail.participantId);
    else if (!c.screenStreams.has(e.detail.participantId)) removeScreenTile(e.detail.participantId);
  });
  c.addEventListener('screen-share-ended', (e) => {
    if (e.detail.track === screenTrack) stopScreenShare();
  });
  c.addEventListener('room-closed', (e) => {
    // Its worker died, or our session could not be resumed: back in by ourselves.
    if (client !== c || !session) return;
    removeAllTiles();
    chat.stop();
    chat.notice(`Room ${session.room} was interrupted; rejoining.`);
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
    // The server kept what we asked before; what could not be sent meanwhile goes now.
    reviewAllTiles();
  });
  c.addEventListener('failover', (e) => {
    // Our server of a cluster went away: the library joined through another one, republished
    // and reopened the chat's channels. The tiles come back with the new node's tracks.
    if (client !== c || !session) return;
    delete document.body.dataset.connection;
    document.body.dataset.selfId = e.detail.id;
    document.body.dataset.failovers = String(Number(document.body.dataset.failovers ?? 0) + 1);
    sessionStorage.setItem(RESUME_KEY, JSON.stringify({ token: c.resumeToken }));
    knownUrls = c.urls;
    chat.rebind(e.detail.channels);
    chat.notice('Reconnected through another server.');
    ui.status.textContent = `${joinedStatus()} · reconnected through another server`;
    reviewAllTiles();
  });
  c.addEventListener('error', (e) => {
    console.warn('switchboard error', e.detail);
    if (e.detail.code === 'no-relay') {
      relayProblem = 'relay only (&relay=1), but the server has no TURN relay';
      refreshStatus();
      return;
    }
    // A tile's subscription for a track that just ended: nothing a person needs to see.
    if (e.detail.inReplyTo === 'subscription') return;
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
  // One server: its URL. After a session in a cluster, the other nodes too (the library skips
  // duplicates).
  await c.connect(knownUrls.length > 0 ? [signalingUrl(), ...knownUrls] : signalingUrl());
  return c;
}

// The call's link: shared or reloaded, it joins directly (autojoin) or shows the form.
function callLink({ room, name, token }, autojoin) {
  let link = `?room=${encodeURIComponent(room)}`;
  if (name) link += `&name=${encodeURIComponent(name)}`;
  if (token) link += `&token=${encodeURIComponent(token)}`;
  if (RELAY) link += '&relay=1';
  return autojoin ? `${link}&autojoin=1` : link;
}

async function join(room, name) {
  if (session) return;
  session = { room, name, viewer: false, token: params.get('token') || undefined };
  chat.reset();
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
  knownUrls = client.urls;
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
      await client.publish(localStream, {
        videoCodec: params.get('codec') || undefined,
        videoEncodings: SIMULCAST ? SIMULCAST_ENCODINGS : undefined,
      });
      // After a rejoin the server has a fresh participant: tell it what is muted.
      for (const track of localStream.getTracks()) {
        if (!track.enabled) client.setMuted(track.kind, true);
      }
    } catch (err) {
      console.warn('publish failed', err);
      if (session) ui.status.textContent = `${joinedStatus()} · could not send media: ${err.message}`;
    }
  }
  // The chat's channels after the media (their m=application a second offer, or the only one
  // for a viewer): a problem with them cannot hold the call up.
  if (session && client) chat.start(client, session.name);
  // Back in after an interruption while sharing: the share goes on.
  if (screenTrack?.readyState === 'live') {
    client.shareScreen(screenTrack, { maxBitrate: SCREEN_MAX_BITRATE }).catch((err) => {
      console.warn('screen share failed', err);
      stopScreenShare();
    });
  } else if (screenTrack) {
    stopScreenShare();
  }
}

// Forgets the room locally (the server side is handled by the caller).
function endSession() {
  session = null;
  chat.stop();
  sessionStorage.removeItem(RESUME_KEY);
  delete document.body.dataset.connection;
  delete document.body.dataset.selfId;
  removeAllTiles();
  stopScreenShare();
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

// --- Screen share ---------------------------------------------------------------------------

async function startScreenShare() {
  if (!client || !session || screenTrack) return;
  let stream;
  ui.share.disabled = true; // one picker at a time
  try {
    stream = await navigator.mediaDevices.getDisplayMedia(SCREEN_CONSTRAINTS);
  } catch (err) {
    // Most often the person cancelled the browser's picker.
    console.warn('getDisplayMedia failed', err);
    return;
  } finally {
    updateLocalControls();
  }
  const track = stream.getVideoTracks()[0];
  if (!track || !session) {
    for (const t of stream.getTracks()) t.stop();
    return;
  }
  // Sharp text before smooth motion when the encoder must choose (W3C mst-content-hint).
  track.contentHint = 'detail';
  screenTrack = track;
  ui.localScreenVideo.srcObject = new MediaStream([track]);
  updateLocalControls();
  refreshStatus();
  try {
    await client.shareScreen(track, { maxBitrate: SCREEN_MAX_BITRATE });
  } catch (err) {
    console.warn('screen share failed', err);
    stopScreenShare();
    if (session) ui.status.textContent = `${joinedStatus()} · could not share the screen: ${err.message}`;
  }
}

// Stops our share: the button, or the browser's own "stop sharing" (the library stopped
// sending already then: screen-share-ended).
function stopScreenShare() {
  const track = screenTrack;
  if (!track) return;
  screenTrack = null;
  track.stop();
  if (client?.screenTrack === track) client.stopScreenShare().catch((err) => console.warn('stopping the share failed', err));
  ui.localScreenVideo.srcObject = null;
  updateLocalControls();
  refreshStatus();
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
ui.share.addEventListener('click', () => (screenTrack ? stopScreenShare() : startScreenShare()));
ui.leave.addEventListener('click', leave);
ui.enableSound.addEventListener('click', () => {
  for (const audio of ui.grid.querySelectorAll('audio')) audio.play().catch(() => {});
  ui.soundHint.hidden = true;
});
window.addEventListener('pagehide', () => client?.close());
document.addEventListener('visibilitychange', reviewAllTiles);
setInterval(() => refreshTileStats().catch(() => {}), STATS_INTERVAL_MS);

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
  // The page's SwitchboardClient (null when not connected): for a test's own data channels.
  client: () => client,
  // The channels the server opened to us: [{ from, label, state }] (state: readyState).
  dataChannels: () => (client?.dataChannels() ?? []).map(({ from, label, channel }) =>
    ({ from, label, state: channel.readyState })),
  inboundStats: async () => (client ? client.getReceiverStats() : []),
  // The subscribing connection's m-lines (transceivers): stays bounded however many come and go.
  subscribeMlines: () => client?._subPc?.getTransceivers().length ?? 0,
  selfId: () => client?.id ?? null,
  // The participant objects the server sent (docs/protocol.md): video, screen, muted...
  participants: () => [...(client?.participants.values() ?? [])],
  restartIce: () => client?.restartIce(),
  // The server's ICE username fragment on each connection (it changes with an ICE restart).
  remoteUfrags: () => {
    const ufrag = (pc) => /a=ice-ufrag:(\S+)/.exec(pc?.remoteDescription?.sdp ?? '')?.[1] ?? null;
    return { publish: ufrag(client?._pubPc), subscribe: ufrag(client?._subPc) };
  },
  outboundStats: async () => (client ? client.getSenderStats() : []),
  // The ICE candidate pair each connection uses: local.candidateType 'relay' when through TURN.
  candidatePairs: async () => (client ? client.getCandidatePairs() : { publish: null, subscribe: null }),
  // The ICE servers (TURN credentials from joined/resumed) and policy each connection holds.
  iceConfiguration: () => {
    const of = (pc) => {
      if (!pc) return null;
      const { iceServers, iceTransportPolicy } = pc.getConfiguration();
      return { iceServers, iceTransportPolicy };
    };
    return { publish: of(client?._pubPc), subscribe: of(client?._subPc) };
  },
  // STUN/TURN errors the connections reported ({ connection, url, errorCode, errorText }).
  iceCandidateErrors: () => [...iceCandidateErrors],
  // What each remote tile last asked the server for: participantId -> { producerId, maxLayer,
  // paused } (a tile not in the list asked for nothing: no ceiling, not paused).
  subscriptions: () => Object.fromEntries([...views].filter(([, v]) => v.sent).map(([id, v]) => [id, { ...v.sent }])),
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
