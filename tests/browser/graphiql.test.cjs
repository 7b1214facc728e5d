'use strict';
// Starts the tantana binary on a free port with a temporary SQLite database, opens GraphiQL in
// headless Chromium, types and runs a `checkUser` query, and waits for its answer on the page.
// Fails when any request leaves 127.0.0.1/localhost, when the page throws, or when its
// Content-Security-Policy refuses something (a sign the page reaches for a resource it lacks).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const binary = process.env.TANTANA_BIN;
const cache = process.env.TANTANA_BROWSER_CACHE;
const { chromium } = require(path.join(cache, 'node_modules', 'playwright-core'));

const QUERY = 'query BrowserCheck { checkUser(phoneNumber: "+998 90 123 45 67") { exists phoneNumber } }';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
// Chromium's own background traffic is switched off, so every request is the page's.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, server, log) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`tantana exited with ${server.exitCode}:\n${log.join('')}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`tantana did not answer ${url} within 30 s:\n${log.join('')}`);
}

async function main() {
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tantana-browser-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const log = [];
  const server = spawn(binary, [], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${path.join(workdir, 'tantana.sqlite3')}?mode=rwc`,
      BIND: `127.0.0.1:${port}`,
      REDIS_URL: '',
      SECRET_KEY: 'browser-test-secret-key-that-is-long-enough',
      SMS_BACKEND: 'file',
      SMS_OUTBOX: path.join(workdir, 'outbox.jsonl'),
      GRAPHIQL: 'true',
      GRAPHQL_INTROSPECTION: 'true',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (chunk) => log.push(chunk.toString()));
  server.stderr.on('data', (chunk) => log.push(chunk.toString()));

  let browser;
  const offsite = [];
  const pageErrors = [];
  const policyViolations = [];
  const consoleErrors = [];
  let page;
  try {
    await waitForServer(`${origin}/graphql`, server, log);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext();
    // Every http(s)/ws request of every page passes here; off-machine ones are recorded and cut.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOCAL_HOSTS.has(url.hostname)) return route.continue();
      offsite.push(url.href);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      consoleErrors.push(message.text());
      if (/Content.Security.Policy|Refused to/i.test(message.text())) policyViolations.push(message.text());
    });

    await page.goto(`${origin}/graphql`, { waitUntil: 'load' });
    const editor = page.locator('.graphiql-query-editor .CodeMirror');
    await editor.waitFor({ timeout: 30_000 });
    await page.waitForLoadState('networkidle');

    // Typed as a person would: click, select all, replace.
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(QUERY);
    const typed = await page.evaluate(
      () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue(),
    );
    if (typed !== QUERY) throw new Error(`the editor holds ${JSON.stringify(typed)}, not the typed query`);
    // GraphiQL reads the operation name from the editor after a 100 ms debounce, as it would
    // between a person's last keystroke and their click.
    await page.waitForFunction(
      () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.operationName === 'BrowserCheck',
      null,
      { timeout: 10_000 },
    );

    await page.locator('.graphiql-execute-button').click();
    await page.waitForFunction(
      () => (document.querySelector('.graphiql-response')?.innerText ?? '').includes('"phoneNumber"'),
      null,
      { timeout: 30_000 },
    );
    const answer = await page.locator('.graphiql-response').innerText();
    await page.screenshot({ path: path.join(os.tmpdir(), 'tantana-graphiql.png') });

    const problems = [];
    if (!answer.includes('"exists": false') || !answer.includes('"+998901234567"')) {
      problems.push(`unexpected answer on the page:\n${answer}`);
    }
    if (offsite.length) problems.push(`requests left the machine:\n  ${offsite.join('\n  ')}`);
    if (pageErrors.length) problems.push(`the page threw:\n  ${pageErrors.join('\n  ')}`);
    if (policyViolations.length) problems.push(`the CSP refused:\n  ${policyViolations.join('\n  ')}`);
    if (problems.length) throw new Error(problems.join('\n'));
    console.log(`GraphiQL ran checkUser offline; answer:\n${answer}`);
  } catch (error) {
    const screenshot = path.join(os.tmpdir(), 'tantana-graphiql-failure.png');
    if (page) await page.screenshot({ path: screenshot }).catch(() => {});
    const details = [
      `screenshot: ${screenshot}`,
      `console errors:\n  ${consoleErrors.join('\n  ') || '(none)'}`,
      `off-machine requests:\n  ${offsite.join('\n  ') || '(none)'}`,
      `server log:\n${log.join('') || '(empty)'}`,
    ];
    console.error(details.join('\n'));
    throw error;
  } finally {
    if (browser) await browser.close();
    server.kill('SIGTERM');
    fs.rmSync(workdir, { recursive: true, force: true });
  }
}

main().then(
  () => {
    console.log('browser: 1 passed, 0 failed');
  },
  (error) => {
    console.error(`browser test failed: ${error.stack || error}`);
    console.log('browser: 0 passed, 1 failed');
    process.exit(1);
  },
);
