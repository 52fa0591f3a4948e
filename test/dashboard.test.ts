// The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a gateway on
// real Baileys and the simulator: sign in, create an instance, pair it from the QR the page shows,
// see it connected, the settings page, both languages, keyboard use and labelled inputs. Every page
// is photographed at desktop and phone width into test-results/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Simulator } from '../simulator/simulator.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { dictionaries } from '../web/src/words.js';

const root = resolve(import.meta.dirname, '..');
const SHOTS = join(root, 'test-results', 'screenshots');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const OWNER = '905557000001';

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
    env: { WA_WS_URL: sim.url, WA_VERSION: '2.3000.1023223821', TEMPORAL_UI_URL: 'http://temporal-ui.example:8233' },
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
  page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
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
    assert.deepEqual(order, ['select', 'input#token', 'button']);
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

test('the settings page shows the token masked, how to call the API, and links to the API docs and the Temporal UI', async () => {
  const { page, problems, close } = await open('en');
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    const shown = page.getByTestId('token');
    assert.ok(!(await shown.innerText()).includes(gw.token), 'masked');
    assert.ok(!(await page.locator('pre').innerText()).includes(gw.token), 'masked in the examples');
    for (const way of ['Authorization: Bearer', 'X-Api-Key:', '?token='])
      assert.ok((await page.locator('pre').innerText()).includes(way), way);
    await page.getByRole('button', { name: 'Show' }).click();
    assert.equal(await shown.innerText(), gw.token);
    assert.equal(await page.getByRole('link', { name: /API documentation/ }).getAttribute('href'), './api/docs/');
    await page.getByRole('link', { name: /Temporal UI/ }).waitFor();
    assert.match(
      (await page.getByRole('link', { name: /Temporal UI/ }).getAttribute('href'))!,
      /^http:\/\/temporal-ui\.example:8233\/namespaces\/t-dashboard/,
    );
    await page.getByRole('button', { name: 'Hide' }).click();
    await shoot(page, 'settings');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('in Turkish, from the browser’s language or switched to, with the reference’s page names and no English left', async () => {
  const { page, problems, close } = await open('tr');
  try {
    await page.getByRole('heading', { name: 'Giriş', level: 1 }).waitFor();
    await signIn(page);
    await page.getByRole('heading', { name: 'Instance Yönetimi', level: 1 }).waitFor();
    await page.locator('[data-instance="shop"]').getByText('bağlı', { exact: true }).waitFor();
    assert.match(await page.title(), /^Instance Yönetimi · /);
    await page.getByRole('link', { name: 'Ayarlar' }).click();
    await page.getByRole('heading', { name: 'Ayarlar', level: 1 }).waitFor();
    // No English string of the dashboard's on a Turkish page.
    const english = Object.entries(dictionaries.en)
      .filter(([key, text]) => text !== dictionaries.tr[key as keyof typeof dictionaries.tr] && text.length > 3 && !text.includes('{'))
      .map(([, text]) => text);
    for (const hash of ['#/instances', '#/settings']) {
      await page.goto(`${gw.baseUrl}/${hash}`);
      await page.locator('h1').waitFor();
      const body = await page.locator('body').innerText();
      const left = english.filter((text) => body.includes(text));
      assert.deepEqual(left, [], `${hash} in Turkish`);
      await shoot(page, `${hash.slice(2)}-tr`);
    }
    await page.getByLabel('Dil').selectOption('en');
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
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
