/**
 * The inspector in a real browser: Playwright drives Debian's headless Chromium against a regtest
 * node with three peers (one outbound to a second node, two raw inbound), checks the tree, kills
 * the outbound peer's actor from its panel, sees the connection manager dial a replacement, and
 * saves a screenshot to test-artifacts/inspector.png. Skips when no Chromium is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { testNode, until } from '../helpers/node.js';
import { RawPeer } from '../helpers/raw-peer.js';
import { projectRoot } from '../helpers/fixtures.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI (.ci/run) installs Chromium and sets PEERD_REQUIRE_BROWSER=1: there a missing browser fails the test instead of skipping it.
const required = process.env.PEERD_REQUIRE_BROWSER === '1';
const skip = existsSync(CHROMIUM) || required ? false : `no Chromium at ${CHROMIUM} (install it, e.g. apt-get install chromium, or set CHROMIUM_PATH)`;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--metrics-recording-only',
  '--no-default-browser-check',
  '--no-first-run',
  '--no-pings',
  '--mute-audio',
];

test('browser: the page shows the tree live; killing a peer from its panel is healed by a new dial', { skip, timeout: 90_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `PEERD_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}`);
  const target = await testNode();
  const node = await testNode({ inspect: '127.0.0.1:0', inspectIntervalMs: 300, addnode: [`127.0.0.1:${target.port}`] });
  const raws: RawPeer[] = [];
  let browser: Browser | undefined;
  try {
    for (let i = 0; i < 2; i++) {
      const p = await RawPeer.connect(node.port);
      await p.handshake();
      raws.push(p);
    }
    await until('three active peers', async () => (await node.peers()).filter((p) => p.phase === 'active').length === 3, 15_000);
    const peers = await node.peers();
    const outbound = peers.find((p) => p.connType === 'manual')!;
    assert.ok(outbound, 'the addnode peer');
    const addr = (await node.inspectAddress())!;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
    const page = await browser.newPage({ viewport: { width: 1480, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(addr.tokenUrl);
    assert.equal(new URL(page.url()).search, '', 'the token is gone from the address bar');

    // The tree: root, the peers supervisor and one row per peer.
    for (const path of ['/root', '/root/peers', '/root/connman', '/root/inspector', ...peers.map((p) => `/root/peers/peer-${p.id}`)]) {
      await page.locator(`#tree tr[data-path="${path}"]`).waitFor({ timeout: 10_000 });
    }
    await page.locator('#live[data-state="live"]').waitFor();
    assert.match(await page.locator('#tree tr[data-path="/root/peers"]').innerText(), /dynamic sup/);
    assert.match(await page.locator('#tree tr[data-path="/root"]').innerText(), /one_for_one/);
    await until('three rows in the peers table', async () => (await page.locator('#peers tbody tr[data-path]').count()) === 3);
    assert.match(await page.locator('#peers thead').innerText(), /transport/);
    // The addnode peer is another peerd: dialled with BIP324 v2.
    assert.match(await page.locator(`#peers tbody tr[data-path="/root/peers/peer-${outbound.id}"]`).innerText(), /\bv2\b/);

    // Collapsing the peers supervisor hides its rows; expanding shows them again.
    const peerRow = page.locator(`#tree tr[data-path="/root/peers/peer-${outbound.id}"]`);
    await page.locator('#tree tr[data-path="/root/peers"] .caret').click();
    await peerRow.waitFor({ state: 'hidden' });
    await page.locator('#expand-all').click();
    await peerRow.waitFor({ state: 'visible' });

    // The peer's panel.
    await peerRow.click();
    const panel = page.locator(`#peer-panel[data-path="/root/peers/peer-${outbound.id}"]`);
    await panel.waitFor();
    // Beside the panel, on a narrower screen too, the tree fits its card: no column scrolls out of view.
    for (const width of [1480, 1310, 1280, 1140, 1024]) {
      await page.setViewportSize({ width, height: 1000 });
      // (A string: this project's TypeScript has no DOM types.)
      const fit = (await page.evaluate(`(() => {
        const table = document.querySelector('#tree');
        const box = table.parentElement.getBoundingClientRect();
        const hidden = [...table.querySelectorAll('thead th')].filter((th) => { const r = th.getBoundingClientRect(); return r.left < box.left - 1 || r.right > box.right + 1; }).map((th) => th.textContent);
        return { overflow: table.parentElement.scrollWidth - table.parentElement.clientWidth, hidden };
      })()`)) as { overflow: number; hidden: string[] };
      assert.deepEqual(fit, { overflow: 0, hidden: [] }, `at ${width} px`);
    }
    await page.setViewportSize({ width: 1480, height: 1000 });
    await panel.getByText(outbound.addr, { exact: true }).waitFor();
    const text = await panel.innerText();
    assert.match(text, /outbound/);
    assert.match(text, /manual/);
    assert.match(text, /transport\s+v2/, 'the transport (peerd dials peerd with v2)');
    assert.match(text, /\/peerd:0\.1\.0\//, 'the user agent');
    assert.match(text, /version/, 'bytes by message type');
    for (const action of ['kick', 'ban', 'throttle', 'kill', 'crash']) assert.equal(await panel.locator(`button[data-action="${action}"]`).count(), 1, action);

    // Throttle from the page, then kill the actor: the connection manager dials a new one.
    await panel.locator('input[name="recv"]').fill('40000');
    await panel.locator('input[name="send"]').fill('30000');
    await panel.locator('button[data-action="throttle"]').click();
    await until('the throttle is in force', async () => {
      const p = (await node.peers()).find((x) => x.id === outbound.id);
      return p?.recvLimit === 40_000 && p.sendLimit === 30_000;
    });
    await panel.locator('button[data-action="kill"]').click();
    await page.locator('.toast.ok').first().waitFor();
    await page.locator('#peer-panel .gone').waitFor({ state: 'visible' });
    assert.match(await page.locator('#peer-panel .gone').innerText(), /killed/);
    await peerRow.waitFor({ state: 'detached' });
    await until('a replacement outbound peer', async () => (await node.peers()).some((p) => p.connType === 'manual' && p.id !== outbound.id && p.phase === 'active'), 15_000);
    const replacement = (await node.peers()).find((p) => p.connType === 'manual' && p.id !== outbound.id)!;
    await page.locator(`#tree tr[data-path="/root/peers/peer-${replacement.id}"]`).waitFor();
    await page.locator('#exits tbody td').getByText(`/root/peers/peer-${outbound.id}`, { exact: true }).first().waitFor();
    await page.locator('#disconnects tbody td').getByText(`peer-${outbound.id} ${outbound.addr}`, { exact: true }).first().waitFor();

    // The replacement's panel, for the screenshot.
    await page.locator(`#tree tr[data-path="/root/peers/peer-${replacement.id}"]`).click();
    await page.locator(`#peer-panel[data-path="/root/peers/peer-${replacement.id}"]`).waitFor();
    await page.locator('#bw-chart polyline').nth(1).waitFor({ state: 'attached' });
    const dir = join(projectRoot(), 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'inspector.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no errors in the page');
  } finally {
    await browser?.close();
    for (const p of raws) await p.destroy();
    await node.cleanup();
    await target.cleanup();
  }
});
