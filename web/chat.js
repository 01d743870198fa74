// The room's chat and file transfer: data channels through the server (docs/protocol.md, "Data
// channels"), on the page of app.js. Every participant opens two channels to the whole room on
// joining, 'chat' (reliable, ordered) and 'file' (reliable, ordered), and the server opens the
// others' two on its connection, so a participant without camera or microphone chats too.
//
// DOM (for people and for tests):
//   #chat-log li.chat-entry       one per message, file or notice, oldest first; .self for ours
//   [data-chat-from=ID]           the text of a message received from participant ID (only the
//                                 text: its name and time are beside it); ours: [data-chat-self]
//   #chat-input                   Enter sends (Shift+Enter too: one line per message)
//   input#file-input[type=file]   sends the picked files to everyone; dropping files on the chat
//                                 panel does the same
//   a[download][data-file-from=ID][data-file-size=N]  a file received from ID, complete: href is
//                                 a blob: URL of exactly the sender's bytes; its text is the name
//   li[data-file-out][data-file-state]  a file we send: "queued" | "sending" | "sent" | "failed",
//                                 with progress[data-file-progress] (bytes handed to the network
//                                 of the size)
//   li[data-file-in][data-file-state]   a file being received: "receiving" | "received" |
//                                 "failed"
//
// The 'file' channel's framing (this app's own; the server forwards messages as they are): a
// string {"type":"file-start","id","name","size","mime"}, then the bytes as binary messages of
// FILE_CHUNK_BYTES (the last one shorter), then {"type":"file-end","id"}, or
// {"type":"file-abort","id"} when the sender gave up. One file at a time per sender; a receiver
// that joins in the middle of one ignores binary messages until the next file-start.
// Receivers confirm what they got on a channel 'file-ack' of their own addressed to the sender
// (opened at their first file from it): {"type":"file-ack","id","received"} every
// FILE_ACK_BYTES and at the end. The sender keeps at most FILE_WINDOW_BYTES ahead of the slowest
// receiver that was in the room when the file started (one that leaves, or confirms nothing for
// ACK_STALL_MS, is no longer waited for): the server forwards to each receiver at its own pace and
// holds only a few MiB for one that falls behind before closing its channel.

// 16 KiB: the message size every browser's SCTP stack sends and receives without trouble, and
// small enough that a chunk does not hold the association long (no message interleaving in
// browsers yet, RFC 8260): the chat's messages get through between two chunks.
const FILE_CHUNK_BYTES = 16 * 1024;
// Bytes read from the file at a time (then cut into chunks).
const FILE_READ_BYTES = 1024 * 1024;
// Pacing: stop handing chunks to the channel when this much is queued in it, go on when it is
// down to FILE_LOW_WATER_BYTES ('bufferedamountlow'). The server holds only a few MiB for a slow
// receiver (docs/protocol.md): with 1 MiB in our own queue, the progress bar shows what left.
const FILE_HIGH_WATER_BYTES = 1024 * 1024;
const FILE_LOW_WATER_BYTES = 256 * 1024;
// At most this much handed to the channel beyond what every receiver confirmed: under the few
// MiB the server holds per receiver (docs/protocol.md), with room for our own queue.
const FILE_WINDOW_BYTES = 2 * 1024 * 1024;
// A receiver confirms every FILE_ACK_BYTES (eight confirmations per window).
const FILE_ACK_BYTES = 256 * 1024;
// A receiver that confirms nothing for this long while the sender waits for it is not waited for
// any more (a client without confirmations, one whose copy the server closed).
const ACK_STALL_MS = 5000;
// The sender's progress bar is refreshed this often while its queue drains.
const PROGRESS_INTERVAL_MS = 200;
// Longest chat message, in characters (the server's messages are at most 262144 bytes).
const CHAT_MAX_CHARS = 4000;

const $ = (selector) => document.querySelector(selector);

export function formatSize(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  do {
    value /= 1000;
    unit++;
  } while (value >= 1000 && unit < units.length - 1);
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function timeLabel(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function parseJson(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

export class RoomChat {
  constructor() {
    this.log = $('#chat-log');
    this.input = $('#chat-input');
    this.fileInput = $('#file-input');
    this.panel = $('#chat');
    this.client = null;
    this.selfName = '';
    this.chatChannel = null;
    this.fileChannel = null;
    this.pendingChat = []; // our messages typed before the chat channel opened
    this.outgoing = []; // files waiting: { file, entry }
    this.sending = false;
    this.listening = new WeakSet(); // clients whose events we follow
    this.urls = []; // blob: URLs of received files, revoked on a new session
    this.ackChannels = new Map(); // sender id -> our 'file-ack' channel to it
    this.acks = null; // while sending: { id, waiting: Map receiver id -> { received, at }, wake }

    this.input.maxLength = CHAT_MAX_CHARS;
    this.input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' || e.isComposing) return;
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = '';
      this.sendChat(text);
    });
    this.fileInput.addEventListener('change', () => {
      for (const file of this.fileInput.files) this.sendFile(file);
      this.fileInput.value = '';
    });
    this.panel.addEventListener('dragover', (e) => {
      if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      this.panel.classList.add('dragging');
    });
    this.panel.addEventListener('dragleave', (e) => {
      if (!this.panel.contains(e.relatedTarget)) this.panel.classList.remove('dragging');
    });
    this.panel.addEventListener('drop', (e) => {
      e.preventDefault();
      this.panel.classList.remove('dragging');
      for (const file of e.dataTransfer?.files ?? []) this.sendFile(file);
    });
  }

  // A fresh session (a join from the form): an empty log.
  reset() {
    this.stop();
    this.log.replaceChildren();
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
  }

  // Joined (again) with `client`: opens our two channels and follows the others'.
  start(client, selfName) {
    this.client = client;
    this.selfName = selfName;
    if (!this.listening.has(client)) {
      this.listening.add(client);
      client.addEventListener('datachannel', (e) => {
        if (this.client !== client) return;
        const { channel, from, label } = e.detail;
        if (label === 'chat') this.receiveChat(channel, from);
        else if (label === 'file') this.receiveFiles(channel, from);
        else if (label === 'file-ack') this.receiveAcks(channel, from);
      });
      client.addEventListener('participant-left', (e) => {
        if (this.client !== client) return;
        this.ackChannels.delete(e.detail.id);
        if (this.acks?.waiting.delete(e.detail.id)) this.acks.wake();
      });
      client.addEventListener('data-channel-closed', (e) => {
        if (this.client !== client) return;
        const { from, label, reason } = e.detail;
        const why = reason === 'receiver-too-slow' ? 'this connection did not keep up' : reason;
        this.notice(`The server stopped forwarding ${this.nameOf(from)}'s ${label} to you (${why}).`);
      });
    }
    try {
      this.useChatChannel(client.openDataChannel('chat', { ordered: true }));
      this.useFileChannel(client.openDataChannel('file', { ordered: true }));
    } catch (err) {
      this.notice(`Chat is not available: ${err.message}`);
    }
  }

  useChatChannel(chat) {
    this.chatChannel = chat;
    chat.addEventListener('open', () => {
      for (const text of this.pendingChat.splice(0)) chat.send(JSON.stringify({ type: 'chat', text }));
    });
  }

  useFileChannel(file) {
    this.fileChannel = file;
    file.bufferedAmountLowThreshold = FILE_LOW_WATER_BYTES;
    file.addEventListener('open', () => this.pumpFiles());
  }

  // The client library failed over to another server ('failover'): it opened our channels again
  // there (`channels`: [{ previous, channel }]); the chat goes on with them. A file being sent
  // failed with its old channel; 'file-ack' channels open again with the next file.
  rebind(channels) {
    this.ackChannels.clear();
    for (const { previous, channel } of channels) {
      if (previous === this.chatChannel) this.useChatChannel(channel);
      else if (previous === this.fileChannel) this.useFileChannel(channel);
      else if (channel.readyState === 'open') channel.close();
      else channel.addEventListener('open', () => channel.close());
    }
  }

  // Left the room (or lost it): what was being sent fails.
  stop() {
    this.client = null;
    this.chatChannel = null;
    this.fileChannel = null;
    this.pendingChat = [];
    this.ackChannels.clear();
    for (const { entry } of this.outgoing.splice(0)) this.setFileState(entry, 'failed', 'not sent: left the room');
  }

  nameOf(id) {
    return this.client?.participants.get(id)?.name ?? id;
  }

  // One entry of the log: name and time, then `body` (an element). Scrolls to it when the log
  // was scrolled to the bottom.
  addEntry({ self, name, body, className }) {
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    const entry = document.createElement('li');
    entry.className = `chat-entry${self ? ' self' : ''}${className ? ` ${className}` : ''}`;
    const meta = document.createElement('div');
    meta.className = 'chat-meta';
    const who = document.createElement('span');
    who.className = 'chat-name';
    who.textContent = self ? `${name} (you)` : name;
    const now = new Date();
    const time = document.createElement('time');
    time.dateTime = now.toISOString();
    time.textContent = timeLabel(now);
    meta.append(who, ' ', time);
    entry.append(meta, body);
    this.log.append(entry);
    if (atBottom) entry.scrollIntoView({ block: 'end' });
    return entry;
  }

  notice(text) {
    const entry = document.createElement('li');
    entry.className = 'chat-entry notice';
    entry.textContent = text;
    this.log.append(entry);
  }

  // --- Chat -----------------------------------------------------------------------------------

  sendChat(text) {
    const message = text.slice(0, CHAT_MAX_CHARS);
    const body = document.createElement('p');
    body.className = 'chat-text';
    body.dataset.chatSelf = 'true';
    body.textContent = message;
    this.addEntry({ self: true, name: this.selfName, body });
    const channel = this.chatChannel;
    if (channel?.readyState === 'open') channel.send(JSON.stringify({ type: 'chat', text: message }));
    else if (channel?.readyState === 'connecting') this.pendingChat.push(message);
    else this.notice('Not sent: the chat is not connected.');
  }

  receiveChat(channel, from) {
    const name = this.nameOf(from);
    channel.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') return; // the chat carries text only
      // Another client may send bare text: shown as it is.
      const parsed = parseJson(e.data);
      const text = parsed?.type === 'chat' && typeof parsed.text === 'string' ? parsed.text : e.data;
      const body = document.createElement('p');
      body.className = 'chat-text';
      body.dataset.chatFrom = from;
      body.textContent = text.slice(0, CHAT_MAX_CHARS);
      this.addEntry({ self: false, name: this.client?.participants.get(from)?.name ?? name, body });
    });
  }

  // --- Sending files --------------------------------------------------------------------------

  sendFile(file) {
    const body = document.createElement('div');
    body.className = 'chat-file';
    const label = document.createElement('span');
    label.className = 'file-name';
    label.textContent = `${file.name} (${formatSize(file.size)})`;
    label.title = `${file.size} bytes`;
    const progress = document.createElement('progress');
    progress.max = Math.max(file.size, 1);
    progress.value = 0;
    progress.dataset.fileProgress = '';
    const status = document.createElement('span');
    status.className = 'file-status';
    body.append(label, progress, status);
    const entry = this.addEntry({ self: true, name: this.selfName, body, className: 'file' });
    entry.dataset.fileOut = file.name;
    this.setFileState(entry, 'queued', 'waiting');
    if (!this.client) {
      this.setFileState(entry, 'failed', 'not sent: not in a room');
      return;
    }
    this.outgoing.push({ file, entry });
    this.pumpFiles();
  }

  setFileState(entry, state, text) {
    entry.dataset.fileState = state;
    entry.querySelector('.file-status').textContent = text;
  }

  // Sends the queued files one after the other while the file channel is open.
  async pumpFiles() {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.outgoing.length > 0 && this.fileChannel?.readyState === 'open') {
        const { file, entry } = this.outgoing[0];
        const channel = this.fileChannel;
        try {
          await this.transfer(channel, file, entry);
          this.setFileState(entry, 'sent', 'sent');
        } catch (err) {
          this.setFileState(entry, 'failed', `failed: ${err.message}`);
          if (channel.readyState === 'open') {
            channel.send(JSON.stringify({ type: 'file-abort', id: entry.dataset.transferId }));
          }
        }
        if (this.outgoing[0]?.entry === entry) this.outgoing.shift();
      }
    } finally {
      this.sending = false;
    }
  }

  async transfer(channel, file, entry) {
    const id = randomId();
    entry.dataset.transferId = id;
    const progress = entry.querySelector('progress');
    let handed = 0; // bytes given to the channel
    // What has left our queue: what the bar shows (a chunk counts once the channel sent it).
    const showProgress = () => {
      const done = Math.max(0, Math.min(handed - channel.bufferedAmount, file.size));
      progress.value = done;
      const percent = file.size > 0 ? Math.floor((done * 100) / file.size) : 100;
      this.setFileState(entry, 'sending', `${percent} %`);
    };
    const closed = () => {
      throw new Error('the connection closed');
    };
    // Who we wait for: everyone here now (a newcomer joins in the middle and ignores the file).
    const waiting = new Map();
    for (const pid of this.client?.participants.keys() ?? []) {
      if (pid !== this.client.id) waiting.set(pid, { received: 0, at: performance.now() });
    }
    const acks = { id, waiting, wake: () => {} };
    this.acks = acks;
    channel.send(JSON.stringify({
      type: 'file-start', id, name: file.name, size: file.size, mime: file.type || '',
    }));
    showProgress();
    const timer = setInterval(showProgress, PROGRESS_INTERVAL_MS);
    try {
      for (let offset = 0; offset < file.size; offset += FILE_READ_BYTES) {
        const block = await file.slice(offset, offset + FILE_READ_BYTES).arrayBuffer();
        for (let at = 0; at < block.byteLength; at += FILE_CHUNK_BYTES) {
          if (channel.bufferedAmount > FILE_HIGH_WATER_BYTES) await this.drained(channel, FILE_LOW_WATER_BYTES);
          await this.withinWindow(acks, handed, channel);
          if (channel.readyState !== 'open') closed();
          channel.send(block.slice(at, at + FILE_CHUNK_BYTES));
          handed += Math.min(FILE_CHUNK_BYTES, block.byteLength - at);
        }
      }
      channel.send(JSON.stringify({ type: 'file-end', id }));
      // Sent means out of our queue, not only handed to it.
      await this.drained(channel, 0);
      if (channel.readyState !== 'open') closed();
      showProgress();
    } finally {
      clearInterval(timer);
      if (this.acks === acks) this.acks = null;
    }
  }

  // Resolves once `handed` is at most FILE_WINDOW_BYTES ahead of every receiver still waited for
  // (or the channel closed).
  async withinWindow(acks, handed, channel) {
    for (;;) {
      if (channel.readyState !== 'open') return;
      const now = performance.now();
      let behind = null;
      for (const [pid, ack] of acks.waiting) {
        if (handed - ack.received <= FILE_WINDOW_BYTES) continue;
        if (now - ack.at > ACK_STALL_MS) {
          acks.waiting.delete(pid); // gone quiet: not waited for any more
          continue;
        }
        behind = pid;
      }
      if (behind === null) return;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 250);
        acks.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  receiveAcks(channel, from) {
    channel.addEventListener('message', (e) => {
      const ack = typeof e.data === 'string' ? parseJson(e.data) : null;
      if (ack?.type !== 'file-ack' || !this.acks || ack.id !== this.acks.id) return;
      const entry = this.acks.waiting.get(from);
      const received = Number(ack.received);
      if (!entry || !Number.isFinite(received) || received <= entry.received) return;
      entry.received = received;
      entry.at = performance.now();
      this.acks.wake();
    });
  }

  // Tells `sender` how much of file `id` arrived (the latest count only, if its channel is not
  // open yet).
  confirm(sender, id, received) {
    let state = this.ackChannels.get(sender);
    // One the server closed (a participant may have only so many channels): opened again.
    if (state && (state.channel.readyState === 'closing' || state.channel.readyState === 'closed')) state = null;
    if (!state) {
      let channel;
      try {
        channel = this.client.openDataChannel('file-ack', { ordered: true, to: sender });
      } catch {
        return;
      }
      state = { channel, pending: null };
      this.ackChannels.set(sender, state);
      channel.addEventListener('open', () => {
        if (state.pending) channel.send(state.pending);
        state.pending = null;
      });
    }
    const message = JSON.stringify({ type: 'file-ack', id, received });
    if (state.channel.readyState === 'open') state.channel.send(message);
    else if (state.channel.readyState === 'connecting') state.pending = message;
  }

  // The file from `sender` is over: our channel back to it closes (what was sent on it still
  // goes), so that a participant who receives from many holds only the channels of the files on
  // their way (the server forwards only so many channels per participant).
  endConfirmations(sender) {
    const state = this.ackChannels.get(sender);
    if (!state) return;
    this.ackChannels.delete(sender);
    if (state.pending && state.channel.readyState === 'connecting') {
      state.channel.addEventListener('open', () => state.channel.close());
    } else {
      state.channel.close();
    }
  }

  // Resolves when the channel's queue is down to `threshold` bytes (or the channel closed).
  drained(channel, threshold) {
    return new Promise((resolve) => {
      const check = () => {
        if (channel.bufferedAmount <= threshold || channel.readyState !== 'open') {
          clearInterval(timer);
          channel.removeEventListener('bufferedamountlow', check);
          channel.removeEventListener('close', check);
          resolve();
        }
      };
      // 'bufferedamountlow' fires at the channel's threshold; a lower one (0) is polled.
      const timer = setInterval(check, threshold < FILE_LOW_WATER_BYTES ? 50 : 1000);
      channel.addEventListener('bufferedamountlow', check);
      channel.addEventListener('close', check);
      check();
    });
  }

  // --- Receiving files ------------------------------------------------------------------------

  receiveFiles(channel, from) {
    let current = null; // { id, name, size, mime, chunks, received, entry }
    const fail = (why) => {
      if (!current) return;
      current.entry.dataset.fileState = 'failed';
      current.entry.querySelector('.file-status').textContent = why;
      current = null;
      this.endConfirmations(from);
    };
    channel.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') {
        if (!current) return; // joined in the middle of a file
        const chunk = e.data;
        current.received += chunk.byteLength;
        if (current.received > current.size) {
          fail(`failed: more than ${current.size} bytes arrived`);
          return;
        }
        current.chunks.push(chunk);
        current.entry.querySelector('progress').value = current.received;
        if (current.received - current.confirmed >= FILE_ACK_BYTES) {
          current.confirmed = current.received;
          this.confirm(from, current.id, current.received);
        }
        return;
      }
      const message = parseJson(e.data);
      if (message?.type === 'file-start') {
        fail('failed: the sender started another file');
        const size = Number(message.size);
        const name = typeof message.name === 'string' && message.name ? message.name : 'file';
        if (!Number.isSafeInteger(size) || size < 0) return;
        current = {
          id: String(message.id), name, size, mime: String(message.mime ?? ''), chunks: [], received: 0, confirmed: 0,
        };
        current.entry = this.incomingEntry(from, name, size);
        this.confirm(from, current.id, 0); // opens the way back before the first window is full
      } else if (message?.type === 'file-end' && current && message.id === current.id) {
        if (current.received !== current.size) {
          fail(`failed: ${current.received} of ${current.size} bytes arrived`);
          return;
        }
        this.confirm(from, current.id, current.received);
        this.endConfirmations(from);
        this.completeFile(from, current);
        current = null;
      } else if (message?.type === 'file-abort' && current && message.id === current.id) {
        fail('cancelled by the sender');
      }
    });
    channel.addEventListener('close', () => fail('failed: the sender left or the channel closed'));
  }

  incomingEntry(from, name, size) {
    const body = document.createElement('div');
    body.className = 'chat-file';
    const label = document.createElement('span');
    label.className = 'file-name';
    label.textContent = `${name} (${formatSize(size)})`;
    label.title = `${size} bytes`;
    const progress = document.createElement('progress');
    progress.max = Math.max(size, 1);
    progress.value = 0;
    const status = document.createElement('span');
    status.className = 'file-status';
    status.textContent = 'receiving';
    body.append(label, progress, status);
    const entry = this.addEntry({ self: false, name: this.nameOf(from), body, className: 'file' });
    entry.dataset.fileIn = name;
    entry.dataset.fileState = 'receiving';
    return entry;
  }

  completeFile(from, file) {
    const blob = new Blob(file.chunks, { type: file.mime || 'application/octet-stream' });
    const url = URL.createObjectURL(blob);
    this.urls.push(url);
    const link = document.createElement('a');
    link.href = url;
    link.download = file.name;
    link.dataset.fileFrom = from;
    link.dataset.fileSize = String(file.size);
    link.textContent = file.name;
    link.title = `${file.size} bytes`;
    const label = file.entry.querySelector('.file-name');
    label.replaceChildren(link, ` (${formatSize(file.size)})`);
    file.entry.querySelector('progress').remove();
    file.entry.dataset.fileState = 'received';
    file.entry.querySelector('.file-status').textContent = '';
  }
}
