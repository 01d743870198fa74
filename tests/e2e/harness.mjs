// Shared pieces of the end-to-end tests: a real switchboard process and Debian's Chromium.
// The tests run inside a network namespace that has only loopback (scripts/test.sh).
import { spawn } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
const buildDir = process.env.SB_BUILD_DIR ?? join(repoRoot, 'build');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts build/signaling/switchboard on a free-ish port with extra flags; resolves once
// /api/health answers. The returned object has url, port, process, log (captured output) and stop().
export async function startServer(flags = []) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const args = [`--port=${port}`, '--log-level=info', ...flags];
  const child = spawn(join(buildDir, 'signaling', 'switchboard'), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`switchboard did not start:\n${log}`);
    }
    await sleep(100);
  }
  return {
    url,
    port,
    process: child,
    get log() {
      return log;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

// Flags checked on these machines (../shared/TESTING.md): loopback ICE needs
// --allow-loopback-in-peer-connection; the background-networking flags keep Chromium quiet.
export async function launchBrowser() {
  // playwright-core gives every launch a fresh temporary profile (--user-data-dir).
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  return browser;
}

// A participant: one browser context and page on the web app, joined by link.
export async function openParticipant(browser, server, room, name) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(
    `${server.url}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}&autojoin=1`,
  );
  return { name, context, page, errors };
}

export async function waitForState(participant, states, timeout = 20000) {
  const wanted = Array.isArray(states) ? states : [states];
  await participant.page.waitForFunction(
    (w) => w.includes(document.body.dataset.state),
    wanted,
    { timeout },
  );
  return participant.page.evaluate(() => document.body.dataset.state);
}

// Inbound RTP statistics of the subscribing connection, one entry per track, with the
// publisher it belongs to (the app's test hook, window.switchboardTest).
export async function inboundStats(participant) {
  return participant.page.evaluate(() => window.switchboardTest.inboundStats());
}
