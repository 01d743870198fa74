/**
 * Switchboard client library: speaks the signaling protocol of docs/protocol.md over one
 * WebSocket and manages the two RTCPeerConnections (publish: we offer; subscribe: the server
 * offers). Plain ES module, no dependencies.
 *
 *   import { SwitchboardClient } from '/lib/switchboard.js';
 *   const client = new SwitchboardClient();   // or new SwitchboardClient({ iceTransportPolicy: 'relay' })
 *   client.addEventListener('track', (e) => attach(e.detail.participantId, e.detail.stream));
 *   await client.connect(`ws://${location.host}/ws`);
 *   const reply = await client.join('demo', 'Ada');   // the `joined` or `full` message
 *   if (reply.type === 'joined') await client.publish(localStream);
 *
 * Options (constructor): iceTransportPolicy 'all' (default) or 'relay': media only through the
 *   TURN relay the server names in `joined` (--turn-url), never directly; for networks that
 *   let nothing else through, and to test the relay. Without a relay from the server a 'relay'
 *   client cannot connect (an 'error' event with code 'no-relay' says so).
 *
 * ICE servers: `joined` (and `resumed`) may carry iceServers, TURN URLs with time-limited
 * credentials; both connections use them (a resume hands the fresh ones to both).
 *
 * Methods (all async ones reject with an Error whose `.code` is the server's error code):
 *   connect(urls)            open the WebSocket; resolves when open. urls: one signaling URL
 *                            (ws://HOST:PORT/ws) or a list of them, tried in order until one
 *                            opens (rejects with the last one's error). The list is kept for
 *                            a fail-over (see Reconnection), with the nodes of a cluster's
 *                            `joined` added after the current URL.
 *   join(room, name, {token, replaces})  resolves with the server's `joined` or `full`
 *                            message. `token`: a join token (a JWT from `switchboard token`),
 *                            needed when the server runs with --auth-secret; it then rejects
 *                            with code 'unauthorized' without one, and the name comes from
 *                            the token (`joined` carries it; `name` may be omitted).
 *                            `replaces`: the resumeToken of this client's previous session
 *                            (say, before a page reload), which the server then ends at once.
 *   publish(stream, {videoCodec, videoEncodings})  send the stream's tracks (again to
 *                            add/replace tracks); videoCodec ('VP8', 'H264', ...) puts that
 *                            codec first in the offer. videoEncodings sends the video track as
 *                            simulcast: RTCRtpEncodingParameters with a `rid` each, lowest
 *                            quality first, e.g. [{rid: 'q', scaleResolutionDownBy: 4},
 *                            {rid: 'h', scaleResolutionDownBy: 2}, {rid: 'f'}]. The server
 *                            forwards each subscriber the highest layer that arrives, fits
 *                            that subscriber's bandwidth and is within its setSubscription
 *                            ceiling. Applies when the video track is first published.
 *                            Chromium starts from a ~300 kbps send estimate and raises it
 *                            with the server's transport-cc feedback (in about 10 s); until
 *                            then it sends only the layers that fit: cap each layer's
 *                            maxBitrate to have them all from the start.
 *   shareScreen(track, {videoCodec, maxBitrate})  send `track` (a video track, e.g. from
 *                            navigator.mediaDevices.getDisplayMedia) as this participant's screen
 *                            share: a second video track beside the camera, on its own m-line,
 *                            marked `screen` in the publish (`sources`). Every other participant
 *                            receives it as a track with source 'screen', served before any
 *                            camera when its bandwidth is short. Calling it while sharing
 *                            replaces the shared track. maxBitrate caps its encoding (bit/s).
 *                            When the track ends (the browser's own "stop sharing"), the share
 *                            stops by itself and 'screen-share-ended' is emitted.
 *   stopScreenShare()        stop sending the screen share (the others' tracks end); the track
 *                            itself is not stopped (the caller owns it). Sharing again later
 *                            reuses the same m-line.
 *   setEncodingActive(rid, active)  start or stop sending one simulcast layer of the camera.
 *   setSubscription(producerId, {maxLayer, paused, pinned})  this client's preference for one track it
 *                            receives (the protocol's `subscription`; the server keeps it while
 *                            that producer lives). maxLayer: the highest simulcast layer wanted
 *                            (encoding index, 0 = the smallest; an integer 0-3), null = no
 *                            ceiling. paused: true = forward nothing for it (a hidden tile; no
 *                            bandwidth spent), false = forward it again (from a key frame).
 *                            pinned: true = always forwarded, whatever the server's last-N
 *                            (--last-n) says about the speakers to show. Leave
 *                            a field out to keep its last value; at least one is needed. Sent
 *                            without waiting: throws a TypeError for bad arguments, a
 *                            SwitchboardError ('not-joined', 'closed') when not in a room or not
 *                            connected; the server's refusal (`unknown-track` for a producerId
 *                            not offered to us, `bad-message`) comes as an 'error' event with
 *                            inReplyTo 'subscription'.
 *   producerIdOf(participantId, kind = 'video', source)  the producerId of that participant's
 *                            live track of that kind and source (default: 'microphone' for
 *                            audio, 'camera' for video; 'screen' for its screen share) as we
 *                            receive it (from the latest subscribe-offer's `streams`), or null.
 *                            A republished track gets a new producerId (a new 'track' event
 *                            carries it).
 *   remoteTracks()           [{ participantId, kind, source, producerId, mid, track }] for every
 *                            live remote track.
 *   setMuted(kind, muted)    'audio' | 'video': disables the local track and tells the server.
 *   openDataChannel(label, {ordered, maxRetransmits, maxPacketLifeTime, to})  opens an
 *                            RTCDataChannel on the publishing connection and returns it at once
 *                            (it fires 'open' once negotiated). The server forwards it to every
 *                            other participant of the room, or only to participant `to` (an id):
 *                            each receiver gets a 'datachannel' event for it, with the same label
 *                            and reliability. ordered (default true) and maxRetransmits /
 *                            maxPacketLifeTime (at most one: an unreliable channel) are
 *                            RTCDataChannelInit's. The first channel adds an m=application to the
 *                            publishing connection (a publish offer, like a new track); a
 *                            participant without camera or microphone gets a publishing connection
 *                            for it. binaryType is 'arraybuffer'. Messages are at most 262144
 *                            bytes (the server's a=max-message-size); pace large transfers with
 *                            bufferedAmount and 'bufferedamountlow': past a few MiB queued for a
 *                            slow receiver, the server drops (unreliable) or closes (reliable, a
 *                            'data-channel-closed' event) that receiver's channel. If the offer
 *                            fails, the channel is closed and an 'error' event (code
 *                            'data-channel-failed') says why. Throws a SwitchboardError
 *                            ('not-joined') when not in a room, a TypeError for bad arguments.
 *                            Receiving needs a publishing connection that carries data channels:
 *                            the server opens the others' channels on it, so a participant that
 *                            only listens opens one channel of its own (the web app opens its
 *                            'chat' and 'file' channels on joining).
 *   dataChannels()           [{ channel, from, label }] of the live channels the server opened
 *                            to us (from: the sender's participant id).
 *   restartIce()             ICE restart on both connections (new credentials, DTLS kept);
 *                            done by itself when a connection's ICE fails or stays
 *                            disconnected for ICE_DISCONNECTED_RESTART_MS.
 *   leave()                  leave the room (the socket stays open for another join).
 *   close()                  leave and close the socket.
 *   ping()                   round trip to the server; resolves with the time in ms.
 *   getStats()               { publish, subscribe }: RTCStatsReports (null if no connection).
 *   getCandidatePairs()      { publish, subscribe }: the ICE candidate pair each connection
 *                            uses, { state, local: { candidateType ('host' | 'srflx' | 'prflx'
 *                            | 'relay'), protocol, relayProtocol, address, port, url }, remote:
 *                            { candidateType, protocol, address, port } }, or null.
 *   getReceiverStats()       [{ participantId, kind, source, mid, producerId, mimeType, framesDecoded,
 *                              frameWidth, frameHeight,
 *                              packetsReceived, packetsLost, bytesReceived, jitter,
 *                              totalSamplesReceived, concealedSamples, freezeCount, nackCount }]
 *                            per track.
 *   getSenderStats()         [{ kind, source, rid, packetsSent, bytesSent, framesSent,
 *                              frameWidth, frameHeight }] per sent stream (one per layer with
 *                              simulcast); source 'screen' for the screen share.
 *
 * Properties: id (own participant id or null), room, participants (Map id -> participant
 * object as in the protocol; `screen` true while it shares its screen), localStream,
 * remoteStreams (Map participantId -> MediaStream holding that participant's live microphone
 * and camera tracks), screenStreams (Map participantId -> MediaStream holding its screen
 * share), screenTrack (the track we share, or null), connected, resumeToken (while in a room),
 * urls (the URLs a fail-over may go to, in order: those given to connect(), with the cluster's
 * nodes from `joined` after the current one).
 *
 * Reconnection: when the WebSocket breaks while in a room (no close from either side, or no
 * pong to a heartbeat within HEARTBEAT_TIMEOUT_MS) the media connections stay up and the
 * client reconnects to the same URL and sends `resume` until the server's grace period
 * (resumeGraceMs from `joined`) runs out; then it emits 'resumed', or 'room-closed' with
 * reason 'resume-failed'.
 *
 * Fail-over: with other URLs in the list (given to connect(), or the live nodes a cluster's
 * `joined` names), a session that cannot come back where it was moves on: when its URL has
 * refused connections for FAILOVER_AFTER_MS (its node is gone), or answers `resume-failed`, or
 * the grace period is over, the client tries the other URLs in turn (then its own again),
 * joins the same room there with the same name and join token, and sends again what it sent:
 * the same local stream with the same publish options (codec, simulcast encodings) and its
 * mutes, the screen share, and its own data channels that were open at the break (same label
 * and reliability; one addressed `to` a participant no longer in the room is not reopened).
 * The new session has a
 * new participant id (`id`, 'joined' is emitted for it); the old connections' remote tracks end
 * ('track-ended') and come again from the new node's subscribe-offer ('track'); who left or
 * came meanwhile is told by 'participant-left' / 'participant-joined' ('participant-updated'
 * for the others). Then 'failover' is emitted. If no URL takes the session within
 * FAILOVER_DEADLINE_MS of the break, 'room-closed' with reason 'unreachable'. Received data
 * channels come again as 'datachannel' events from the new node. A request under way when
 * the connection broke (publish, ...) is not sent again after a fail-over: it rejects with
 * code 'closed'.
 *
 * Events (CustomEvent, payload in `event.detail`):
 *   'joined'               { room, id, participants }
 *   'full'                 { room, capacity }
 *   'participant-joined'   { participant }
 *   'participant-updated'  { participant }
 *   'participant-left'     { id, participant }
 *   'layers'               { mid, maxLayer }   dynacast: the server said which simulcast layers
 *                          of our track on `mid` anyone wants; those above maxLayer were stopped
 *                          (and those at or under it started)
 *   'active-speaker'       { participantId }   the room's dominant speaker changed (also once
 *                          after 'joined' when someone already spoke; `activeSpeaker` holds it)
 *   'track'                { participantId, kind, source, track, stream, mid, producerId }
 *                          source: 'microphone' | 'camera' | 'screen'; stream: the
 *                          remoteStreams entry (screenStreams for a screen share); producerId:
 *                          for setSubscription (null when the server's offer did not list the
 *                          track's stream)
 *   'track-ended'          { participantId, kind, source, track, stream, mid, producerId }
 *   'screen-share-ended'   { track }   our shared track ended (the browser's "stop sharing"):
 *                          the share was stopped
 *   'room-closed'          { room, reason }   reason 'resume-failed' / 'unreachable': the
 *                          session could not be resumed / no URL of the list took it back
 *   'reconnecting'         { room }   the WebSocket broke; media continues meanwhile
 *   'resumed'              { room, id, participants }
 *   'failover'             { from, to, room, id, channels }   the session could not be resumed
 *                          at URL `from` and went on at URL `to` as participant `id` (new),
 *                          its media published again; channels: [{ previous, channel }], our
 *                          data channels reopened there (the RTCDataChannels to use from now on)
 *   'ice-restart'          { connection: 'publish' | 'subscribe' }
 *   'datachannel'          { channel, from, label }   the server opened a channel to us: one
 *                          of participant `from`'s (channel.protocol is `from`; its label and
 *                          reliability are the sender's). It closes when the sender closes it or
 *                          leaves; closing it here only stops our copy. binaryType 'arraybuffer'.
 *   'data-channel-closed'  { from, label, reason, channel }   the server closed our copy of
 *                          `from`'s channel `label` (reason 'receiver-too-slow': we did not keep
 *                          up with a reliable channel; the sender's channel goes on for the others).
 *                          channel: that RTCDataChannel, or null if we no longer had it
 *   'ice-candidate-error'  { connection, url, errorCode, errorText }   a STUN/TURN server
 *                          refused or did not answer (401: the relay refused the credentials)
 *   'error'                { code, message, inReplyTo }
 *   'closed'               { code, reason }   the WebSocket closed (not while reconnecting)
 */

const PC_CONFIG = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: [] };
const REQUEST_TIMEOUT_MS = 10000;
// A ping every HEARTBEAT_MS while in a room; no pong within HEARTBEAT_TIMEOUT_MS means the
// connection is dead even if TCP has not noticed (a laptop lid, a network change).
const HEARTBEAT_MS = 5000;
const HEARTBEAT_TIMEOUT_MS = 4000;
// Reconnection attempts start fast and back off to this.
const RECONNECT_MAX_DELAY_MS = 2000;
// A reconnection attempt that does not open within this is abandoned (a black-holed network
// would hold it for a minute).
const CONNECT_TIMEOUT_MS = 3000;
// With other URLs to go to (a cluster's nodes): the URL we were on refused this long means its
// node is gone, and the session moves to the next URL of the list (a refusal is quick; a few
// tries rule out a restart in progress).
const FAILOVER_AFTER_MS = 2000;
// From the break: no URL of the list took the session back within this, the room is over for
// this client ('room-closed', reason 'unreachable').
const FAILOVER_DEADLINE_MS = 30000;
// ICE 'disconnected' this long (no answer to checks) triggers an ICE restart.
const ICE_DISCONNECTED_RESTART_MS = 3000;
// The highest simulcast layer index a `subscription` may name (the server takes 0-3).
const MAX_LAYER = 3;

// Moves the codecs of one mime subtype (e.g. 'H264') to the front of a transceiver's list;
// the server takes the first codec of the offer it can forward.
function preferCodec(transceiver, subtype) {
  const caps = RTCRtpSender.getCapabilities('video');
  if (!caps || !transceiver.setCodecPreferences) return;
  const wanted = `video/${subtype}`.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (first.length === 0) return;
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  transceiver.setCodecPreferences([...first, ...rest]);
}

// Two signaling URLs that name the same place (new URL() settles case, default ports, '/').
function sameUrl(a, b) {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return a === b;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The RTCDataChannelInit-like options openDataChannel() takes, of an open channel.
function channelInit(channel) {
  const init = { ordered: channel.ordered };
  if (channel.maxRetransmits != null) init.maxRetransmits = channel.maxRetransmits;
  if (channel.maxPacketLifeTime != null) init.maxPacketLifeTime = channel.maxPacketLifeTime;
  if (channel.protocol) init.to = channel.protocol;
  return init;
}

// What a track is when the server's offer does not say: its kind's usual source.
function defaultSource(kind) {
  return kind === 'audio' ? 'microphone' : 'camera';
}

export class SwitchboardError extends Error {
  constructor(code, message, inReplyTo) {
    super(message || code);
    this.name = 'SwitchboardError';
    this.code = code;
    this.inReplyTo = inReplyTo;
  }
}

/**
 * Header extension URIs this browser can negotiate for `kind`, also those it leaves out of
 * getCapabilities() and its own offers until asked (Chromium's AV1 dependency descriptor,
 * direction 'stopped', without which it cannot assemble an AV1 SVC stream).
 */
function negotiableHeaderExtensions(kind) {
  let pc;
  try {
    pc = new RTCPeerConnection();
    const transceiver = pc.addTransceiver(kind);
    return transceiver.getHeaderExtensionsToNegotiate?.().map((e) => e.uri) ?? [];
  } catch {
    return [];
  } finally {
    pc?.close();
  }
}

/**
 * Turns on, for every transceiver, the header extensions the remote offer (`sdp`) lists that
 * the browser would otherwise leave stopped, so that its answer accepts them.
 */
function acceptOfferedHeaderExtensions(pc, sdp) {
  const offered = new Set([...sdp.matchAll(/^a=extmap:\d+(?:\/\w+)? (\S+)/gm)].map((m) => m[1]));
  for (const transceiver of pc.getTransceivers()) {
    const list = transceiver.getHeaderExtensionsToNegotiate?.();
    if (!list?.some((e) => e.direction === 'stopped' && offered.has(e.uri))) continue;
    try {
      transceiver.setHeaderExtensionsToNegotiate(list.map((e) =>
        e.direction === 'stopped' && offered.has(e.uri) ? { ...e, direction: 'sendrecv' } : e));
    } catch {} // a browser that refuses keeps its defaults
  }
}

export class SwitchboardClient extends EventTarget {
  constructor({ iceTransportPolicy = 'all' } = {}) {
    super();
    if (iceTransportPolicy !== 'all' && iceTransportPolicy !== 'relay') {
      throw new TypeError(`iceTransportPolicy must be 'all' or 'relay', not ${iceTransportPolicy}`);
    }
    this._iceTransportPolicy = iceTransportPolicy;
    this._iceServers = []; // from `joined` / `resumed`
    this.id = null;
    this.room = null;
    this.participants = new Map();
    this.localStream = null;
    this.remoteStreams = new Map();
    this.screenStreams = new Map();
    this.screenTrack = null;
    this._screenTransceiver = null; // our screen share's, kept (inactive) between shares
    this._screenEnded = null; // the shared track's 'ended' listener
    this._ws = null;
    this._nextRequestId = 1;
    this._pending = new Map(); // requestId -> { resolve, reject, timer }
    this._pubPc = null;
    this._pubChain = Promise.resolve();
    this._subPc = null;
    this._subChain = Promise.resolve();
    this._remote = new Map(); // mid -> { participantId, kind, source, producerId, key, track, mid }
    this._msidByTrack = new Map(); // track.id -> msid stream id, from ontrack
    this._url = null; // the URL of the open (or last) WebSocket
    this._urls = []; // where the session may go: the URLs given to connect(), then joined.nodes
    this._joinArgs = null; // { room, name, token } of the last join, for a fail-over
    this._publishOptions = {}; // publish()'s { videoCodec, videoEncodings } for the camera
    this._screenOptions = {}; // shareScreen()'s { videoCodec, maxBitrate }
    this._failingOver = false; // joining elsewhere: a broken request is not sent again
    this._epoch = 0; // counts the sessions ended (_endSession): a fail-over for an older one stops
    this.resumeToken = null;
    this._resumeGraceMs = 0;
    // A Promise while reconnecting: resolves true when resumed, 'failover' when the session
    // went on through another URL, false when it ended.
    this._reconnecting = null;
    this._closing = false; // close() called: a socket close is not a break
    this._heartbeat = null;
    this._iceTimers = new Map(); // 'publish' | 'subscribe' -> timer while ICE is disconnected
    this._ownChannels = new Set(); // RTCDataChannels we opened, while open or opening
    this._receivedChannels = new Set(); // those the server opened to us, until they close
    this._dataPc = null; // the publishing connection once an m=application is on its way
  }

  get connected() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
  }

  /**
   * Opens the WebSocket to `urls`: one URL, or a list of them tried in order until one opens.
   * The list is kept (with the nodes `joined` names added) for a fail-over: see the header
   * comment. Resolves when open; rejects with the last URL's error when none opens.
   */
  connect(urls) {
    if (this._ws) return Promise.reject(new Error('already connected'));
    const list = (Array.isArray(urls) ? urls : [urls]).filter((u) => typeof u === 'string' && u);
    if (list.length === 0) return Promise.reject(new TypeError('connect: a URL or a list of URLs is needed'));
    this._urls = [];
    for (const url of list) {
      if (!this._urls.some((known) => sameUrl(known, url))) this._urls.push(url);
    }
    this._closing = false;
    return this._openFirst();
  }

  /** The URLs the session may go to, in order (see connect and the header comment). */
  get urls() {
    return [...this._urls];
  }

  // Opens the first URL of the list that opens; only the last failure emits 'closed'.
  async _openFirst() {
    for (let i = 0; ; i++) {
      const url = this._urls[i];
      const last = i === this._urls.length - 1;
      this._url = url;
      try {
        await this._open(url, { quiet: !last });
        return;
      } catch (err) {
        if (last || this._closing) throw err;
      }
    }
  }

  // Opens the WebSocket; resolves when open, rejects if it never opens. quiet: a socket that
  // never opened goes without a trace ('closed' is not emitted).
  _open(url, { quiet = false } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      this._ws = ws;
      let opened = false;
      const timer = setTimeout(() => {
        if (opened || this._ws !== ws) return;
        this._ws = null;
        ws.onclose = null;
        ws.close();
        reject(new Error(`cannot connect to ${url} (timed out)`));
      }, CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        clearTimeout(timer);
        opened = true;
        resolve();
      };
      ws.onmessage = (e) => {
        if (this._ws === ws) this._onMessage(e.data);
      };
      ws.onclose = (e) => {
        clearTimeout(timer);
        if (!opened) reject(new Error(`cannot connect to ${url}`));
        if (!opened && quiet) {
          if (this._ws === ws) this._ws = null;
          return;
        }
        this._socketGone(ws, e.code, e.reason);
      };
    });
  }

  // The socket closed, or we gave up on it. A clean close from either side (1000: we or the
  // server closed; 1001: the server is going away or the page closes) ends the session.
  // Anything else is a broken connection: the media connections stay and the session resumes
  // if it can.
  _socketGone(ws, code, reason) {
    if (this._ws !== ws) return; // a socket we already gave up on
    this._ws = null;
    this._rejectAll(new SwitchboardError('closed', 'connection closed'));
    if (this._reconnecting) return; // the reconnection loop tries again
    const broken = code !== 1000 && code !== 1001;
    if (broken && !this._closing && this.id && this.resumeToken) {
      this._startReconnect();
      return;
    }
    this._endSession();
    this._emit('closed', { code, reason });
  }

  _endSession() {
    this._epoch++;
    this._stopHeartbeat();
    this._teardownMedia();
    this.id = null;
    this.room = null;
    this.resumeToken = null;
  }

  async join(room, name, { token, replaces } = {}) {
    const capabilities = {};
    for (const kind of ['audio', 'video']) {
      const caps = RTCRtpReceiver.getCapabilities?.(kind);
      if (!caps) continue;
      // Chromium leaves header extensions out of getCapabilities() that it can negotiate when
      // asked (the AV1 dependency descriptor): list them, and accept them in answers.
      const listed = new Set(caps.headerExtensions.map((e) => e.uri));
      for (const uri of negotiableHeaderExtensions(kind)) {
        if (!listed.has(uri)) caps.headerExtensions.push({ uri, direction: 'recvonly' });
      }
      capabilities[kind] = caps;
    }
    const message = { type: 'join', room };
    if (name) message.name = name;
    if (token) message.token = token;
    if (Object.keys(capabilities).length) message.rtpCapabilities = capabilities;
    if (replaces) message.replaces = replaces;
    const reply = await this._request(message); // 'joined' / 'full' are also handled in _onMessage
    if (reply.type === 'joined') {
      this._joinArgs = { room, name, token };
      this._learnNodes(reply.nodes);
    }
    return reply;
  }

  // A cluster's `joined` names its live nodes (HOST:PORT, this one first): they go into the
  // list after the current URL, with its scheme, those already there left where they are.
  _learnNodes(nodes) {
    if (!Array.isArray(nodes) || !this._url) return;
    const scheme = this._url.startsWith('wss:') ? 'wss' : 'ws';
    const fresh = [];
    for (const node of nodes) {
      if (typeof node !== 'string' || node === '') continue;
      const url = `${scheme}://${node}/ws`;
      if (![...this._urls, ...fresh].some((known) => sameUrl(known, url))) fresh.push(url);
    }
    const at = this._urls.findIndex((known) => sameUrl(known, this._url)) + 1;
    this._urls.splice(at > 0 ? at : this._urls.length, 0, ...fresh);
  }

  /** ICE restart on both media connections: new credentials, same DTLS session. */
  async restartIce() {
    await Promise.all([this._restartIce('publish'), this._restartIce('subscribe')]);
  }

  _restartIce(connection) {
    clearTimeout(this._iceTimers.get(connection));
    this._iceTimers.delete(connection);
    if (!this.id) return Promise.resolve();
    if (connection === 'subscribe') {
      // The server offers on this connection: it restarts and sends new credentials.
      if (!this._subPc || !this.connected) return Promise.resolve();
      this._emit('ice-restart', { connection });
      this._send({ type: 'restart-ice' }); // answered by a subscribe-offer
      return Promise.resolve();
    }
    if (!this._pubPc) return Promise.resolve();
    this._emit('ice-restart', { connection });
    const run = async () => {
      if (!this._pubPc) return;
      await this._negotiatePublish({ iceRestart: true });
    };
    const result = this._pubChain.then(run);
    this._pubChain = result.catch(() => {});
    return result;
  }

  _pcConfig() {
    return { ...PC_CONFIG, iceServers: this._iceServers, iceTransportPolicy: this._iceTransportPolicy };
  }

  // The ICE servers of `joined` or `resumed`: new connections take them, and the open ones
  // too (fresh credentials for the next allocation or ICE restart).
  _setIceServers(iceServers) {
    const next = Array.isArray(iceServers) ? iceServers : [];
    const changed = JSON.stringify(next) !== JSON.stringify(this._iceServers);
    this._iceServers = next;
    for (const pc of [this._pubPc, this._subPc]) {
      if (!pc || !changed) continue;
      try {
        pc.setConfiguration({ ...pc.getConfiguration(), iceServers: this._iceServers });
      } catch (err) {
        this._emit('error', { code: 'ice-servers', message: String(err) });
      }
    }
    if (this._iceTransportPolicy === 'relay' && this._iceServers.length === 0) {
      this._emit('error', {
        code: 'no-relay',
        message: 'relay-only, but the server names no TURN relay (--turn-url): media cannot connect',
      });
    }
  }

  // Restarts ICE when a connection's ICE fails, or stays disconnected for a while.
  _watchIce(pc, connection) {
    pc.addEventListener('icecandidateerror', (e) => {
      this._emit('ice-candidate-error', {
        connection, url: e.url, errorCode: e.errorCode, errorText: e.errorText,
      });
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      const state = pc.iceConnectionState;
      clearTimeout(this._iceTimers.get(connection));
      this._iceTimers.delete(connection);
      if (state === 'failed') {
        this._restartIce(connection).catch(() => {});
      } else if (state === 'disconnected') {
        this._iceTimers.set(connection, setTimeout(() => {
          if (pc.iceConnectionState === 'disconnected') this._restartIce(connection).catch(() => {});
        }, ICE_DISCONNECTED_RESTART_MS));
      }
    });
  }

  // --- Reconnection ----------------------------------------------------------------------------

  _startHeartbeat() {
    this._stopHeartbeat();
    this._heartbeat = setInterval(() => {
      if (!this.connected || this._reconnecting) return;
      const ws = this._ws;
      this._request({ type: 'ping' }, HEARTBEAT_TIMEOUT_MS).catch((err) => {
        if (err.code !== 'timeout' || this._ws !== ws) return;
        // No pong: the connection is dead though the socket does not know it yet. Give up on
        // it without a close frame (that would end the session if it got through late): the
        // server closes it when the resume takes over.
        this._socketGone(ws, 4000, 'no pong');
      });
    }, HEARTBEAT_MS);
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeat);
    this._heartbeat = null;
  }

  _startReconnect() {
    const room = this.room;
    const token = this.resumeToken;
    const epoch = this._epoch;
    const since = Date.now();
    // Our data channels as the break found them: the dead node's connection closes them soon.
    const channels = this._ownChannelsToReopen();
    this._emit('reconnecting', { room });
    let triedElsewhere = false;
    this._reconnecting = (async () => {
      const here = await this._resumeHere(token, since);
      if (here !== 'elsewhere') return here === 'resumed';
      triedElsewhere = true;
      return this._failOver(since, channels);
    })();
    this._reconnecting.then((outcome) => {
      this._reconnecting = null;
      if (outcome || this._epoch !== epoch) return; // back, or left meanwhile
      this._endSession();
      this.participants.clear();
      this._emit('room-closed', { room, reason: triedElsewhere ? 'unreachable' : 'resume-failed' });
    });
  }

  // Resumes the session on the URL it was on until the grace period runs out. Resolves
  // 'resumed'; 'elsewhere' when the list has other URLs and the session cannot come back here
  // (the URL refused for FAILOVER_AFTER_MS: its node is gone; `resume-failed`; the grace period
  // over); 'failed' otherwise (a single server: as before fail-over existed).
  async _resumeHere(token, since) {
    const deadline = since + this._resumeGraceMs;
    const canFailOver = this._urls.some((url) => !sameUrl(url, this._url));
    const abandoned = () => this._closing || this.resumeToken !== token;
    let delay = 100;
    let refusedSince = null; // the first of the refusals in a row
    while (!abandoned() && Date.now() < deadline) {
      let wait = delay;
      delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
      // The back-off must not carry the decision to move on far past FAILOVER_AFTER_MS.
      if (canFailOver && refusedSince !== null) {
        wait = Math.max(0, Math.min(wait, refusedSince + FAILOVER_AFTER_MS - Date.now()));
      }
      await sleep(wait);
      if (abandoned()) break;
      try {
        await this._open(this._url);
      } catch {
        refusedSince ??= Date.now();
        if (canFailOver && Date.now() - refusedSince >= FAILOVER_AFTER_MS) return 'elsewhere';
        continue; // server unreachable yet
      }
      refusedSince = null;
      try {
        await this._request({ type: 'resume', resumeToken: token });
        return 'resumed'; // 'resumed' was handled in _onMessage
      } catch (err) {
        if (err.code === 'resume-failed') return canFailOver ? 'elsewhere' : 'failed';
        // The new socket broke too: try again.
      }
    }
    return canFailOver && !abandoned() ? 'elsewhere' : 'failed';
  }

  // The session cannot come back where it was: joins the same room through the other URLs of
  // the list in turn (then the one it was on), until one takes it or FAILOVER_DEADLINE_MS from
  // the break (`since`) passes. Resolves 'failover' (and emits it) or false. `channels`: our
  // data channels at the break (_ownChannelsToReopen).
  async _failOver(since, channels) {
    const from = this._url;
    const epoch = this._epoch;
    const saved = this._savedSession(channels);
    const formerIds = new Set([this.id]);
    this._failingOver = true;
    try {
      // The old node's media connections go: their tracks end, the new node offers them again.
      this._teardownMedia();
      const deadline = since + FAILOVER_DEADLINE_MS;
      const over = () => this._closing || this._epoch !== epoch || Date.now() >= deadline;
      for (let delay = 100; !over(); delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS)) {
        for (const url of this._failoverOrder(from)) {
          if (over()) break;
          const reopened = await this._rejoinAt(url, saved, formerIds);
          if (!reopened) continue;
          if (this._closing || this._epoch !== epoch) {
            // Left or closed while joining there: that session ends as well.
            if (this.connected) this._send({ type: 'leave' });
            this._endSession();
            this.participants.clear();
            return false;
          }
          this._emit('failover', { from, to: url, room: this.room, id: this.id, channels: reopened });
          return 'failover';
        }
        await sleep(delay);
      }
      return false;
    } finally {
      this._failingOver = false;
    }
  }

  // Where a fail-over from `from` tries: the URLs after it in the list, those before it, and
  // itself last (its node may be back).
  _failoverOrder(from) {
    const at = this._urls.findIndex((url) => sameUrl(url, from));
    if (at < 0) return [...this._urls, from];
    return [...this._urls.slice(at + 1), ...this._urls.slice(0, at), this._urls[at]];
  }

  // What a fail-over needs to take the session to another node: the join, what we sent and the
  // participants the application knows of.
  _savedSession(channels) {
    const sharing = this._screenTransceiver?.direction === 'sendonly' &&
      this.screenTrack?.readyState === 'live';
    return {
      room: this.room,
      name: this._joinArgs?.name,
      token: this._joinArgs?.token,
      replaces: this.resumeToken,
      stream: this.localStream,
      publishOptions: this._publishOptions,
      screen: sharing ? { track: this.screenTrack, options: this._screenOptions } : null,
      channels,
      known: new Map(this.participants),
    };
  }

  // Our data channels that are open or opening, with what it takes to open them again.
  _ownChannelsToReopen() {
    return [...this._ownChannels]
      .filter((c) => c.readyState === 'connecting' || c.readyState === 'open')
      .map((channel) => ({ channel, label: channel.label, init: channelInit(channel) }));
  }

  // One try of a fail-over: joins `saved.room` at `url` and sends again what was sent. Resolves
  // with the data channels reopened ([{ previous, channel }]), or null when `url` did not take
  // the session (nothing left open there). formerIds: our participant ids of the sessions left
  // behind (collects this one's too).
  async _rejoinAt(url, saved, formerIds) {
    if (this._pubPc || this._subPc) this._teardownMedia(); // a try that failed half-way
    this._url = url;
    try {
      await this._open(url);
    } catch {
      return null; // refused or timed out: its node is gone too
    }
    const ws = this._ws;
    try {
      const reply = await this.join(saved.room, saved.name, { token: saved.token, replaces: saved.replaces });
      if (reply.type !== 'joined') throw new SwitchboardError('full', `room ${saved.room} is full at ${url}`);
    } catch {
      if (this._ws === ws) ws.close(1000, 'fail-over elsewhere');
      return null;
    }
    // From here on the session is this one: a later try ends it (its resume token replaces).
    saved.replaces = this.resumeToken;
    formerIds.add(this.id);
    // Our old self may still be listed until the dead node is purged (a few seconds): it is not
    // someone else, and its tracks are not offered to us as someone's.
    for (const id of formerIds) {
      if (id !== this.id) this.participants.delete(id);
    }
    this._announceParticipantChanges(saved.known);
    saved.known = new Map(this.participants);
    try {
      return await this._republish(saved);
    } catch (err) {
      if (this.connected && this._ws === ws) {
        // In the room but something we sent was refused: the session goes on without it.
        this._emit('error', { code: 'failover-publish', message: `republishing after a fail-over: ${err.message ?? err}` });
        return [];
      }
      return null; // this socket broke as well: on to the next URL
    }
  }

  // After a join elsewhere: who left and came compared with what the application knew (the
  // participants of the dead node are gone, another fail-over's new participants came).
  _announceParticipantChanges(known) {
    for (const [id, participant] of known) {
      if (!this.participants.has(id)) this._emit('participant-left', { id, participant });
    }
    for (const [id, participant] of this.participants) {
      this._emit(known.has(id) ? 'participant-updated' : 'participant-joined', { participant });
    }
  }

  // Sends again, on the new session, what the old one sent: the camera/microphone stream with
  // its options (and mutes), the screen share, our data channels (same labels and reliability;
  // one addressed to a participant no longer here is not reopened). Resolves with
  // [{ previous, channel }] for the channels.
  async _republish(saved) {
    if (saved.stream) {
      await this.publish(saved.stream, saved.publishOptions);
      for (const track of saved.stream.getTracks()) {
        if (!track.enabled) this._send({ type: 'mute', kind: track.kind, muted: true });
      }
    }
    if (saved.screen?.track.readyState === 'live') {
      await this.shareScreen(saved.screen.track, saved.screen.options);
    }
    const channels = [];
    for (const { channel, label, init } of saved.channels) {
      if (init.to && !this.participants.has(init.to)) continue;
      channels.push({ previous: channel, channel: this.openDataChannel(label, init) });
    }
    return channels;
  }

  // A request that, if the connection breaks before its reply, is sent again once resumed
  // (not after a fail-over: the new node has other connections; nor during one: the
  // fail-over's own requests fail and it tries the next URL).
  async _requestAcrossReconnect(message) {
    for (;;) {
      try {
        return await this._request(message);
      } catch (err) {
        const reconnecting = this._reconnecting;
        if (err.code !== 'closed' || !reconnecting || this._failingOver) throw err;
        if ((await reconnecting) !== true) throw err;
      }
    }
  }

  _publishingPc() {
    if (!this._pubPc) {
      const pc = new RTCPeerConnection(this._pcConfig());
      this._pubPc = pc;
      this._watchIce(pc, 'publish');
      pc.addEventListener('datachannel', (e) => {
        if (this._pubPc === pc) this._onRemoteDataChannel(e.channel);
      });
    }
    return this._pubPc;
  }

  // --- Data channels -------------------------------------------------------------------------

  /** Opens a data channel on the publishing connection: see the header comment. */
  openDataChannel(label, { ordered = true, maxRetransmits, maxPacketLifeTime, to } = {}) {
    if (typeof label !== 'string') throw new TypeError('openDataChannel: label must be a string');
    if (to !== undefined && (typeof to !== 'string' || to === '')) {
      throw new TypeError('openDataChannel: to must be a participant id');
    }
    if (maxRetransmits !== undefined && maxPacketLifeTime !== undefined) {
      throw new TypeError('openDataChannel: give maxRetransmits or maxPacketLifeTime, not both');
    }
    if (!this.id) throw new SwitchboardError('not-joined', 'not in a room', 'publish');
    const pc = this._publishingPc();
    // The protocol names the receiver; empty: everyone else in the room (docs/protocol.md).
    const init = { ordered: !!ordered, protocol: to ?? '' };
    if (maxRetransmits !== undefined) init.maxRetransmits = maxRetransmits;
    if (maxPacketLifeTime !== undefined) init.maxPacketLifeTime = maxPacketLifeTime;
    const channel = pc.createDataChannel(label, init);
    channel.binaryType = 'arraybuffer';
    this._ownChannels.add(channel);
    channel.addEventListener('close', () => this._ownChannels.delete(channel));
    if (this._dataPc !== pc) {
      // The first channel needs an m=application: a publish offer, in turn with the others. An
      // offer already under way (publish()) may carry it; then there is nothing left to do.
      this._dataPc = pc;
      const run = async () => {
        if (this._pubPc !== pc) return;
        if (/^m=application /m.test(pc.localDescription?.sdp ?? '')) return;
        await this._negotiatePublish();
      };
      const result = this._pubChain.then(run);
      this._pubChain = result.catch(() => {});
      result.catch((err) => {
        if (this._pubPc !== pc) return;
        this._dataPc = null;
        for (const c of [...this._ownChannels]) c.close();
        this._emit('error', {
          code: 'data-channel-failed', message: `data channels not negotiated: ${err.message ?? err}`,
          inReplyTo: 'publish',
        });
      });
    }
    return channel;
  }

  dataChannels() {
    return [...this._receivedChannels].map((channel) => ({
      channel, from: channel.protocol, label: channel.label,
    }));
  }

  _onRemoteDataChannel(channel) {
    channel.binaryType = 'arraybuffer';
    this._receivedChannels.add(channel);
    channel.addEventListener('close', () => this._receivedChannels.delete(channel));
    this._emit('datachannel', { channel, from: channel.protocol, label: channel.label });
  }

  // The microphone's or camera's transceiver (not the screen share's).
  _mainTransceiver(kind) {
    return this._pubPc?.getTransceivers().find(
      (t) => t !== this._screenTransceiver && t.receiver.track.kind === kind,
    );
  }

  // Offers the publishing connection's state and applies the server's answer. The offer says
  // which m-line is the screen share (`sources`), every time: the server reads it for a track
  // that starts.
  async _negotiatePublish(options) {
    const pc = this._pubPc;
    const offer = await pc.createOffer(options);
    await pc.setLocalDescription(offer);
    const message = { type: 'publish', sdp: pc.localDescription.sdp };
    const screenMid = this._screenTransceiver?.mid;
    if (screenMid != null && this._screenTransceiver.direction === 'sendonly') {
      message.sources = { [screenMid]: 'screen' };
    }
    // ICE-lite server: no need to wait for gathering, it ignores our candidates anyway.
    const reply = await this._requestAcrossReconnect(message);
    await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
  }

  /** Publishes (or republishes) the tracks of `stream` on the publishing connection. */
  publish(stream, { videoCodec, videoEncodings } = {}) {
    const run = async () => {
      this.localStream = stream;
      const pc = this._publishingPc();
      let changed = false;
      for (const track of stream.getTracks()) {
        // A transceiver of that kind that we already negotiated: swap the track in place.
        const existing = this._mainTransceiver(track.kind);
        if (existing) {
          if (existing.sender.track !== track) await existing.sender.replaceTrack(track);
        } else {
          const init = { direction: 'sendonly', streams: [stream] };
          if (track.kind === 'video' && videoEncodings?.length) {
            init.sendEncodings = videoEncodings.map((e) => ({ ...e }));
          }
          const transceiver = pc.addTransceiver(track, init);
          if (track.kind === 'video' && videoCodec) preferCodec(transceiver, videoCodec);
          // Kept for a fail-over, which publishes the camera anew elsewhere.
          if (track.kind === 'video') this._publishOptions = { videoCodec, videoEncodings };
          changed = true;
        }
      }
      if (!changed) return;
      await this._negotiatePublish();
    };
    const result = this._pubChain.then(run);
    this._pubChain = result.catch(() => {});
    return result;
  }

  /** Sends `track` as our screen share: see the header comment. */
  shareScreen(track, { videoCodec, maxBitrate } = {}) {
    if (!track || track.kind !== 'video') {
      return Promise.reject(new TypeError('shareScreen: a video track is needed'));
    }
    if (!this.id) return Promise.reject(new SwitchboardError('not-joined', 'not in a room', 'publish'));
    this._watchScreenTrack(track);
    this._screenOptions = { videoCodec, maxBitrate }; // for a fail-over
    const run = async () => {
      if (this.screenTrack !== track) return; // stopped or replaced before its turn
      const pc = this._publishingPc();
      let transceiver = this._screenTransceiver;
      if (transceiver && transceiver.currentDirection !== 'stopped') {
        // The m-line of an earlier share, kept inactive: the same one again.
        await transceiver.sender.replaceTrack(track);
        transceiver.direction = 'sendonly';
      } else {
        const init = { direction: 'sendonly', streams: [new MediaStream([track])] };
        if (maxBitrate) init.sendEncodings = [{ maxBitrate }];
        transceiver = pc.addTransceiver(track, init);
        if (videoCodec) preferCodec(transceiver, videoCodec);
        this._screenTransceiver = transceiver;
      }
      await this._negotiatePublish();
    };
    const result = this._pubChain.then(run);
    this._pubChain = result.catch(() => {});
    return result;
  }

  /** Stops sending our screen share (see the header comment). */
  stopScreenShare() {
    this._watchScreenTrack(null);
    const run = async () => {
      const transceiver = this._screenTransceiver;
      if (!transceiver || transceiver.direction !== 'sendonly' || !this._pubPc) return;
      if (this.screenTrack) return; // shared again meanwhile: that share's turn replaces it
      // The m-line stays, inactive: the server closes the share's producer, every subscriber's
      // track of it ends, and the next share goes out on it again.
      transceiver.direction = 'inactive';
      await transceiver.sender.replaceTrack(null);
      await this._negotiatePublish();
    };
    const result = this._pubChain.then(run);
    this._pubChain = result.catch(() => {});
    return result;
  }

  // Follows the shared track: when it ends (the browser's own "stop sharing" button, a closed
  // window) the share stops.
  _watchScreenTrack(track) {
    if (this.screenTrack && this._screenEnded) {
      this.screenTrack.removeEventListener('ended', this._screenEnded);
    }
    this.screenTrack = track;
    this._screenEnded = null;
    if (!track) return;
    this._screenEnded = () => {
      if (this.screenTrack !== track) return;
      this.stopScreenShare().catch(() => {});
      this._emit('screen-share-ended', { track });
    };
    track.addEventListener('ended', this._screenEnded);
  }

  /** Starts or stops sending the simulcast layer `rid` of the published video. */
  async setEncodingActive(rid, active) {
    const sender = this._mainTransceiver('video')?.sender;
    if (!sender?.track) throw new Error('no video is published');
    const params = sender.getParameters();
    const encoding = params.encodings?.find((e) => e.rid === rid);
    if (!encoding) throw new Error(`the published video has no layer '${rid}'`);
    encoding.active = !!active;
    await sender.setParameters(params);
  }

  // Dynacast (the server's `layers`): the simulcast encodings of our track on `mid` above
  // maxLayer stop, those at or under it run.
  async _applyLayers(mid, maxLayer) {
    const transceiver = this._pubPc?.getTransceivers().find((t) => t.mid === mid);
    const sender = transceiver?.sender;
    if (!sender || !Number.isInteger(maxLayer)) return;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    params.encodings.forEach((encoding, i) => {
      const active = i <= maxLayer;
      if (encoding.active !== active) {
        encoding.active = active;
        changed = true;
      }
    });
    if (changed) await sender.setParameters(params);
    this._emit('layers', { mid, maxLayer });
  }

  /** This client's preference for one track it receives: see the header comment. */
  setSubscription(producerId, { maxLayer, paused, pinned } = {}) {
    if (typeof producerId !== 'string' || producerId === '') {
      throw new TypeError('setSubscription: producerId must be a non-empty string');
    }
    const message = { type: 'subscription', producerId };
    if (maxLayer !== undefined) {
      if (maxLayer !== null && !(Number.isInteger(maxLayer) && maxLayer >= 0 && maxLayer <= MAX_LAYER)) {
        throw new TypeError(`setSubscription: maxLayer must be an integer 0-${MAX_LAYER} or null`);
      }
      message.maxLayer = maxLayer;
    }
    if (paused !== undefined) {
      if (typeof paused !== 'boolean') throw new TypeError('setSubscription: paused must be a boolean');
      message.paused = paused;
    }
    if (pinned !== undefined) {
      if (typeof pinned !== 'boolean') throw new TypeError('setSubscription: pinned must be a boolean');
      message.pinned = pinned;
    }
    if (message.maxLayer === undefined && message.paused === undefined && message.pinned === undefined) {
      throw new TypeError('setSubscription: give maxLayer, paused or pinned');
    }
    if (!this.id) throw new SwitchboardError('not-joined', 'not in a room', 'subscription');
    this._send(message);
  }

  /** The producerId of `participantId`'s live `kind` track from `source`, or null. */
  producerIdOf(participantId, kind = 'video', source = defaultSource(kind)) {
    for (const rec of this._remote.values()) {
      if (rec.participantId === participantId && rec.kind === kind && rec.source === source) {
        return rec.producerId;
      }
    }
    return null;
  }

  remoteTracks() {
    return [...this._remote.values()].map((rec) => this._public(rec));
  }

  setMuted(kind, muted) {
    for (const track of this.localStream?.getTracks() ?? []) {
      if (track.kind === kind) track.enabled = !muted;
    }
    if (this.id) this._send({ type: 'mute', kind, muted: !!muted });
  }

  async leave() {
    if (!this.id) return;
    try {
      if (this.connected && !this._reconnecting) await this._request({ type: 'leave' });
    } finally {
      this._endSession(); // also stops a reconnection in progress (no resume token left)
      this.participants.clear();
    }
  }

  async close() {
    this._closing = true;
    try {
      await this.leave();
    } catch {
      // closing anyway
    }
    this._ws?.close(1000, 'bye');
  }

  async ping() {
    const start = performance.now();
    await this._request({ type: 'ping' });
    return performance.now() - start;
  }

  async getStats() {
    return {
      publish: this._pubPc ? await this._pubPc.getStats() : null,
      subscribe: this._subPc ? await this._subPc.getStats() : null,
    };
  }

  async getCandidatePairs() {
    const pairOf = async (pc) => {
      if (!pc) return null;
      const report = await pc.getStats();
      let pair = null;
      for (const s of report.values()) {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          pair = report.get(s.selectedCandidatePairId);
        }
      }
      if (!pair) return null;
      const local = report.get(pair.localCandidateId);
      const remote = report.get(pair.remoteCandidateId);
      return {
        state: pair.state,
        local: local && { candidateType: local.candidateType, protocol: local.protocol,
          relayProtocol: local.relayProtocol, address: local.address, port: local.port,
          url: local.url },
        remote: remote && { candidateType: remote.candidateType, protocol: remote.protocol,
          address: remote.address, port: remote.port },
      };
    };
    return { publish: await pairOf(this._pubPc), subscribe: await pairOf(this._subPc) };
  }

  async getReceiverStats() {
    const out = [];
    if (!this._subPc) return out;
    for (const t of this._subPc.getTransceivers()) {
      const rec = t.mid != null ? this._remote.get(t.mid) : null;
      if (!rec) continue;
      const report = await t.receiver.getStats();
      for (const s of report.values()) {
        if (s.type !== 'inbound-rtp') continue;
        out.push({
          participantId: rec.participantId, kind: rec.kind, source: rec.source, mid: rec.mid,
          producerId: rec.producerId,
          mimeType: report.get(s.codecId)?.mimeType,
          framesDecoded: s.framesDecoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight,
          packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
          bytesReceived: s.bytesReceived, jitter: s.jitter,
          totalSamplesReceived: s.totalSamplesReceived, concealedSamples: s.concealedSamples,
          freezeCount: s.freezeCount, nackCount: s.nackCount,
        });
      }
    }
    return out;
  }

  async getSenderStats() {
    const out = [];
    if (!this._pubPc) return out;
    for (const sender of this._pubPc.getSenders()) {
      if (!sender.track) continue;
      const report = await sender.getStats();
      for (const s of report.values()) {
        if (s.type !== 'outbound-rtp') continue;
        const source = sender === this._screenTransceiver?.sender ? 'screen' : defaultSource(sender.track.kind);
        out.push({ kind: sender.track.kind, source, rid: s.rid, packetsSent: s.packetsSent,
          bytesSent: s.bytesSent, framesSent: s.framesSent, frameWidth: s.frameWidth,
          frameHeight: s.frameHeight, framesPerSecond: s.framesPerSecond,
          qualityLimitationReason: s.qualityLimitationReason });
      }
    }
    return out;
  }

  // --- Signaling ---------------------------------------------------------------------------

  _send(message) {
    if (!this.connected) throw new SwitchboardError('closed', 'not connected');
    this._ws.send(JSON.stringify(message));
  }

  _request(message, timeoutMs = REQUEST_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const requestId = this._nextRequestId++;
      const timer = setTimeout(() => {
        this._pending.delete(requestId);
        reject(new SwitchboardError('timeout', `no reply to ${message.type}`, message.type));
      }, timeoutMs);
      this._pending.set(requestId, { resolve, reject, timer });
      try {
        this._send({ ...message, requestId });
      } catch (err) {
        clearTimeout(timer);
        this._pending.delete(requestId);
        reject(err);
      }
    });
  }

  _settle(message) {
    const pending = this._pending.get(message.requestId);
    if (!pending) return;
    this._pending.delete(message.requestId);
    clearTimeout(pending.timer);
    if (message.type === 'error') {
      pending.reject(new SwitchboardError(message.code, message.message, message.inReplyTo));
    } else {
      pending.resolve(message);
    }
  }

  _rejectAll(error) {
    for (const { reject, timer } of this._pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this._pending.clear();
  }

  _onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this._emit('error', { code: 'bad-json', message: 'unparsable message from server' });
      return;
    }
    switch (msg.type) {
      case 'joined':
        this.id = msg.id;
        this.room = msg.room;
        this.resumeToken = msg.resumeToken ?? null;
        this._resumeGraceMs = msg.resumeGraceMs ?? 0;
        this.participants = new Map((msg.participants ?? []).map((p) => [p.id, p]));
        this.activeSpeaker = msg.activeSpeaker ?? null;
        this._setIceServers(msg.iceServers);
        this._startHeartbeat();
        this._emit('joined', { room: msg.room, id: msg.id, participants: msg.participants ?? [] });
        if (this.activeSpeaker) this._emit('active-speaker', { participantId: this.activeSpeaker });
        break;
      case 'resumed': {
        // What happened while we were away: who left, who came, who changed.
        const now = new Map((msg.participants ?? []).map((p) => [p.id, p]));
        for (const [id, participant] of [...this.participants]) {
          if (now.has(id)) continue;
          this.participants.delete(id);
          for (const [mid, rec] of this._remote) {
            if (rec.participantId === id) this._endTrack(mid);
          }
          this._emit('participant-left', { id, participant });
        }
        for (const [id, participant] of now) {
          const known = this.participants.has(id);
          this.participants.set(id, participant);
          this._emit(known ? 'participant-updated' : 'participant-joined', { participant });
        }
        this.resumeToken = msg.resumeToken ?? this.resumeToken;
        this._setIceServers(msg.iceServers);
        this._startHeartbeat();
        this._emit('resumed', { room: msg.room, id: msg.id, participants: msg.participants ?? [] });
        break;
      }
      case 'full':
        this._emit('full', { room: msg.room, capacity: msg.capacity });
        break;
      case 'participant-joined':
      case 'participant-updated':
        this.participants.set(msg.participant.id, msg.participant);
        this._emit(msg.type, { participant: msg.participant });
        break;
      case 'participant-left': {
        const participant = this.participants.get(msg.id) ?? { id: msg.id };
        this.participants.delete(msg.id);
        for (const [mid, rec] of this._remote) {
          if (rec.participantId === msg.id) this._endTrack(mid);
        }
        this._emit('participant-left', { id: msg.id, participant });
        break;
      }
      case 'layers':
        this._applyLayers(msg.mid, msg.maxLayer).catch((err) =>
          this._emit('error', { code: 'layers-failed', message: String(err) }),
        );
        break;
      case 'active-speaker':
        this.activeSpeaker = msg.participantId;
        this._emit('active-speaker', { participantId: msg.participantId });
        break;
      case 'subscribe-offer':
        this._subChain = this._subChain
          .then(() => this._onSubscribeOffer(msg))
          .catch((err) => {
            if (this.id) this._emit('error', { code: 'subscribe-failed', message: String(err) });
          });
        break;
      case 'data-channel-closed': {
        const channel = [...this._receivedChannels].find(
          (c) => c.protocol === msg.from && c.label === msg.label,
        ) ?? null;
        // The server reset the stream as well; closing our end makes sure it is gone here too.
        channel?.close();
        this._emit('data-channel-closed', {
          from: msg.from, label: msg.label, reason: msg.reason, channel,
        });
        break;
      }
      case 'room-closed':
        this._endSession();
        this.participants.clear();
        this._emit('room-closed', { room: msg.room, reason: msg.reason });
        break;
      case 'error':
        if (!this._pending.has(msg.requestId)) {
          this._emit('error', { code: msg.code, message: msg.message, inReplyTo: msg.inReplyTo });
        }
        break;
      default:
        break; // publish-answer, left, pong: only settle their request
    }
    if (msg.requestId !== undefined) this._settle(msg);
  }

  // --- Subscribing -------------------------------------------------------------------------

  async _onSubscribeOffer(msg) {
    if (!this.id) return; // left meanwhile
    if (!this._subPc) {
      this._subPc = new RTCPeerConnection(this._pcConfig());
      this._subPc.ontrack = (e) => {
        if (e.streams[0]) this._msidByTrack.set(e.track.id, e.streams[0].id);
      };
      this._watchIce(this._subPc, 'subscribe');
    }
    const pc = this._subPc;
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      acceptOfferedHeaderExtensions(pc, msg.sdp);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
    } catch (err) {
      if (pc !== this._subPc) return;
      // Tell the server, which offers again; leave the connection as it was.
      if (pc.signalingState === 'have-remote-offer') {
        await pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
      }
      if (this.connected) this._send({ type: 'subscribe-answer', offerId: msg.offerId, error: String(err) });
      throw err;
    }
    if (pc !== this._subPc) return; // torn down while we were answering
    if (this.connected) {
      this._send({ type: 'subscribe-answer', offerId: msg.offerId, sdp: pc.localDescription.sdp });
    }
    this._reconcile(msg.streams ?? []);
  }

  /** Brings the emitted tracks in line with the receiving transceivers and `streams`. */
  _reconcile(streams) {
    const byMid = new Map(streams.map((s) => [String(s.mid), s]));
    const receiving = new Map();
    for (const t of this._subPc.getTransceivers()) {
      const dir = t.currentDirection;
      if (t.mid == null || (dir !== 'recvonly' && dir !== 'sendrecv')) continue;
      const track = t.receiver.track;
      const info = byMid.get(t.mid);
      const participantId = info?.participantId ?? this._msidByTrack.get(track.id);
      if (!participantId) continue;
      const kind = info?.kind ?? track.kind;
      receiving.set(t.mid, {
        mid: t.mid, track, participantId, kind,
        source: info?.source ?? defaultSource(kind),
        producerId: info?.producerId ?? null,
        // What tells one track on this mid from the next (a mid is reused).
        key: info?.producerId ?? track.id,
      });
    }
    for (const [mid, rec] of [...this._remote]) {
      const now = receiving.get(mid);
      if (!now || now.key !== rec.key || now.participantId !== rec.participantId) {
        this._endTrack(mid);
      }
    }
    for (const [mid, rec] of receiving) {
      if (this._remote.has(mid)) continue;
      if (rec.participantId === this.id) continue; // never our own media
      // An offer handled after `participant-left` (offers are applied asynchronously) must
      // not bring back the tracks of someone who is gone.
      if (!this.participants.has(rec.participantId)) continue;
      this._remote.set(mid, rec);
      // A screen share has a stream of its own: the app shows it apart from the camera.
      const streams = this._streamsOf(rec);
      let stream = streams.get(rec.participantId);
      if (!stream) {
        stream = new MediaStream();
        streams.set(rec.participantId, stream);
      }
      for (const old of stream.getTracks()) {
        if (old.kind === rec.kind && old !== rec.track) stream.removeTrack(old);
      }
      if (!stream.getTracks().includes(rec.track)) stream.addTrack(rec.track);
      this._emit('track', { ...this._public(rec), stream });
    }
  }

  _endTrack(mid) {
    const rec = this._remote.get(mid);
    if (!rec) return;
    this._remote.delete(mid);
    const streams = this._streamsOf(rec);
    const stream = streams.get(rec.participantId);
    if (stream) {
      stream.removeTrack(rec.track);
      if (stream.getTracks().length === 0) streams.delete(rec.participantId);
    }
    this._emit('track-ended', { ...this._public(rec), stream: stream ?? null });
  }

  _streamsOf(rec) {
    return rec.source === 'screen' ? this.screenStreams : this.remoteStreams;
  }

  _public(rec) {
    return {
      participantId: rec.participantId, kind: rec.kind, source: rec.source, track: rec.track,
      mid: rec.mid, producerId: rec.producerId,
    };
  }

  _teardownMedia() {
    for (const timer of this._iceTimers.values()) clearTimeout(timer);
    this._iceTimers.clear();
    for (const mid of [...this._remote.keys()]) this._endTrack(mid);
    this._pubPc?.close();
    this._subPc?.close();
    this._pubPc = null;
    this._subPc = null;
    this._dataPc = null;
    // Closing the connection closes its channels; the sets are emptied by their 'close' events,
    // which may come later.
    this._ownChannels.clear();
    this._receivedChannels.clear();
    this._screenTransceiver = null;
    this._watchScreenTrack(null);
    this._pubChain = Promise.resolve();
    this._subChain = Promise.resolve();
    this._msidByTrack.clear();
    this.remoteStreams.clear();
    this.screenStreams.clear();
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
