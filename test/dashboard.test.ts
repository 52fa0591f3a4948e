// The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a gateway on
// real Baileys and the simulator: sign in, create an instance, pair it from the QR the page shows,
// see it connected, the API access page, an instance's page in tabs (its conversation flows and
// their runs among them), both languages, keyboard use and labelled inputs. Every page is photographed at desktop and phone width into
// test-results/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Simulator } from '../simulator/simulator.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { simulatorEnv } from './support/scenario.js';
import { sendFromPhone } from '../simulator/messages.js';
import { voteFromPhone } from '../simulator/polls.js';
import { postStatus } from '../simulator/status.js';
import { publish } from '../simulator/channels.js';
import { freePort } from '../stack/ports.js';
import { dictionaries } from '../web/src/words.js';

const root = resolve(import.meta.dirname, '..');
const SHOTS = join(root, 'test-results', 'screenshots');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const OWNER = '905557000001';
const AYSE = '905557000002';
const MEHMET = '905557000003';

let sim: Simulator;
let gw: Gateway;
let browser: Browser;
before(async () => {
  const build = spawnSync('npm', ['run', '-s', 'build:web'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(build.status, 0, `${build.stdout}\n${build.stderr}`);
  assert.ok(CHROMIUM, 'Chromium is installed (.ci/run installs it)');
  mkdirSync(SHOTS, { recursive: true });
  sim = await Simulator.start();
  gw = await startGateway({
    name: 'dashboard',
    workers: 1,
    workerEntry: 'worker/main.ts',
    env: { ...simulatorEnv(sim), TEMPORAL_UI_URL: 'http://temporal-ui.example:8233' },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await gw?.stop();
  await sim?.stop();
});

/** A page in `language`, failing the test on any script error or failed request. */
async function open(language: 'en' | 'tr', width = 1280, height = 800) {
  const context = await browser.newContext({ viewport: { width, height }, locale: language === 'tr' ? 'tr-TR' : 'en-US' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('requestfailed', (r) => {
    // An event stream the page closed (it moved on, or signed out) ends as an aborted request.
    if (r.resourceType() === 'eventsource' && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`${r.url()}: ${r.failure()?.errorText}`);
  });
  await page.goto(`${gw.baseUrl}/`);
  return { page, problems, close: () => context.close() };
}

async function signIn(page: Page, token = gw.token) {
  await page.getByLabel(/API token/).fill(token);
  await page.getByLabel(/API token/).press('Enter');
}

const shoot = async (page: Page, name: string) => {
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  const size = page.viewportSize()!;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  // Nothing wider than the phone's screen.
  assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 390, `${name} fits a phone`);
  await page.setViewportSize(size);
};

/** Every input and select has a label a screen reader announces. */
async function assertLabelled(page: Page) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, []);
}

test('a wrong token is refused in plain words; the right one, typed and sent with the keyboard, signs in', async () => {
  const { page, problems, close } = await open('en');
  try {
    await assertLabelled(page);
    await shoot(page, 'sign-in');
    // Keyboard only: Tab goes through the language, the token and the button, in that order.
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push(
        await page.evaluate(
          () => `${document.activeElement?.tagName.toLowerCase()}${document.activeElement?.id ? `#${document.activeElement.id}` : ''}`,
        ),
      );
    }
    assert.deepEqual(order, ['select#language', 'input#token', 'button']);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type('not-the-token');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').waitFor();
    assert.equal(await page.getByRole('alert').innerText(), 'This token is not valid: check it and try again.');
    await page.getByLabel(/API token/).fill(gw.token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Instances', level: 1 }).waitFor();
    await page.locator('[data-instance="default"]').waitFor();
    assert.deepEqual(
      problems.filter((p) => !/\/api\/instance.*401|status of 401/.test(p)),
      [],
    );
  } finally {
    await close();
  }
});

test('an instance made on the page pairs through the QR it shows and is seen connected, with its account', async () => {
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    await page.getByLabel('Instance id').fill('shop');
    await page.getByLabel('Description').fill('Front desk');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('status').filter({ hasText: 'Instance shop created.' }).waitFor();
    const card = page.locator('[data-instance="shop"]');
    await card.getByRole('button', { name: 'Connect' }).click();
    await card.getByText('connecting').waitFor();
    const qr = card.locator('.qr img');
    await qr.waitFor({ timeout: 30_000 });
    await assertLabelled(page);
    await shoot(page, 'instances-qr');

    // The phone scans what the page shows.
    sim.addUser(OWNER, 'Shop Owner');
    await sim.scanQr(OWNER, (await qr.getAttribute('src'))!);
    await card.getByText('connected', { exact: true }).waitFor({ timeout: 30_000 });
    await card.getByText(`Connected as Shop Owner (${OWNER})`).waitFor({ timeout: 10_000 });
    assert.equal(await card.locator('.qr').count(), 0);
    await shoot(page, 'instances');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('an instance pairs by phone number: the page asks for a code, the phone types it, the instance opens', async () => {
  const PHONE = '905557000009';
  sim.addUser(PHONE, 'Code Owner');
  assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id: 'bycode' } })).status, 200);
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    const card = page.locator('[data-instance="bycode"]');
    await card.getByRole('button', { name: 'Connect' }).click();
    await card.locator('.qr img').waitFor({ timeout: 30_000 });
    // A number that is not one: the API's words, next to the form.
    await card.getByLabel('Or link with a phone number').fill('12');
    await card.getByRole('button', { name: 'Get a code' }).click();
    await card.getByRole('alert').filter({ hasText: /phone/ }).waitFor();
    await card.getByLabel('Or link with a phone number').fill(PHONE);
    await card.getByRole('button', { name: 'Get a code' }).click();
    const code = await card.getByTestId('pairing-code').innerText();
    assert.match(code, /^[A-Z0-9]{8}$/);
    await assertLabelled(page);
    await shoot(page, 'instances-pairing-code');
    await sim.enterPairingCode(PHONE, code);
    await card.getByText(`Connected as Code Owner (${PHONE})`).waitFor({ timeout: 30_000 });
    assert.equal(await card.getByLabel('Or link with a phone number').count(), 0, 'the form is gone once paired');
    assert.deepEqual(
      problems.filter((p) => !/pairing-code.*400|status of 400/.test(p)),
      [],
    );
  } finally {
    await close();
  }
  assert.equal((await gw.request('/api/instance/bycode', { method: 'DELETE' })).status, 200);
});

test('a card says why its instance does not connect (a proxy that refuses), and when WhatsApp caps the account', async () => {
  const closed = await freePort();
  assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id: 'proxied' } })).status, 200);
  const proxied = await gw.request('/api/instance/proxied/settings', { method: 'POST', json: { proxyUrl: `http://127.0.0.1:${closed}` } });
  assert.equal(proxied.status, 200);
  assert.equal((await gw.request('/api/instance/proxied/connect', { method: 'POST' })).status, 200);
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    await page
      .locator('[data-instance="proxied"]')
      .getByTestId('health')
      .filter({ hasText: /^The last attempt to connect failed: .*ECONNREFUSED/ })
      .waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-instance="shop"]').getByTestId('health').count(), 0, 'nothing to say of a healthy instance');
    const until = Date.now() + 86_400_000;
    await sim.setRestriction(OWNER, { kind: 'messageCapping', active: true, until });
    await page
      .locator('[data-instance="shop"]')
      .getByTestId('health')
      .filter({ hasText: `WhatsApp has capped the new chats this account may start, until ${new Date(until).toLocaleString('en-US')}` })
      .waitFor({ timeout: 15_000 });
    await shoot(page, 'instances-health');
    await sim.setRestriction(OWNER, { kind: 'messageCapping', active: false });
    await eventually(async () => (await page.locator('[data-instance="shop"]').getByTestId('health').count()) === 0, 15_000, 'lifted');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
  assert.equal((await gw.request('/api/instance/proxied', { method: 'DELETE' })).status, 200);
});

/** The boxes of `selector` that reach past the window's right edge or hide part of their text. */
const overflowing = (page: Page, selector: string) =>
  page.evaluate(
    (s) =>
      [...document.querySelectorAll<HTMLElement>(s)]
        .filter((el) => el.getBoundingClientRect().right > innerWidth || el.scrollWidth > el.clientWidth)
        .map((el) => el.textContent),
    selector,
  );

test('the API access page shows the token masked, how to call the API (whole, even on a phone), and links to the API docs and the Temporal UI', async () => {
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'API access' }).click();
    await page.getByRole('heading', { name: 'API access', level: 1 }).waitFor();
    const shown = page.getByTestId('token');
    const commands = async () => (await page.locator('pre').allInnerTexts()).join('\n');
    assert.ok(!(await shown.innerText()).includes(gw.token), 'masked');
    assert.ok(!(await commands()).includes(gw.token), 'masked in the examples');
    for (const way of ['Authorization: Bearer', 'X-Api-Key:', '?token=']) assert.ok((await commands()).includes(way), way);
    await page.getByRole('button', { name: 'Show' }).click();
    assert.equal(await shown.innerText(), gw.token);
    // On a phone each command wraps inside its box, the token shown too: nothing is cut off at the edge.
    await page.setViewportSize({ width: 390, height: 844 });
    assert.deepEqual(await overflowing(page, 'pre'), [], 'the commands fit a phone');
    assert.ok((await commands()).includes(gw.token));
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.equal(await page.getByRole('link', { name: /API documentation/ }).getAttribute('href'), './api/docs/');
    await page.getByRole('link', { name: /Temporal UI/ }).waitFor();
    assert.match(
      (await page.getByRole('link', { name: /Temporal UI/ }).getAttribute('href'))!,
      /^http:\/\/temporal-ui\.example:8233\/namespaces\/t-dashboard/,
    );
    await page.getByRole('button', { name: 'Hide' }).click();
    await shoot(page, 'api-access');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

/**
 * Tabs through the whole page: every visible control (link, button, field) must take the focus by
 * the keyboard and show it (`:focus-visible` with an outline), and Tab must go on past each of them
 * (no trap). Returns the controls never reached, then those focused without a visible outline.
 */
async function tabThrough(page: Page): Promise<{ missed: string[]; unmarked: string[] }> {
  const controls = await page.evaluate(() => {
    const all = [...document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex]')].filter(
      (el) => el.tabIndex >= 0 && !(el as HTMLButtonElement).disabled && el.getClientRects().length > 0,
    );
    all.forEach((el, i) => el.setAttribute('data-kb', String(i)));
    (document.activeElement as HTMLElement | null)?.blur();
    return all.map((el) => el.outerHTML.slice(0, 120));
  });
  const reached = new Set<string>();
  const unmarked: string[] = [];
  for (let i = 0; i < controls.length * 2 + 4 && reached.size < controls.length; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      return {
        kb: el.getAttribute('data-kb'),
        visible: el.matches(':focus-visible, :focus-within') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
        html: el.outerHTML.slice(0, 120),
      };
    });
    if (!focused?.kb) continue;
    reached.add(focused.kb);
    if (!focused.visible) unmarked.push(focused.html);
  }
  return { missed: controls.filter((_, i) => !reached.has(String(i))), unmarked };
}

/** Presses Tab until the focus is on `selector` (at most 60 times). */
async function tabTo(page: Page, selector: string) {
  for (let i = 0; i < 60; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${selector}`);
}

test('every page is usable by keyboard: each control takes the focus and shows it, and forms, links and buttons work with Enter', async () => {
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    await page.locator('[data-instance="default"]').waitFor();
    assert.deepEqual(await tabThrough(page), { missed: [], unmarked: [] }, 'Instances');

    // An instance created with the keyboard alone, then opened by its link.
    await tabTo(page, '#new-id');
    await page.keyboard.type('keys');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Made with the keyboard');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Instance keys created.' }).waitFor();
    await page.locator('[data-instance="keys"]').waitFor();
    await tabTo(page, 'a[href="#/instances/keys"]');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Instance keys', level: 1 }).waitFor();
    await page.locator('#settings form').waitFor();
    assert.deepEqual(await tabThrough(page), { missed: [], unmarked: [] }, "An instance's page");

    // The sections are tabs: one stop for Tab, the arrows, Home and End move along them and open the one reached.
    const selected = async () =>
      page.evaluate(() => ({
        focused: document.activeElement?.id,
        selected: [...document.querySelectorAll('[role="tab"][aria-selected="true"]')].map((el) => el.id),
        panels: [...document.querySelectorAll('[role="tabpanel"]')].map((el) => `${el.id} by ${el.getAttribute('aria-labelledby')}`),
        hash: location.hash,
      }));
    const expect = (section: string) => ({
      focused: `tab-${section}`,
      selected: [`tab-${section}`],
      panels: [`${section} by tab-${section}`],
      hash: `#/instances/keys/${section}`,
    });
    await tabTo(page, '[role="tab"]');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-settings', 'Tab reaches the open tab');
    for (const [key, section] of [
      ['End', 'webhooks'],
      ['ArrowRight', 'settings'],
      ['ArrowLeft', 'webhooks'],
      ['Home', 'settings'],
      ['ArrowRight', 'send'],
      ['ArrowRight', 'chatbot'],
    ] as const) {
      await page.keyboard.press(key);
      await eventually(
        async () => JSON.stringify(await selected()) === JSON.stringify(expect(section)),
        5_000,
        `${key} opens ${section}: ${JSON.stringify(await selected())}`,
      );
    }
    await page.locator('#chatbot form').waitFor();
    assert.deepEqual(await tabThrough(page), { missed: [], unmarked: [] }, "An instance's chatbot");
    // A reload (or a link) opens the section the address names.
    await page.reload();
    await page.locator('#chatbot form').waitFor();
    assert.deepEqual((await selected()).selected, ['tab-chatbot']);

    await tabTo(page, 'a[href="#/api-access"]');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'API access', level: 1 }).waitFor();
    assert.deepEqual(await tabThrough(page), { missed: [], unmarked: [] }, 'API access');
    await tabTo(page, 'button[aria-pressed]');
    await page.keyboard.press('Space');
    await eventually(async () => (await page.getByTestId('token').innerText()) === gw.token, 5_000, 'Space shows the token');

    // Signing out by keyboard brings the focus back to a page that can be signed in to again.
    await tabTo(page, 'header button');
    await page.keyboard.press('Enter');
    await page.getByLabel(/API token/).waitFor();
    assert.deepEqual(await tabThrough(page), { missed: [], unmarked: [] }, 'Sign in');
    // The reload cut the requests the page had under way short: nothing else went wrong.
    assert.deepEqual(
      problems.filter((p) => !/ERR_ABORTED/.test(p)),
      [],
    );
  } finally {
    await close();
  }
  assert.equal((await gw.request('/api/instance/keys', { method: 'DELETE' })).status, 200);
});

test('in Turkish, from the browser’s language or switched to, an instance called a hat, and no English left', async () => {
  const { page, problems, close } = await open('tr');
  try {
    await page.getByRole('heading', { name: 'Giriş', level: 1 }).waitFor();
    await signIn(page);
    await page.getByRole('heading', { name: 'Hatlar', level: 1 }).waitFor();
    await page.locator('[data-instance="shop"]').getByText('bağlı', { exact: true }).waitFor();
    assert.match(await page.title(), /^Hatlar · /);
    await page.getByRole('link', { name: 'API erişimi' }).click();
    await page.getByRole('heading', { name: 'API erişimi', level: 1 }).waitFor();
    // No English string of the dashboard's on a Turkish page, nor the word "instance" (a hat in Turkish).
    const english = Object.entries(dictionaries.en)
      .filter(([key, text]) => text !== dictionaries.tr[key as keyof typeof dictionaries.tr] && text.length > 3 && !text.includes('{'))
      .map(([, text]): string => text)
      .concat('Instance');
    const sections = ['settings', 'send', 'chatbot', 'flows', 'campaigns', 'scheduled', 'messages', 'webhooks'];
    for (const hash of ['#/instances', '#/api-access', ...sections.map((s) => `#/instances/shop/${s}`)]) {
      await page.goto(`${gw.baseUrl}/${hash}`);
      await page.locator('h1').waitFor();
      if (hash.startsWith('#/instances/')) {
        await page.getByTestId('connection').getByText('bağlı', { exact: true }).waitFor();
        await page.locator('[role="tabpanel"] h2').waitFor();
      }
      const body = await page.locator('body').innerText();
      // As whole words ("Chat" is in the Turkish "Chatbot" too), any case for "instance" (not in the API's paths, "/instance").
      const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const left = english.filter((text) =>
        new RegExp(`(^|[^\\p{L}/])${escape(text)}($|[^\\p{L}])`, text === 'Instance' ? 'iu' : 'u').test(body),
      );
      assert.deepEqual(left, [], `${hash} in Turkish`);
      await shoot(page, `${hash.slice(2).replaceAll('/', '-')}-tr`);
    }
    assert.match(await page.title(), /^Hat shop · /);
    await page.getByLabel('Dil', { exact: true }).selectOption('en');
    await page.getByRole('heading', { name: 'Webhook deliveries', level: 2 }).waitFor();
    await page.getByRole('tab', { name: 'Webhooks', selected: true }).waitFor();
    await page.locator('header nav').getByRole('link', { name: 'API access' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('deleting asks first; a revoked token signs the user out saying why', async () => {
  assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id: 'temp' } })).status, 200);
  const { page, close } = await open('en');
  try {
    await signIn(page);
    const card = page.locator('[data-instance="temp"]');
    await card.waitFor();
    let asked = '';
    page.once('dialog', (d) => ((asked = d.message()), d.dismiss()));
    await card.getByRole('button', { name: 'Delete' }).click();
    assert.match(asked, /^Delete instance temp and all its/);
    assert.equal(await card.count(), 1, 'dismissed: kept');
    page.once('dialog', (d) => d.accept());
    await card.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Instance temp deleted.' }).waitFor();
    await eventually(async () => (await card.count()) === 0, 10_000, 'gone from the list');
    assert.equal((await gw.request('/api/instance/temp/status')).status, 404);
  } finally {
    await close();
  }
  // An instance token sees its own instance; revoked, the page's next poll signs the user out.
  const second = (await (await gw.request('/api/tokens', { method: 'POST', json: { instanceId: 'shop', scopes: ['read'] } })).json()) as {
    id: string;
    token: string;
  };
  const other = await open('en');
  try {
    await signIn(other.page, second.token);
    await other.page.locator('[data-instance="shop"]').waitFor();
    assert.equal(await other.page.locator('[data-instance]').count(), 1, 'an instance token sees its own instance only');
    assert.equal((await gw.request(`/api/tokens/${second.id}`, { method: 'DELETE' })).status, 200);
    await other.page
      .getByRole('alert')
      .filter({ hasText: 'Your token is no longer accepted: sign in again.' })
      .waitFor({ timeout: 10_000 });
    await other.page.getByLabel(/API token/).waitFor();
  } finally {
    await other.close();
  }
});

/**
 * Opens a section of shop's page by its tab and returns its panel: the only section shown, the
 * address naming it, and the instance's connection in view above it, even scrolled to the end.
 */
async function openSection(page: Page, tab: string, id: string) {
  await page.getByRole('tab', { name: tab, exact: true }).click();
  const panel = page.locator(`[role="tabpanel"]#${id}`);
  await panel.waitFor();
  assert.equal(await page.locator('[role="tabpanel"]').count(), 1, 'one section at a time');
  assert.equal(new URL(page.url()).hash, `#/instances/shop/${id}`);
  const connection = page.getByTestId('connection');
  await connection.getByText('connected', { exact: true }).waitFor();
  await connection.getByText(`Connected as Shop Owner (${OWNER})`).waitFor();
  const inView = () =>
    page.evaluate(() => {
      const box = document.querySelector('[data-testid="connection"]')!.getBoundingClientRect();
      return box.top >= 0 && box.bottom <= innerHeight;
    });
  assert.ok(await inView(), `the connection in view on ${id}`);
  await page.evaluate(() => scrollTo(0, document.documentElement.scrollHeight));
  assert.ok(await inView(), `the connection in view at the end of ${id}`);
  await page.evaluate(() => scrollTo(0, 0));
  return panel;
}

test("an instance's page: settings, a test message, a chatbot rule, a campaign to 100 %, a scheduled message, a chat's messages, a webhook delivery retried", async () => {
  const receiver: Receiver = await startReceiver();
  sim.addUser(AYSE, 'Ayşe');
  sim.addUser(MEHMET, 'Mehmet');
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    await page.locator('[data-instance="shop"]').getByRole('link', { name: 'shop' }).click();
    await page.getByRole('heading', { name: 'Instance shop', level: 1 }).waitFor();
    await assertLabelled(page);

    // Settings: the webhook, which refuses (400) at first: its events fail for good.
    receiver.answer = 400;
    const settings = await openSection(page, 'Settings', 'settings');
    await assertLabelled(page);
    await settings.getByLabel('Webhook URL', { exact: true }).fill(`${receiver.url}/hook`);
    await settings.getByLabel('Webhook on', { exact: true }).check();
    await settings.getByLabel('Decline incoming calls', { exact: true }).check();
    await settings.getByLabel('Text sent to a declined caller', { exact: true }).fill('Please write to us.');
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await shoot(page, 'instance-settings');
    const stored = (await (await gw.request('/api/instance/shop/settings')).json()) as Record<string, string>;
    assert.equal(stored.webhookUrl, `${receiver.url}/hook`);
    assert.equal(stored.webhookEnabled, 'true');
    assert.equal(stored.rejectCalls, 'true');
    assert.equal(stored.rejectCallsMessage, 'Please write to us.');
    // Switched off again (the rest of this test does not call), and the page shows what is stored.
    await settings.getByLabel('Decline incoming calls', { exact: true }).uncheck();
    await settings.getByRole('button', { name: 'Save' }).click();
    await eventually(
      async () => ((await (await gw.request('/api/instance/shop/settings')).json()) as Record<string, string>).rejectCalls === 'false',
      5_000,
      'rejectCalls off',
    );
    assert.equal(await settings.getByLabel('Text sent to a declined caller', { exact: true }).inputValue(), 'Please write to us.');

    // A test message reaches the phone.
    const send = await openSection(page, 'Test message', 'send');
    await send.getByLabel('To', { exact: true }).fill(AYSE);
    await send.getByLabel('Message', { exact: true }).fill('Merhaba from the dashboard');
    await send.getByRole('button', { name: 'Send' }).click();
    await send
      .getByRole('status')
      .filter({ hasText: /^Sent \(/ })
      .waitFor({ timeout: 20_000 });
    await eventually(
      async () => sim.received.find((m) => m.to === AYSE && /Merhaba from the dashboard/.test(JSON.stringify(m.message))),
      20_000,
      'at Ayşe',
    );

    // A chatbot rule, the bot switched on.
    const bot = await openSection(page, 'Chatbot', 'chatbot');
    await assertLabelled(page);
    await bot.getByLabel('When the message', { exact: true }).selectOption('contains');
    await bot.getByLabel('Text', { exact: true }).fill('fiyat');
    await bot.getByLabel('Reply', { exact: true }).fill('Merhaba {name}, fiyatlar...');
    await bot.getByRole('button', { name: 'Add the rule' }).click();
    await bot.locator('[data-rule]').filter({ hasText: 'fiyat' }).waitFor();
    if (await bot.getByRole('button', { name: 'Turn on' }).count()) await bot.getByRole('button', { name: 'Turn on' }).click();
    await bot.getByText('The chatbot is on.').waitFor();
    // A second rule, moved above the first, the first edited and switched off.
    await bot.getByLabel('When the message', { exact: true }).selectOption('exact');
    await bot.getByLabel('Text', { exact: true }).fill('adres');
    await bot.getByLabel('Reply', { exact: true }).fill('İstiklal Cd. 1');
    await bot.getByRole('button', { name: 'Add the rule' }).click();
    await bot.locator('[data-rule]').filter({ hasText: 'adres' }).waitFor();
    await bot.getByRole('button', { name: 'Move “adres” up' }).click();
    await eventually(async () => (await bot.locator('[data-rule]').first().innerText()).includes('adres'), 10_000, 'adres first');
    const fiyat = bot.locator('[data-rule]').filter({ hasText: 'fiyat' });
    await fiyat.getByRole('button', { name: 'Edit' }).click();
    await bot.getByLabel('Reply', { exact: true }).fill('Fiyat listemiz: ...');
    await bot.getByRole('button', { name: 'Save' }).click();
    await bot.locator('[data-rule]').filter({ hasText: 'Fiyat listemiz' }).waitFor();
    await fiyat.getByRole('button', { name: 'Disable' }).click();
    await fiyat.getByRole('button', { name: 'Enable' }).waitFor();
    const rules = (await (await gw.request('/api/instance/shop/chatbot/rules')).json()) as {
      rules: { trigger_text: string; response: string; enabled: number }[];
      enabled: boolean;
    };
    assert.deepEqual(
      rules.rules.map((r) => [r.trigger_text, r.response, r.enabled]),
      [
        ['adres', 'İstiklal Cd. 1', 1],
        ['fiyat', 'Fiyat listemiz: ...', 0],
      ],
    );
    assert.equal(rules.enabled, true);

    // Lines that are not numbers in international form are refused, each named, before anything is sent.
    const campaigns = await openSection(page, 'Campaigns', 'campaigns');
    await assertLabelled(page);
    const started: string[] = [];
    const watch = (r: { method(): string; url(): string }) =>
      void (r.method() === 'POST' && /\/bulk$/.test(r.url()) && started.push(r.url()));
    page.on('request', watch);
    await campaigns.getByLabel('Recipients', { exact: true }).fill(`05550000002, Ayşe\n\n0555 000 00 03\nMehmet\n${MEHMET}, Mehmet`);
    await campaigns.getByLabel('Message', { exact: true }).fill('Merhaba {name}');
    await campaigns.getByRole('button', { name: 'Start the campaign' }).click();
    const refused = campaigns.getByTestId('campaign-problems');
    await refused.waitFor();
    assert.deepEqual((await refused.innerText()).split('\n').filter(Boolean), [
      'Not started: correct these lines first.',
      'Line 1: 05550000002 is written the local way; give it with its country code (e.g. 905550000002 for Turkey).',
      'Line 3: 0555 000 00 03 is written the local way; give it with its country code (e.g. 905550000003 for Turkey).',
      'Line 4: “Mehmet” is not a phone number in international form (e.g. 905551234567) nor a WhatsApp id.',
    ]);
    assert.equal(await campaigns.getByLabel('Recipients', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.deepEqual(started, [], 'nothing sent to the API');
    await shoot(page, 'instance-campaigns-refused');
    // Should the API still refuse a line, its words are shown, naming the line as the field counts it (blank lines too).
    await page.route('**/api/instance/shop/bulk', (route) =>
      route.fulfill({
        status: 400,
        contentType: 'application/json',
        body: JSON.stringify({ error: 'recipients.1.id: refused for the test', code: 'BAD_REQUEST' }),
      }),
    );
    await campaigns.getByLabel('Recipients', { exact: true }).fill(`${AYSE}\n\n${MEHMET}`);
    await campaigns.getByRole('button', { name: 'Start the campaign' }).click();
    await campaigns.getByTestId('campaign-problems').filter({ hasText: 'Line 3: refused for the test' }).waitFor();
    await page.unroute('**/api/instance/shop/bulk');
    page.off('request', watch);
    assert.equal(started.length, 1, 'that one reached the (stand-in) API');
    assert.equal(((await (await gw.request('/api/instance/shop/bulk')).json()) as { jobs: unknown[] }).jobs.length, 0, 'no campaign');

    // A small campaign, watched to 100 %.
    await campaigns.getByLabel('Recipients', { exact: true }).fill(`${AYSE}, Ayşe\n${MEHMET}, Mehmet`);
    await campaigns.getByLabel('Message', { exact: true }).fill('Merhaba {name}, indirim başladı!');
    await campaigns.getByLabel('Seconds between sends', { exact: true }).fill('0');
    await campaigns.getByRole('button', { name: 'Start the campaign' }).click();
    const job = campaigns.locator('[data-job]').first();
    await job.getByText('100 % (2 of 2)').waitFor({ timeout: 30_000 });
    await job.getByText('completed').waitFor({ timeout: 10_000 });
    assert.equal(await job.locator('progress').getAttribute('value'), '2');
    assert.match((await job.getByRole('link', { name: 'Open in the Temporal UI' }).getAttribute('href'))!, /\/workflows\/bulk-shop-1$/);
    await job.getByRole('button', { name: 'Recipients' }).click();
    await job.locator('tbody tr').nth(1).waitFor();
    assert.match(await job.locator('tbody').innerText(), /Mehmet 905557000003\s+sent/);

    // A slower one is paused, resumed and cancelled from the page.
    await campaigns.getByLabel('Recipients', { exact: true }).fill(`${AYSE}\n${MEHMET}`);
    await campaigns.getByLabel('Message', { exact: true }).fill('Yavaş kampanya');
    await campaigns.getByLabel('Seconds between sends', { exact: true }).fill('600');
    await campaigns.getByRole('button', { name: 'Start the campaign' }).click();
    const slow = campaigns.locator('[data-job="2"]');
    await slow.getByText('running').waitFor({ timeout: 20_000 });
    await slow.getByText('50 % (1 of 2)').waitFor({ timeout: 20_000 });
    await slow.getByRole('button', { name: 'Pause' }).click();
    await slow.getByText('paused').waitFor();
    await slow.getByRole('button', { name: 'Resume' }).click();
    await slow.getByText('running').waitFor();
    page.once('dialog', (d) => d.accept());
    await slow.getByRole('button', { name: 'Cancel' }).click();
    await slow.getByText('cancelled', { exact: true }).waitFor();
    const cancelled = (await (await gw.request('/api/instance/shop/bulk/2')).json()) as {
      status: string;
      counts: { sent: number; cancelled: number };
    };
    assert.equal(cancelled.status, 'cancelled');
    // Resumed, it still kept the 600 s gap after the first message: the second was never sent.
    assert.deepEqual([cancelled.counts.sent, cancelled.counts.cancelled], [1, 1], JSON.stringify(cancelled.counts));

    // A scheduled message, then cancelled.
    const scheduled = await openSection(page, 'Scheduled', 'scheduled');
    await scheduled.getByLabel('To', { exact: true }).fill(MEHMET);
    await scheduled.getByLabel('Message', { exact: true }).fill('Randevunuz yarın');
    await scheduled
      .getByLabel('Send at', { exact: true })
      .fill(new Date(Date.now() + 86_400_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
    await scheduled.getByRole('button', { name: 'Schedule' }).click();
    const row = scheduled.locator('[data-scheduled]').first();
    await row.getByText('pending').waitFor();
    await row.getByRole('button', { name: 'Cancel' }).click();
    await row.getByText('cancelled').waitFor();

    // The chat's messages: the test message and the campaign's.
    const messages = await openSection(page, 'Messages', 'messages');
    await messages.getByLabel('Chat', { exact: true }).selectOption(`${AYSE}@s.whatsapp.net`);
    await messages.getByText('Merhaba from the dashboard').waitFor();
    await messages.getByText('Merhaba Ayşe, indirim başladı!').waitFor();
    // An edit and a poll's votes show on the open page as they happen (its event stream).
    const history = (await (await gw.request(`/api/instance/shop/messages?chatId=${AYSE}`)).json()) as {
      messages: Array<{ id: string; body: string }>;
    };
    const typed = history.messages.find((m) => m.body === 'Merhaba from the dashboard')!;
    const edit = { to: AYSE, msgId: typed.id, body: 'Merhaba from the dashboard, edited' };
    assert.equal((await gw.request('/api/instance/shop/messages/edit', { method: 'POST', json: edit })).status, 200);
    await messages.locator('li', { hasText: 'Merhaba from the dashboard, edited' }).locator('.edited', { hasText: 'edited' }).waitFor();
    const poll = { to: AYSE, name: 'Hangi renk?', values: ['Mavi', 'Yeşil'], selectableCount: 1 };
    const pollId = ((await (await gw.request('/api/instance/shop/messages/poll', { method: 'POST', json: poll })).json()) as { id: string })
      .id;
    await messages.locator('ul.poll').getByText('0 voted').waitFor();
    await eventually(async () => sim.received.some((m) => m.id === pollId && m.to === AYSE), 20_000, 'the poll on the phone');
    await voteFromPhone(sim, { from: sim.user(AYSE), pollId, options: ['Yeşil'] });
    await messages.locator('ul.poll').getByText('1 voted').waitFor();
    assert.equal(await messages.locator('ul.poll li', { hasText: 'Yeşil' }).locator('.badge').innerText(), '1');
    // The contacts' statuses (stories) are a "chat" of their own.
    await postStatus(sim, sim.user(AYSE), [sim.user(OWNER)], { extendedTextMessage: { text: 'Ayşe tatilde' } });
    await messages.getByLabel('Chat', { exact: true }).selectOption({ label: 'Statuses (stories)' });
    await messages.locator('li', { hasText: 'Ayşe tatilde' }).getByText(AYSE).waitFor();
    await messages.getByLabel('Chat', { exact: true }).selectOption(`${AYSE}@s.whatsapp.net`);
    await messages.getByText('Merhaba Ayşe, indirim başladı!').waitFor();
    // A chat's labels show beside it, as they change.
    const label = (await (await gw.request('/api/instance/shop/labels', { method: 'POST', json: { name: 'VIP' } })).json()) as {
      id: string;
    };
    const labeled = { chatId: AYSE, labelId: label.id, action: 'add' };
    assert.equal((await gw.request('/api/instance/shop/chats/labels', { method: 'POST', json: labeled })).status, 200);
    await messages.locator('option', { hasText: 'VIP' }).filter({ hasText: AYSE }).waitFor({ state: 'attached' });
    // A followed channel's latest posts, asked of WhatsApp.
    const channel = sim.channelRegistry.create(sim.user(AYSE), 'Ayşe Haber');
    await publish(sim, channel, { conversation: 'Kanalda ilk gönderi' });
    const follow = { invite: channel.invite };
    assert.equal((await gw.request('/api/instance/shop/channels/follow', { method: 'POST', json: follow })).status, 200);
    await page.reload();
    await messages.getByLabel('Chat', { exact: true }).selectOption({ label: 'Channel: Ayşe Haber' });
    await messages.getByText('Kanalda ilk gönderi').waitFor();
    await messages.getByLabel('Chat', { exact: true }).selectOption(`${AYSE}@s.whatsapp.net`);
    // The test message was a person's: the chatbot keeps out of Ayşe's chat, says so and until when, and resumes on a click.
    const pause = messages.locator('.paused');
    await pause
      .getByText(/^The chatbot is silent in this chat until \d\d:\d\d, because someone wrote here with a message sent as a person’s\.$/)
      .waitFor({ timeout: 10_000 });
    assert.match(await messages.locator('option', { hasText: AYSE }).innerText(), /bot paused/);
    await shoot(page, 'instance-messages-paused');
    await pause.getByRole('button', { name: 'Let the bot answer again' }).click();
    await messages.getByRole('status').filter({ hasText: 'The bot answers in this chat again.' }).waitFor();
    assert.equal(await pause.count(), 0);
    const pauses = (await (await gw.request('/api/instance/shop/chatbot/pauses')).json()) as { pauses: Array<{ chatId: string }> };
    assert.equal(
      pauses.pauses.some((p) => p.chatId === `${AYSE}@s.whatsapp.net`),
      false,
      'resumed',
    );

    // The deliveries the receiver refused are failed: each row says when, what, which chat, its attempts and the answer.
    const deliveries = await openSection(page, 'Webhooks', 'webhooks');
    await assertLabelled(page);
    const failed = deliveries
      .locator('[data-delivery][data-status="failed"]')
      .filter({ hasText: 'Message status' })
      .filter({ hasText: AYSE })
      .first();
    await failed.waitFor({ timeout: 20_000 });
    const id = (await failed.getAttribute('data-delivery'))!;
    const delivery = deliveries.locator(`[data-delivery="${id}"]`);
    const at = (await delivery.locator('time').getAttribute('datetime'))!;
    assert.ok(Date.now() - Date.parse(at) < 10 * 60_000, at);
    assert.equal(await delivery.locator('time').innerText(), new Date(at).toLocaleString('en-GB'), 'in local time');
    assert.equal(await delivery.getByTestId('chat').innerText(), AYSE);
    await delivery.getByText('1 attempt', { exact: true }).waitFor();
    await delivery.getByText('last answer: HTTP 400', { exact: true }).waitFor();
    // A campaign's end concerns no chat.
    await deliveries.locator('[data-delivery]').filter({ hasText: 'Campaign completed' }).first().waitFor();
    assert.equal(
      await deliveries.locator('[data-delivery]').filter({ hasText: 'Campaign completed' }).first().getByTestId('chat').count(),
      0,
    );
    receiver.answer = 200;
    await delivery.getByRole('button', { name: 'Retry' }).click();
    await deliveries.getByRole('status').filter({ hasText: 'Sent again.' }).waitFor();
    await delivery.getByText('delivered', { exact: true }).waitFor({ timeout: 20_000 });
    await delivery.getByText('2 attempts', { exact: true }).waitFor();
    await delivery.getByText('last answer: HTTP 200', { exact: true }).waitFor();
    assert.equal(await delivery.getByRole('button', { name: 'Retry' }).count(), 0, 'no Retry once delivered');
    // Only a failed one has a Retry.
    const retries = await deliveries.evaluate((el) =>
      [...el.querySelectorAll('[data-delivery]')].map((li) => ({
        failed: li.getAttribute('data-status') === 'failed',
        retry: [...li.querySelectorAll('button')].filter((b) => b.textContent === 'Retry').length,
      })),
    );
    assert.ok(retries.some((r) => !r.failed) && retries.some((r) => r.failed), JSON.stringify(retries));
    assert.deepEqual(
      retries.filter((r) => r.retry !== (r.failed ? 1 : 0)),
      [],
    );
    await delivery.getByRole('button', { name: 'Attempts' }).click();
    await delivery.locator('.attempts li').nth(1).waitFor();
    assert.match(await delivery.locator('.attempts').innerText(), /400[\s\S]*200/);
    // Sending a delivered one again is there, beside its attempts, and not a primary button.
    assert.equal(await delivery.getByRole('button', { name: 'Send again' }).getAttribute('class'), 'secondary');
    // Only the failed ones, on asking.
    await deliveries.getByLabel('Show', { exact: true }).selectOption('failed');
    await eventually(async () => (await deliveries.locator(`[data-delivery="${id}"]`).count()) === 0, 10_000, 'the delivered one left out');
    assert.ok(await deliveries.locator('[data-delivery][data-status="failed"]').count());
    assert.equal(await deliveries.locator('[data-delivery]:not([data-status="failed"])').count(), 0);
    await deliveries.getByLabel('Show', { exact: true }).selectOption('');
    await delivery.waitFor();
    await shoot(page, 'instance-webhooks');
    // In Turkish: the event and the attempts in its words (a count takes no plural there).
    await page.getByLabel('Language', { exact: true }).selectOption('tr');
    await delivery.getByText('2 deneme', { exact: true }).waitFor();
    await delivery.getByText('Mesaj durumu', { exact: true }).waitFor();
    await deliveries.locator('[data-delivery][data-status="failed"]').first().getByText('1 deneme', { exact: true }).waitFor();
    await shoot(page, 'instance-webhooks-tr');
    await page.getByLabel('Dil', { exact: true }).selectOption('en');
    assert.deepEqual(problems, []);
  } finally {
    await close();
    await receiver.stop();
  }
});

test('the Flows tab: a flow written as JSON, refused at the step that leads nowhere, switched off and on, its run followed from waiting to cancelled, and runs started from the page', async () => {
  const ZEYNEP = '905551234567';
  sim.addUser(ZEYNEP, 'Zeynep');
  const stored = async () =>
    (await (await gw.request('/api/instance/shop/flows')).json()) as Array<{ id: number; enabled: boolean; version: number }>;
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    await page.locator('[data-instance="shop"]').getByRole('link', { name: 'shop' }).click();
    const flows = await openSection(page, 'Flows', 'flows');
    await flows.getByText('No flows yet.').waitFor();
    const json = flows.getByLabel('The flow, as JSON', { exact: true });
    assert.match(await json.inputValue(), /"name": "Feedback"/, 'a new flow starts from the example');

    // A step that leads to no step: refused, the step named with its line, marked among the steps and chosen in the JSON.
    const written = (next: string, seconds = 172800) =>
      [
        '{',
        '  "name": "Kargo",',
        '  "enabled": true,',
        '  "trigger": { "type": "api" },',
        '  "steps": [',
        '    { "id": "ask", "type": "ask", "text": "Merhaba {name}, sipariş numaranız?", "save": "order" },',
        `    { "id": "shipped", "type": "send", "text": "{order} kargoda", "next": "${next}" },`,
        `    { "id": "followup", "type": "wait", "seconds": ${seconds} }`,
        '  ]',
        '}',
      ].join('\n');
    const chosen = () => json.evaluate((el: HTMLTextAreaElement) => el.value.slice(el.selectionStart, el.selectionEnd));
    const refused = flows.getByTestId('flow-error');
    await json.fill(written('folowup'));
    await flows.getByRole('button', { name: 'Create the flow' }).click();
    await refused.waitFor();
    assert.deepEqual((await refused.innerText()).split('\n').filter(Boolean), [
      'Not saved: step “shipped” (line 7) is wrong.',
      'steps: step "shipped" leads to "folowup", which is no step of the flow',
    ]);
    assert.deepEqual(await flows.locator('.flow-steps li.bad').allInnerTexts(), ['⚠ shipped · send']);
    assert.equal(await chosen(), '{ "id": "shipped", "type": "send", "text": "{order} kargoda", "next": "folowup" }');
    assert.equal(await json.getAttribute('aria-invalid'), 'true');
    // A wrong field is named by its place in the steps (steps.2): the step there is marked.
    await json.fill(written('followup', 0));
    await flows.getByRole('button', { name: 'Create the flow' }).click();
    await refused.filter({ hasText: 'followup' }).waitFor();
    assert.deepEqual((await refused.innerText()).split('\n').filter(Boolean), [
      'Not saved: step “followup” (line 8) is wrong.',
      'steps.2.seconds: seconds must be at least 1',
    ]);
    assert.deepEqual(await flows.locator('.flow-steps li.bad').allInnerTexts(), ['⚠ followup · wait']);
    assert.equal(await chosen(), '{ "id": "followup", "type": "wait", "seconds": 0 }');
    assert.deepEqual(await stored(), [], 'nothing stored');
    await shoot(page, 'instance-flows-refused');

    // Corrected, it is created; the editor starts again from the example.
    await json.fill(written('followup'));
    await flows.getByRole('button', { name: 'Create the flow' }).click();
    await flows.getByRole('status').filter({ hasText: '“Kargo” saved (version 1).' }).waitFor();
    assert.match(await json.inputValue(), /"name": "Feedback"/);
    const [flow] = await stored();
    const row = flows.locator(`[data-flow="${flow!.id}"]`);
    assert.match(await row.innerText(), /^Kargo version 1\s+Started through the API only\s+Enabled/);
    const enabled = row.getByRole('switch', { name: 'Enabled' });
    assert.equal(await enabled.isChecked(), true);

    // Switched off (the whole flow saved again: version 2), a run cannot start; switched on (version 3), it can.
    await enabled.click();
    await row.getByText('version 2', { exact: true }).waitFor();
    assert.equal(await enabled.isChecked(), false);
    assert.deepEqual(
      (await stored()).map((f) => [f.enabled, f.version]),
      [[false, 2]],
    );
    const start = () => gw.request(`/api/instance/shop/flows/${flow!.id}/start`, { method: 'POST', json: { to: ZEYNEP } });
    const refusedStart = await start();
    assert.equal(refusedStart.status, 409);
    assert.equal(((await refusedStart.json()) as { code: string }).code, 'FLOW_DISABLED');
    // Its runs say so, and offer no start.
    await row.getByRole('button', { name: 'Runs' }).click();
    await flows.getByTestId('flow-runs').getByText('The flow is switched off: switch it on to start a run.').waitFor();
    assert.equal(await flows.getByRole('form', { name: 'Start a run' }).count(), 0);
    await row.getByRole('button', { name: 'Runs' }).click();
    await flows.getByTestId('flow-runs').waitFor({ state: 'detached' });
    await enabled.click();
    await row.getByText('version 3', { exact: true }).waitFor();
    assert.equal(await enabled.isChecked(), true);
    assert.deepEqual(
      (await stored()).map((f) => [f.enabled, f.version]),
      [[true, 3]],
    );

    // Edited as JSON: the stored flow, one step a line; saved again, version 4.
    await row.getByRole('button', { name: 'Edit' }).click();
    await flows.getByRole('heading', { name: 'Edit “Kargo”' }).waitFor();
    const shown = await json.inputValue();
    assert.ok(
      shown.split('\n').some((line) => /^ {4}\{ "id": "shipped", "type": "send", .*"next": "followup"/.test(line)),
      shown,
    );
    await json.fill(shown.replace('{order} kargoda', '{order} kargoya verildi'));
    await flows.getByRole('button', { name: 'Save', exact: true }).click();
    await flows.getByRole('status').filter({ hasText: '“Kargo” saved (version 4).' }).waitFor();
    await row.getByText('version 4', { exact: true }).waitFor();
    const edited = (await (await gw.request(`/api/instance/shop/flows/${flow!.id}`)).json()) as { steps: Array<{ text?: string }> };
    assert.equal(edited.steps[1]!.text, '{order} kargoya verildi');

    // A run started through the API asks its question and waits: the page lists it, then shows it.
    const started = await start();
    assert.equal(started.status, 200);
    const { runId } = (await started.json()) as { runId: string };
    await row.getByRole('button', { name: 'Runs' }).click();
    const runs = flows.getByTestId('flow-runs');
    await runs.getByRole('heading', { name: 'Runs of “Kargo”' }).waitFor();
    const listed = runs.locator(`[data-run="${runId}"]`);
    await listed.locator('.badge').getByText('waiting', { exact: true }).waitFor({ timeout: 20_000 });
    assert.match(await listed.innerText(), new RegExp(`^waiting\\s+${ZEYNEP}\\s+ask\\s+\\d`));
    // Only the runs of the status chosen.
    await runs.getByLabel('Status', { exact: true }).selectOption('completed');
    await runs.getByText('No runs.', { exact: true }).waitFor();
    await runs.getByLabel('Status', { exact: true }).selectOption('waiting');
    await listed.getByRole('button', { name: /^Details/ }).click();
    const details = runs.getByTestId('run');
    const question = await eventually(
      async () =>
        sim.received
          .filter((m) => m.to === ZEYNEP && !m.ownCopy)
          .map((m) => m.message.conversation ?? m.message.extendedTextMessage?.text)
          .find((text) => text?.endsWith('sipariş numaranız?')),
      20_000,
      'the question on the phone',
    );
    await details
      .locator('.history-line.sent')
      .filter({ hasText: `Sent: ${question}` })
      .waitFor();
    assert.match(await details.locator('dl.vars').innerText(), new RegExp(`phone\\s+${ZEYNEP}`));
    assert.match(
      (await details.getByRole('link', { name: 'Open in the Temporal UI' }).getAttribute('href'))!,
      new RegExp(`^http://temporal-ui\\.example:8233/namespaces/[^/]+/workflows/flow-shop-${runId}$`),
    );
    await assertLabelled(page);
    assert.deepEqual(await tabThrough(page), { missed: [], unmarked: [] }, 'the Flows tab');
    await shoot(page, 'instance-flows');
    // On a phone each run wraps onto its own lines: the list does not scroll sideways.
    const desktop = page.viewportSize()!;
    await page.setViewportSize({ width: 390, height: 844 });
    assert.deepEqual(await overflowing(page, '.flow-runs .table'), [], 'the runs fit a phone');
    await page.setViewportSize(desktop);

    // Cancelled from the page, after a question.
    let asked = '';
    page.once('dialog', (d) => ((asked = d.message()), d.accept()));
    await details.getByRole('button', { name: 'Cancel the run' }).click();
    await details.locator('.badge').getByText('cancelled', { exact: true }).waitFor();
    assert.match(asked, new RegExp(`^Cancel the run with ${ZEYNEP}\\?`));
    assert.equal(await details.getByRole('button', { name: 'Cancel the run' }).count(), 0, 'nothing to cancel once ended');
    assert.equal(((await (await gw.request(`/api/instance/shop/flows/runs/${runId}`)).json()) as { status: string }).status, 'cancelled');
    await runs.getByLabel('Status', { exact: true }).selectOption('cancelled');
    await listed.locator('.badge').getByText('cancelled', { exact: true }).waitFor();

    // Started from the page, with variables of its own (written as JSON, refused until they are); a second
    // start in that chat is refused while the first runs, unless it replaces it.
    const form = runs.getByRole('form', { name: 'Start a run' });
    const vars = form.getByLabel('Variables (optional)');
    await form.getByLabel('To', { exact: true }).fill(ZEYNEP);
    await vars.fill('{ "order": 10042');
    await form.getByRole('button', { name: 'Start', exact: true }).click();
    await form.getByRole('alert').filter({ hasText: 'The variables are not JSON yet:' }).waitFor();
    await vars.fill('["10042"]');
    await form.getByRole('button', { name: 'Start', exact: true }).click();
    await form.getByRole('alert').filter({ hasText: 'The variables must be a JSON object' }).waitFor();
    const runsOfFlow = async () =>
      ((await (await gw.request(`/api/instance/shop/flows/${flow!.id}/runs`)).json()) as { runs: Array<{ runId: string; status: string }> })
        .runs;
    assert.equal((await runsOfFlow()).length, 1, 'nothing started while the variables were wrong');
    await vars.fill('{ "order": "10042" }');
    await form.getByRole('button', { name: 'Start', exact: true }).click();
    await form
      .getByRole('status')
      .filter({ hasText: `Run started for ${ZEYNEP}.` })
      .waitFor();
    const fromPage = (await runsOfFlow()).find((r) => r.runId !== runId)!;
    assert.ok(fromPage, 'a second run');
    // The list shows every status again, and the new run is opened.
    assert.equal(await runs.getByLabel('Status', { exact: true }).inputValue(), '');
    await runs.locator(`[data-run="${fromPage.runId}"]`).waitFor();
    await details.locator('code.run-id').getByText(fromPage.runId, { exact: true }).waitFor();
    await eventually(async () => /order\s+10042/.test(await details.locator('dl.vars').innerText()), 10_000, 'the variable shown');
    await form.getByRole('button', { name: 'Start', exact: true }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: `the chat has a running flow run (${fromPage.runId})` })
      .waitFor();
    await form.getByLabel('Cancel a run under way in that chat and start this one').check();
    await form.getByRole('button', { name: 'Start', exact: true }).click();
    await form
      .getByRole('status')
      .filter({ hasText: `Run started for ${ZEYNEP}; the run that was under way there was cancelled.` })
      .waitFor();
    const after = await runsOfFlow();
    assert.equal(after.length, 3);
    assert.equal(after.find((r) => r.runId === fromPage.runId)!.status, 'cancelled');
    assert.equal(after.filter((r) => r.status === 'cancelled').length, 2);

    // Deleted, after a question.
    page.once('dialog', (d) => d.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await flows.getByRole('status').filter({ hasText: 'Flow “Kargo” deleted.' }).waitFor();
    await flows.getByText('No flows yet.').waitFor();
    assert.deepEqual(await stored(), []);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('the pages follow the event stream instead of polling: idle, the status is not asked; a new message shows at once; an instance token streams its instance', async () => {
  const { page, problems, close } = await open('en');
  const requests: Array<{ url: string; type: string }> = [];
  page.on('request', (r) => requests.push({ url: r.url(), type: r.resourceType() }));
  try {
    await signIn(page);
    await page.locator('[data-instance="shop"]').getByRole('link', { name: 'shop' }).click();
    const messages = await openSection(page, 'Messages', 'messages');
    await messages.getByLabel('Chat', { exact: true }).selectOption(`${AYSE}@s.whatsapp.net`);
    await messages.locator('ol.messages li').first().waitFor();
    // One stream for the whole page, with the admin token: every instance's events.
    await eventually(async () => requests.some((r) => r.type === 'eventsource'), 10_000, 'the stream opened');
    const streams = requests.filter((r) => r.type === 'eventsource').map((r) => new URL(r.url).pathname);
    assert.deepEqual([...new Set(streams)], ['/api/events']);

    // Idle for longer than the page polled the instance's status (every 3 s): it is not asked, since its
    // status did not change (the chat is asked only for an event of its own).
    const from = requests.length;
    await new Promise((r) => setTimeout(r, 4_500));
    const asked = requests
      .slice(from)
      .filter((r) => r.type === 'fetch')
      .map((r) => new URL(r.url).pathname);
    assert.ok(!asked.includes('/api/instance/shop/status'), asked.join(', '));

    // A message from the phone: the chat is asked again because of its event, and shows it.
    await sendFromPhone(sim, sim.user(AYSE), sim.user(OWNER), { conversation: 'Akıştan gelen mesaj' });
    await messages.getByText('Akıştan gelen mesaj').waitFor({ timeout: 10_000 });
    assert.ok(requests.slice(from).some((r) => new URL(r.url).pathname === '/api/instance/shop/chats/messages'));
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }

  // An instance token may not read every instance's stream: the page reads its instance's instead.
  const made = await gw.request('/api/tokens', { method: 'POST', json: { instanceId: 'shop', scopes: ['read'] } });
  const { token } = (await made.json()) as { token: string };
  const second = await open('en');
  const seen: string[] = [];
  second.page.on('request', (r) => r.resourceType() === 'eventsource' && seen.push(new URL(r.url()).pathname));
  try {
    await signIn(second.page, token);
    await second.page.locator('[data-instance="shop"]').getByRole('link', { name: 'shop' }).click();
    await second.page.getByTestId('connection').waitFor();
    await eventually(async () => seen.includes('/api/instance/shop/events'), 10_000, "the instance's stream");
    assert.equal(seen[0], '/api/events');
    assert.deepEqual(second.problems, []);
  } finally {
    await second.close();
  }
});
