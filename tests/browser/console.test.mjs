// The settings page (/tiktok/console) in Debian's headless Chromium, driven by playwright-core,
// against `make dev`'s stack started by run.sh (BROWSER_CONSOLE_URL, BROWSER_ARTIFACTS).
// Every step leaves a screenshot in BROWSER_ARTIFACTS. TikTok's image CDN is not reachable here:
// its avatar and cover URLs are answered with generated SVGs, so the screenshots show images.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { mintAppJwt } from './mint-app-jwt.mjs';

const CONSOLE_URL = process.env.BROWSER_CONSOLE_URL;
const TIKTOK_URL = process.env.BROWSER_TIKTOK_URL;
const ARTIFACTS = process.env.BROWSER_ARTIFACTS;
// The local stack's app_jwt_secret, for the production way in: a JWT minted by the app.
const APP_JWT_SECRET = process.env.BROWSER_APP_JWT_SECRET;
assert.ok(CONSOLE_URL && TIKTOK_URL && ARTIFACTS && APP_JWT_SECRET, 'run through tests/browser/run.sh (make browser)');
const ORIGIN = new URL(CONSOLE_URL).origin;
const TIKTOK_ORIGIN = new URL(TIKTOK_URL).origin;
const DESKTOP = { width: 1100, height: 900 };
const PHONE = { width: 375, height: 812 };
const literally = (text) => new RegExp(`^${text.replaceAll('.', '\\.')}$`);

let browser;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

// A stand-in image for TikTok's CDN: a flat coloured tile with a letter or a play sign (flat, so
// the screenshots stay small).
function svg(url) {
  const key = new URL(url).pathname;
  let hash = 0;
  for (const c of key) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const avatar = key.includes('/avatar/');
  const label = avatar ? (key.includes('alice') ? 'A' : key.includes('bob') ? 'B' : '?') : '▶';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="400" viewBox="0 0 300 400">`
    + `<rect width="300" height="400" fill="hsl(${hash % 360},55%,42%)"/>`
    + `<text x="150" y="235" font-family="sans-serif" font-size="120" fill="#fff" text-anchor="middle">${label}</text></svg>`;
}

// A page of its own (own context: nothing shared between the tests), with the checks every test
// wants: no CSP violation or script error, and no request to a third party. `tolerate`: console
// errors a test causes on purpose (a request it makes fail).
async function openConsole(t, viewport = DESKTOP, { tolerate = [] } = {}) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(60_000);
  await context.route(/^https:\/\/[^/]+\.tiktokcdn\.com\//, (route) => route.fulfill({
    status: 200, contentType: 'image/svg+xml', body: svg(route.request().url()),
  }));
  // `cargo lambda watch` (make dev's Lambda emulator) now and then loses a large response: its
  // runtime API acknowledges the function's POST of the response before it has read the body,
  // and the page (~60 KB) then comes back as the emulator's own 500
  // {"type":"https://httpstatuses.com/500",…}, a few times in a thousand loads. Such a load (the
  // page's or the connect window's) is tried again, twice at most; the function's own errors
  // ({"error":…}) are passed on as they are.
  await context.route((url) => url.origin === ORIGIN && url.pathname === '/tiktok/console', async (route) => {
    let response;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      response = await route.fetch();
      if (response.status() !== 500 || !(await response.text()).includes('"https://httpstatuses.com/500"')) break;
    }
    await route.fulfill({ response });
  });
  // What the page and its windows asked of the stack, for the report of a failed test.
  const started = Date.now();
  const journal = [];
  context.on('response', (response) => {
    const url = new URL(response.url());
    if (url.origin === ORIGIN || url.origin === TIKTOK_ORIGIN) {
      journal.push(`+${Date.now() - started} ms ${response.request().method()} ${url.pathname} ${response.status()}`);
    }
  });
  context.on('requestfailed', (request) => {
    journal.push(`+${Date.now() - started} ms ${request.method()} ${new URL(request.url()).pathname} failed: ${request.failure()?.errorText}`);
  });
  const page = await context.newPage();
  const problems = [];
  const foreign = [];
  page.on('console', (message) => {
    if (message.type() === 'debug') journal.push(`+${Date.now() - started} ms console: ${message.text()}`);
    if (message.type() === 'error' && !tolerate.some((re) => re.test(message.text()))) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== ORIGIN && !url.hostname.endsWith('.tiktokcdn.com')) foreign.push(url.href);
  });
  const response = await page.goto(CONSOLE_URL);
  assert.equal(response.status(), 200, await response.text());
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/);
  assert.match(csp, /connect-src 'self'/);
  t.after(async () => {
    // A failed test leaves what the page showed and what it sent, to tell a flaky stack from a
    // broken page (printed by run.sh).
    if (t.error) await report(t.name, page, journal, started).catch((e) => console.log(`# no report: ${e}`));
    await context.close();
  });
  const finish = () => {
    // A resource refused by the policy shows up as a console error ("Refused to …").
    assert.deepEqual(problems, [], 'console errors (CSP violations, script errors)');
    assert.deepEqual(foreign, [], 'requests to a third party');
  };
  return { context, page, finish };
}

async function report(name, page, journal, started) {
  const slug = name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
  await shot(page, `FAILED-${slug}`, { fullPage: true });
  const seen = await page.evaluate(() => ({
    banner: document.querySelector('#banner-text')?.textContent,
    alerts: Array.from(document.querySelectorAll('[role=alert]'))
      .filter((el) => el.getClientRects().length > 0).map((el) => el.textContent.trim()),
    focused: document.activeElement?.outerHTML.slice(0, 200),
  }));
  const lines = [`failed at +${Date.now() - started} ms: ${name}`, `banner: ${seen.banner}`,
    `visible alerts: ${JSON.stringify(seen.alerts)}`, `focused: ${seen.focused}`, ...journal];
  await writeFile(path.join(ARTIFACTS, `FAILED-${slug}.log`), `${lines.join('\n')}\n`);
}

async function shot(page, name, options = {}) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), ...options });
}

// A screenshot of one part of the page (an account's posting section).
async function shotOf(locator, name) {
  await locator.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// A GET of the service's API (`path` under the console's URL) as `user`'s app back end would
// make it, with a JWT minted as docs/deploy.md#app-jwts shows.
function apiAs(user, path) {
  return fetch(new URL(path, CONSOLE_URL), {
    headers: { Authorization: `Bearer ${mintAppJwt(user, APP_JWT_SECRET)}` },
  });
}

// The fake TikTok's control API (lib.rs "Control API").
async function fake(route, body) {
  const response = await fetch(`${TIKTOK_URL}/_fake/${route}`, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${route}: ${await response.clone().text()}`);
  return response.json();
}

async function signIn(page, user) {
  // By keyboard: the field is labelled, Enter submits.
  await page.getByLabel('App user name').fill(user);
  await page.getByLabel('App user name').press('Enter');
  await page.getByText(`Signed in as ${user}`).waitFor();
  await assertJwtOnlyInMemory(page);
}

// The JWT (eyJ…) is in no URL, storage or cookie of the page.
async function assertJwtOnlyInMemory(page) {
  const places = await page.evaluate(() => [location.href, JSON.stringify(localStorage),
    JSON.stringify(sessionStorage), document.cookie, document.documentElement.outerHTML]);
  for (const place of places) assert.ok(!place.includes('eyJ'), `a JWT in ${place.slice(0, 80)}`);
  const cookies = await page.context().cookies();
  assert.ok(cookies.every((c) => !c.value.includes('eyJ')), 'a JWT in a cookie');
}

// Presses Connect TikTok (or `button`) and answers the consent page in the window it opens:
// `account` is the label of the account to choose, `untick` the scopes to leave out, `decision`
// the button.
async function connect(page, { account, untick = [], decision = 'Authorize', screenshot, button = 'Connect TikTok' }) {
  const [consent] = await Promise.all([
    page.context().waitForEvent('page'),
    page.getByRole('button', { name: button }).click(),
  ]);
  await consent.waitForURL(/\/v2\/auth\/authorize\//);
  await consent.getByRole('heading', { name: 'Log in with TikTok' }).waitFor();
  assert.ok(!consent.url().includes('eyJ'), 'the JWT is not in the authorize URL');
  await consent.getByRole('radio', { name: account }).check();
  for (const scope of untick) await consent.getByRole('checkbox', { name: scope }).uncheck();
  if (screenshot) await shot(consent, screenshot);
  const offered = await consent.getByRole('checkbox').evaluateAll((boxes) => boxes.map((b) => b.value));
  const closed = consent.waitForEvent('close');
  await consent.getByRole('button', { name: decision }).click();
  // Back on the console URL, the window hands the outcome to this page and closes itself.
  await closed;
  return offered;
}

// The visible banner (its text is also in a screen-reader-only live region).
function banner(page, text) {
  return page.locator('#banner-text').filter({ hasText: text });
}

function card(page, name) {
  return page.getByRole('listitem').filter({ has: page.getByRole('heading', { name, level: 3 }) });
}

async function accessibleBasics(page) {
  const missing = await page.evaluate(() => {
    const visible = (el) => el.getClientRects().length > 0;
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (visible(el) && el.type !== 'hidden' && !el.labels?.length && !el.getAttribute('aria-label')) out.push(el.outerHTML);
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (visible(el) && !(el.getAttribute('aria-label') || el.textContent.trim())) out.push(el.outerHTML);
    }
    for (const el of document.querySelectorAll('img')) if (!el.hasAttribute('alt')) out.push(el.outerHTML);
    return out;
  });
  assert.deepEqual(missing, [], 'controls without a label or images without alt');
}

test('sign in, connect Alice, watch the countdown, page through her videos, disconnect', async (t) => {
  const { page, finish } = await openConsole(t);
  await page.getByRole('heading', { name: 'TikTok connections' }).waitFor();
  // Signed out: only the sign-in forms (no empty banner, no account sections).
  for (const hidden of ['#banner', '#connect', '#accounts', '#who']) {
    assert.equal(await page.locator(hidden).isVisible(), false, `${hidden} is shown`);
  }
  await accessibleBasics(page);
  await shot(page, '01-sign-in');

  await signIn(page, 'browser-user-1');
  await page.getByText('No TikTok account is connected yet.').waitFor();
  await shot(page, '02-signed-in');

  await connect(page, { account: /Alice Dancer/, screenshot: '03-consent-page' });
  await banner(page, 'Connected Alice Dancer.').waitFor();
  const alice = card(page, 'Alice Dancer');
  await alice.getByText('Active', { exact: true }).waitFor();
  await alice.getByText('open-alice-0001').waitFor();
  for (const scope of ['user.info.basic', 'user.info.profile', 'user.info.stats', 'video.list']) {
    await alice.getByRole('listitem').filter({ hasText: literally(scope) }).waitFor();
  }
  assert.equal(await alice.getByRole('button', { name: 'Reconnect' }).count(), 0, 'no Reconnect on an active account');

  // The countdown is live: it says "Token expires in …" and moves every second.
  const countdown = alice.locator('.countdown');
  const first = await countdown.textContent();
  assert.match(first, /^Token expires in (\d+ d )?\d+ h \d+ min( \d+ s)?$/);
  let now = first;
  for (let waited = 0; now === first && waited < 5_000; waited += 250) {
    await page.waitForTimeout(250);
    now = await countdown.textContent();
  }
  assert.notEqual(now, first, 'the countdown did not move in 5 s');

  // The avatar loaded (from the stand-in CDN) and the videos' first page is there.
  await alice.locator('.avatar img').evaluate((img) => img.decode());
  const grid = alice.locator('.video-grid > li');
  await alice.getByText('Page 1').waitFor();
  assert.equal(await grid.count(), 6);
  await accessibleBasics(page);
  await shot(page, '04-connected', { fullPage: true });

  // Every page, with Next, until it is disabled: Alice's 25 videos, each once.
  const seen = new Set();
  const titles = [];
  const next = alice.getByRole('button', { name: 'Next' });
  for (let pageNumber = 1; ; pageNumber += 1) {
    await alice.getByText(`Page ${pageNumber}`, { exact: true }).waitFor();
    for (const href of await grid.locator('a').evaluateAll((links) => links.map((a) => a.href))) seen.add(href);
    titles.push(...await grid.locator('.video-title').allTextContents());
    if (pageNumber === 2) await shot(page, '05-videos-page-2', { fullPage: true });
    if (await next.isDisabled()) break;
    await next.click();
  }
  assert.equal(seen.size, 25, 'Alice has 25 videos');
  // Titles are shown as text, markup and all.
  assert.ok(titles.some((title) => title.startsWith('Choreo: "quotes" & <angle brackets>')), titles.join(' | '));
  await alice.getByRole('button', { name: 'Previous' }).click();
  await alice.getByText('Page 4', { exact: true }).waitFor();

  // Disconnect asks first: Escape keeps the account ...
  await alice.getByRole('button', { name: 'Disconnect Alice Dancer' }).click();
  const dialog = page.getByRole('dialog', { name: 'Disconnect Alice Dancer?' });
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await card(page, 'Alice Dancer').count(), 1);
  // ... and the dialog's Disconnect revokes it.
  await alice.getByRole('button', { name: 'Disconnect Alice Dancer' }).click();
  await dialog.waitFor();
  await shot(page, '06-confirm-disconnect');
  await dialog.getByRole('button', { name: 'Disconnect', exact: true }).click();
  await banner(page, 'Disconnected Alice Dancer').waitFor();
  await page.getByText('No TikTok account is connected yet.').waitFor();
  assert.equal(await card(page, 'Alice Dancer').count(), 0);
  await shot(page, '07-disconnected');
  await assertJwtOnlyInMemory(page);
  finish();
});

test('docs/deploy.md mints app JWTs as the page expects them', async () => {
  const doc = await readFile(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const source = await readFile(new URL('./mint-app-jwt.mjs', import.meta.url), 'utf8');
  const minting = source.slice(source.indexOf('export function mintAppJwt'));
  assert.ok(doc.includes(minting.trim()), 'docs/deploy.md shows tests/browser/mint-app-jwt.mjs\'s mintAppJwt as it is');
});

test('signed in with a JWT from the app, denied consent shows the reason in a banner', async (t) => {
  // The connection id confirmed at the end was never issued: its 404 is the point.
  const { page, finish } = await openConsole(t, DESKTOP, { tolerate: [/the server responded with a status of 404/] });
  // The production way in: a JWT the app's back end minted (docs/deploy.md#app-jwts), pasted into the page.
  await page.getByLabel('App JWT').fill(mintAppJwt('browser-user-2', APP_JWT_SECRET));
  await page.getByRole('button', { name: 'Use this JWT' }).click();
  await page.getByText('Signed in as browser-user-2').waitFor();
  assert.equal(await page.getByLabel('App JWT').inputValue(), '', 'the field is emptied');
  await assertJwtOnlyInMemory(page);
  await connect(page, { account: /Alice Dancer/, decision: 'Cancel' });
  await banner(page, /The TikTok account was not connected: access was not granted .*\(access_denied\)/).waitFor();
  await page.getByText('No TikTok account is connected yet.').waitFor();
  await shot(page, '08-consent-denied');

  // Without a connect window (the page itself was sent back): the banner, and a clean address.
  await page.goto(`${CONSOLE_URL}?tiktok=error&reason=invalid_state`);
  await banner(page, /connect link expired or was already used.*\(invalid_state\)/).waitFor();
  assert.equal(page.url(), CONSOLE_URL, 'the outcome is removed from the address');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();

  // Sent back with a grant to confirm but signed out: the page asks for a sign-in, then confirms
  // by itself. This id was never issued, so the service finds nothing to confirm.
  await page.goto(`${CONSOLE_URL}?tiktok=pending&connection_id=${'A'.repeat(43)}`);
  await banner(page, 'Sign in to finish connecting the TikTok account.').waitFor();
  assert.equal(page.url(), CONSOLE_URL, 'the connection id is removed from the address');
  await signIn(page, 'browser-user-2');
  await banner(page, /The TikTok account was not connected\. That connection expired or was already used/).waitFor();
  finish();
});

test('fewer scopes: asked for and granted, on a phone-sized screen', async (t) => {
  const { page, finish } = await openConsole(t, PHONE);
  await signIn(page, 'browser-user-3');
  // Not asked for: user.info.stats is left out of the consent page.
  await page.getByRole('checkbox', { name: /user\.info\.stats/ }).uncheck();
  // Not granted: video.list is unticked on TikTok's page.
  const offered = await connect(page, { account: /Bob Builder/, untick: ['video.list'], screenshot: '09-consent-fewer-scopes' });
  assert.ok(!offered.includes('user.info.stats') && offered.includes('video.list'), offered.join());
  await banner(page, 'Connected Bob Builder.').waitFor();
  const bob = card(page, 'Bob Builder');
  const chips = await bob.locator('.scopes-granted li').allTextContents();
  assert.deepEqual(chips, offered.filter((scope) => scope !== 'video.list').sort());
  await bob.getByText(/did not allow video\.list/).waitFor();
  assert.equal(await bob.locator('.video-grid > li').count(), 0);
  // Usable at 375 px: nothing wider than the screen.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `the page is ${width} px wide on a ${PHONE.width} px screen`);
  await accessibleBasics(page);
  await shot(page, '10-phone-fewer-scopes', { fullPage: true });

  // Bob removes the app on TikTok: the next use of the grant finds out (409 reauth_required; or
  // TikTok's webhook said so first: revoked), and the page then offers Reconnect, which makes the
  // account active again.
  // TikTok's reason 4: the account was banned (its authorization.removed webhook says so).
  const revoked = await fetch(`${TIKTOK_URL}/_fake/users/open-bob-0002/revoke`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 4 }),
  });
  assert.equal(revoked.status, 200);
  const me = await apiAs('browser-user-3', 'me?open_id=open-bob-0002');
  assert.equal(me.status, 409, await me.text());
  // The webhook reaches the service a moment later: Refresh until the account is revoked, with
  // TikTok's reason.
  const refresh = page.getByRole('button', { name: 'Refresh the list of accounts' });
  for (let attempt = 0; attempt < 40; attempt += 1) {
    await refresh.click();
    await bob.locator('.status').filter({ hasText: /^(Reconnect needed|Revoked on TikTok)$/ }).waitFor();
    if (await bob.locator('.status').textContent() === 'Revoked on TikTok') break;
    await page.waitForTimeout(250);
  }
  await bob.locator('.status').filter({ hasText: /^Revoked on TikTok$/ }).waitFor();
  await bob.getByText(/^The access was removed on TikTok: the TikTok account was banned\. Reconnect/).waitFor();
  await bob.getByText('No usable token: TikTok must be asked again').waitFor();
  await shot(page, '11-phone-reconnect-needed', { fullPage: true });
  await connect(page, { account: /Bob Builder/, button: 'Reconnect Bob Builder' });
  await banner(page, 'Connected Bob Builder.').waitFor();
  await bob.getByText('Active', { exact: true }).waitFor();
  assert.equal(await bob.getByRole('button', { name: 'Reconnect Bob Builder' }).count(), 0);
  finish();
});

// The posting form of an account's card, opened by keyboard; waits for the creator info.
async function openPostForm(page, account, name) {
  const toggle = account.getByRole('button', { name: `Write a post as ${name}` });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.focus();
  await page.keyboard.press('Enter');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const form = page.getByRole('form', { name: `Post a video or photos as ${name}` });
  await form.getByText(new RegExp(`^Posting as ${name} \\(@[^)]+\\) · videos of up to 10 min$`)).waitFor();
  return form;
}

function privacyChoices(form) {
  return form.getByRole('group', { name: 'Who can watch this video (required)' }).getByRole('radio')
    .evaluateAll((radios) => radios.map((r) => ({ level: r.value, checked: r.checked, disabled: r.disabled })));
}

// The publish request the page sent, and the API's answer to it.
function publishStarts(page) {
  return page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/tiktok/publish');
}

// Also before the video test (its refusal stops Alice's posts).
test('schedule a post as Alice: a time too soon refused on the page, listed again after a reload, canceled', async (t) => {
  const { page, finish } = await openConsole(t);
  await signIn(page, 'browser-user-7');
  await connect(page, { account: /Alice Dancer/ });
  await banner(page, 'Connected Alice Dancer.').waitFor();
  const alice = card(page, 'Alice Dancer');
  const form = await openPostForm(page, alice, 'Alice Dancer');
  await form.getByLabel('Video URL').fill('https://media.example.com/clips/later.mp4');
  await form.getByRole('radio', { name: /^Only me/ }).check();
  await form.getByRole('radio', { name: /^Later/ }).check();
  const schedule = form.getByRole('button', { name: 'Schedule', exact: true });
  // The browser's local time, as a datetime-local field takes it, `minutes` from now.
  const localTime = (minutes) => page.evaluate((m) => {
    const at = new Date(Date.now() + m * 60_000);
    at.setSeconds(0, 0);
    const pad = (n) => String(n).padStart(2, '0');
    return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
  }, minutes);
  const field = form.getByLabel('Date and time (this browser’s time zone)');
  await field.fill(await localTime(1));
  await schedule.click();
  await form.getByRole('alert').filter({ hasText: 'Choose a time at least 2 minutes from now.' }).waitFor();
  await field.fill(await localTime(60 * 24 * 31));
  await schedule.click();
  await form.getByRole('alert').filter({ hasText: 'Choose a time within 30 days from now.' }).waitFor();

  const at = await localTime(90);
  await field.fill(at);
  const [started] = await Promise.all([publishStarts(page), schedule.click()]);
  assert.equal(started.status(), 202, await started.text());
  const sent = started.request().postDataJSON();
  const publishAt = await page.evaluate((value) => new Date(value).getTime() / 1000, at);
  assert.equal(sent.publish_at, publishAt, 'publish_at is the chosen local time in Unix seconds');
  const { publish_id: publishId, status } = await started.json();
  assert.equal(status, 'SCHEDULED');
  const posts = alice.getByRole('list', { name: 'Posts: started from this page, and scheduled' });
  const item = posts.getByRole('listitem').filter({ hasText: publishId });
  await item.getByText(/^Scheduled for /).waitFor();
  assert.ok(await form.getByRole('radio', { name: 'Now', exact: true }).isChecked(), 'the form is back to Now');
  await shotOf(alice.locator('.publish'), '10b-scheduled');

  // A new page (the JWT lives in memory only: signed in again) lists it from the API.
  await page.reload();
  await signIn(page, 'browser-user-7');
  const listed = card(page, 'Alice Dancer').getByRole('list', { name: 'Posts: started from this page, and scheduled' })
    .getByRole('listitem').filter({ hasText: publishId });
  await listed.getByText(/^Scheduled for /).waitFor();
  const [cancel] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'DELETE' && new URL(r.url()).pathname === `/tiktok/publish/${publishId}`),
    listed.getByRole('button', { name: 'Cancel this scheduled post' }).click(),
  ]);
  assert.equal(cancel.status(), 204);
  await listed.getByText('Canceled: canceled before its time').waitFor();
  assert.ok(await listed.getByRole('button', { name: 'Cancel this scheduled post' }).isHidden());
  const left = await apiAs('browser-user-7', 'publish?status=scheduled&open_id=open-alice-0001');
  assert.deepEqual((await left.json()).posts, [], 'nothing is scheduled any more');
  await accessibleBasics(page);
  finish();
});

// Before the video test below, whose unaudited refusal the service remembers for Alice (creator
// info's `posting` then stops her posts for a day).
test('post photos as Alice: image URLs and a cover, limits in UTF-16, music, the public link after moderation', async (t) => {
  // The image refused on the page never reaches the API; nothing is expected to fail here.
  const { page, finish } = await openConsole(t);
  await signIn(page, 'browser-user-6');
  await connect(page, { account: /Alice Dancer/ });
  await banner(page, 'Connected Alice Dancer.').waitFor();
  const alice = card(page, 'Alice Dancer');
  const form = await openPostForm(page, alice, 'Alice Dancer');
  // The list reloaded (a click on Refresh the page makes itself, as after a connect window closes)
  // keeps the card, its open form and the focus where a keyboard user left it.
  const toggle = alice.getByRole('button', { name: 'Write a post as Alice Dancer' });
  await toggle.focus();
  const reloaded = page.waitForResponse((r) => new URL(r.url()).pathname === '/tiktok/accounts');
  await page.evaluate(() => document.getElementById('refresh').click());
  await reloaded;
  await page.waitForFunction(() => !document.getElementById('account-list').hasAttribute('aria-busy'));
  assert.equal(await toggle.evaluate((el) => el === document.activeElement), true, 'the focus stays on the toggle');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  // Creator info said Alice may post: no restriction shown, Post enabled once the form is filled.
  assert.equal(await form.locator('.posting-blocked').isVisible(), false);
  assert.equal(await form.locator('.posting-limited').isVisible(), false);

  // Photos instead of a video: image URLs and a cover instead of the video URL; no duets or
  // stitches; TikTok's music offered; a title of at most 90 and a description of 4000 UTF-16 units.
  assert.ok(await form.getByRole('radio', { name: /^A video/ }).isChecked(), 'a video by default');
  await form.getByRole('radio', { name: /^Photos/ }).check();
  assert.equal(await form.getByLabel('Video URL').isVisible(), false);
  for (const what of ['Duet', 'Stitch']) {
    assert.equal(await form.getByRole('checkbox', { name: what, exact: true }).isVisible(), false, what);
  }
  assert.ok(await form.getByRole('checkbox', { name: 'Comment', exact: true }).isEnabled());
  const music = form.getByRole('checkbox', { name: /^Let TikTok add music/ });
  assert.ok(await music.isVisible() && !(await music.isChecked()), 'music is offered, not ticked');
  const cover = form.getByLabel('Cover image');
  assert.ok(await cover.isDisabled(), 'no cover to choose before there are images');
  assert.equal(await form.getByLabel('Title').getAttribute('maxlength'), '90');
  await form.getByLabel('Title').fill('Beach 🌊 day');
  await form.getByText('12 / 90 (an emoji counts as 2)').waitFor();
  await form.getByLabel('Description').fill('Three from the beach 🏖️ #summer');
  const described = await form.getByLabel('Description').inputValue();
  await form.getByText(`${described.length} / 4000 (an emoji counts as 2)`).waitFor();
  assert.equal(described.length, 32, 'the emoji and its variation selector are 3 UTF-16 units');

  // One image per line (blank lines do not count); one that is not a JPEG or WebP is refused on
  // the page, naming it.
  const images = ['https://media.example.com/photos/beach-1.jpg', 'https://media.example.com/photos/beach-2.JPEG',
    'https://media.example.com/photos/beach-3.webp'];
  const urls = form.getByLabel('Image URLs, one per line');
  await urls.fill([images[0], 'https://media.example.com/photos/beach-2.png', '', images[2]].join('\n'));
  await form.getByText('3 images.').waitFor();
  await form.getByRole('radio', { name: /^Everyone/ }).check();
  const post = form.getByRole('button', { name: 'Post', exact: true });
  await post.click();
  await form.getByRole('alert').filter({ hasText: /^Image 2 does not end in \.jpg, \.jpeg or \.webp/ }).waitFor();
  assert.equal(await urls.getAttribute('aria-invalid'), 'true');
  await urls.fill(images.join('\n') + '\n');
  assert.deepEqual(await cover.locator('option').allTextContents(),
    ['Image 1: beach-1.jpg', 'Image 2: beach-2.JPEG', 'Image 3: beach-3.webp']);
  await cover.selectOption({ label: 'Image 2: beach-2.JPEG' });
  await form.getByRole('checkbox', { name: 'Comment', exact: true }).check();
  await music.check();
  // The privacy choice is the person's; the legend says what it is for.
  await form.getByRole('group', { name: 'Who can see these photos (required)' }).waitFor();
  await accessibleBasics(page);
  await shotOf(alice.locator('.publish'), '18-photo-form');

  const [started] = await Promise.all([publishStarts(page), post.click()]);
  assert.equal(started.status(), 202, await started.text());
  assert.deepEqual(started.request().postDataJSON(), {
    open_id: 'open-alice-0001',
    mode: 'direct',
    media_type: 'photo',
    source: { type: 'url', photo_urls: images, cover_index: 1 },
    post_info: {
      privacy_level: 'PUBLIC_TO_EVERYONE', disable_comment: false, auto_add_music: true,
      brand_organic_toggle: false, brand_content_toggle: false,
      title: 'Beach 🌊 day', description: 'Three from the beach 🏖️ #summer',
    },
  });
  const answer = await started.json();
  assert.equal(answer.media_type, 'photo');
  assert.equal(answer.status, 'PROCESSING_DOWNLOAD');
  assert.equal(answer.upload, undefined);
  const posted = await fake('users/open-alice-0001/publishes');
  assert.equal(posted.publishes.filter((p) => p.publish_id === answer.publish_id).length, 1, 'TikTok got the post once');

  const item = alice.locator('.post-item').first();
  assert.equal(await item.locator('.publish-id').textContent(), answer.publish_id);
  await item.getByText('Direct Post · 3 photos').waitFor();
  await item.getByText('TikTok is downloading and processing the photos PROCESSING_DOWNLOAD').waitFor();
  // The form starts over.
  assert.equal(await urls.inputValue(), '');
  assert.ok(!(await music.isChecked()));
  const check = item.getByRole('button', { name: 'Check status' });
  const status = () => page.waitForResponse((r) => r.request().method() === 'GET'
    && new URL(r.url()).pathname === `/tiktok/publish/${encodeURIComponent(answer.publish_id)}`);
  // Check status, pressed again (as a person would) until the answer shows what `done` wants:
  // TikTok's webhooks (publicly available, taken down) reach the service a moment after the
  // fake's clock moved, and a finished post's status is the stored one.
  async function checkUntil(done, what) {
    let view;
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const [response] = await Promise.all([status(), check.click()]);
      assert.equal(response.status(), 200, await response.text());
      view = await response.json();
      if (done(view)) return view;
      await page.waitForTimeout(250);
    }
    assert.fail(`${what}: ${JSON.stringify(view)}`);
  }

  // TikTok has pulled and posted the photos, but its moderation has not passed them yet: no
  // public id, and the page says the link comes later.
  await fake('clock', { advance_secs: 10 });
  const [processed] = await Promise.all([status(), check.click()]);
  const complete = await processed.json();
  assert.equal(complete.media_type, 'photo');
  assert.deepEqual([complete.status, complete.post_ids, complete.withdrawn_post_ids], ['PUBLISH_COMPLETE', [], []]);
  await item.getByText('Posted on TikTok PUBLISH_COMPLETE').waitFor();
  await item.getByText(/TikTok shows the public link once its moderation has passed the post/).waitFor();
  assert.equal(await item.locator('.post-public').isVisible(), false);
  await shotOf(alice.locator('.publish'), '19-photo-in-moderation');

  // Past TikTok's moderation (20 s of the fake's time): the public post, linked.
  await fake('clock', { advance_secs: 30 });
  const view = await checkUntil((v) => v.post_ids.length > 0, 'no public id after moderation');
  assert.equal(view.post_ids.length, 1, JSON.stringify(view));
  const [postId] = view.post_ids;
  assert.match(postId, /^\d{1,20}$/);
  assert.deepEqual(view.withdrawn_post_ids, []);
  // Alice granted video.list: the public post comes along (as TikTok lists it, if it does yet).
  assert.ok(Array.isArray(view.videos), 'videos attached with video.list');
  const listed = view.videos.find((v) => v.id === postId);
  if (listed && listed.share_url) {
    const link = item.getByRole('link', { name: /^See the photo post on TikTok/ });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), new URL(listed.share_url).href);
    assert.equal(await link.getAttribute('target'), '_blank');
    await item.getByText(`(post id ${postId})`).waitFor();
  } else {
    await item.getByText(`Public on TikTok: post id ${postId}`).waitFor();
  }
  assert.equal(await item.getByText(/moderation/).count(), 0, 'no more waiting for moderation');
  await accessibleBasics(page);
  await shotOf(alice.locator('.publish'), '20-photo-public');

  // TikTok takes the post down: its id is no longer public, and the page says so (no link).
  await fake(`publishes/${encodeURIComponent(answer.publish_id)}/take-down`, {});
  const withdrawn = await checkUntil((v) => v.withdrawn_post_ids.length > 0, 'not withdrawn after the take-down');
  assert.deepEqual([withdrawn.post_ids, withdrawn.withdrawn_post_ids], [[], [postId]]);
  await item.getByText(`Post id ${postId} is no longer public on TikTok`).waitFor();
  assert.equal(await item.getByRole('link', { name: /^See the photo post on TikTok/ }).count(), 0);
  await shotOf(alice.locator('.publish'), '21-photo-withdrawn');
  finish();
});

test('post a video as Alice: privacy chosen from creator info, a lost answer retried without a second post, status until complete, a refusal', async (t) => {
  // The request this test makes fail on purpose, and TikTok's refusal (a 403), show up as
  // console errors.
  const { page, finish } = await openConsole(t, DESKTOP, {
    tolerate: [/net::ERR_FAILED/, /the server responded with a status of 403/],
  });
  await signIn(page, 'browser-user-4');
  await connect(page, { account: /Alice Dancer/ });
  await banner(page, 'Connected Alice Dancer.').waitFor();
  const alice = card(page, 'Alice Dancer');
  for (const scope of ['video.publish', 'video.upload']) {
    await alice.getByRole('listitem').filter({ hasText: literally(scope) }).waitFor();
  }
  const starts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/tiktok/publish') starts.push(request.headers()['idempotency-key']);
  });

  const form = await openPostForm(page, alice, 'Alice Dancer');
  // A public account: every option, none chosen for the user; every interaction may be allowed.
  assert.deepEqual(await privacyChoices(form), ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']
    .map((level) => ({ level, checked: false, disabled: false })));
  for (const what of ['Comment', 'Duet', 'Stitch']) {
    const box = form.getByRole('checkbox', { name: what, exact: true });
    assert.ok(await box.isEnabled() && !(await box.isChecked()), what);
  }
  assert.ok(await form.getByRole('radio', { name: /^Direct Post/ }).isChecked());
  await form.getByLabel('Video URL').fill('https://media.example.com/clips/cat.mp4');
  // The title is counted as TikTok counts it: in UTF-16 code units (the emoji is 2).
  await form.getByLabel('Title').fill('Cat 😺 #fyp');
  await form.getByText('11 / 2200 (an emoji counts as 2)').waitFor();
  assert.equal(await form.getByLabel('Title').getAttribute('maxlength'), '2200');

  // TikTok retires the access token early and a call made elsewhere refreshes it: the list, read
  // again, has new token times, and the card takes them without closing the post being written.
  const countdown = alice.locator('.countdown');
  const expiresAt = await countdown.getAttribute('data-expires-at');
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the new expiry is a later second
  await fake('users/open-alice-0001/expire-access', {});
  const me = await apiAs('browser-user-4', 'me?open_id=open-alice-0001');
  const profile = await me.text();
  assert.equal(me.status, 200, profile);
  assert.ok(JSON.parse(profile).access_token_expires_at > Number(expiresAt), 'the call refreshed the token');
  await page.getByRole('button', { name: 'Refresh the list of accounts' }).click();
  for (let i = 0; (await countdown.getAttribute('data-expires-at')) === expiresAt; i += 1) {
    assert.ok(i < 100, 'the list read again shows the new expiry');
    await page.waitForTimeout(100);
  }
  const writing = alice.getByRole('button', { name: 'Write a post as Alice Dancer' });
  assert.equal(await writing.getAttribute('aria-expanded'), 'true', 'the post form stays open');
  assert.equal(await form.getByLabel('Title').inputValue({ timeout: 1000 }), 'Cat 😺 #fyp', 'what was typed is kept');

  // Privacy has no default: posting without choosing is refused on the page.
  const post = form.getByRole('button', { name: 'Post', exact: true });
  await post.click();
  await form.getByRole('alert').filter({ hasText: 'Choose who can watch this video.' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.value), 'PUBLIC_TO_EVERYONE', 'focus on the first choice');
  assert.deepEqual(starts, []);
  // Branded content cannot be private: "Only me" is not offered while it is ticked.
  const promotes = form.getByRole('checkbox', { name: /^This video promotes a brand/ });
  await promotes.check();
  await form.getByRole('checkbox', { name: /^Branded content/ }).check();
  assert.ok(await form.getByRole('radio', { name: /^Only me/ }).isDisabled());
  await form.getByRole('link', { name: 'Branded Content Policy' }).waitFor();
  await promotes.uncheck();
  await form.getByRole('radio', { name: /^Only me/ }).check();
  await accessibleBasics(page);
  await shotOf(alice.locator('.publish'), '12-post-form');

  // The first answer is lost on the way back (the API did start the post): the page says so,
  // and pressing Post again repeats the request with the same Idempotency-Key.
  await page.route(/\/tiktok\/publish$/, async (route) => {
    await route.fetch();
    await route.abort('failed');
  }, { times: 1 });
  await post.click();
  await form.getByRole('alert').filter({ hasText: /^The answer did not arrive/ }).waitFor();
  const [replayed] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/tiktok/publish'),
    post.click(),
  ]);
  assert.equal(replayed.status(), 202);
  assert.equal(replayed.headers()['idempotent-replayed'], 'true');
  assert.equal(starts.length, 2);
  assert.match(starts[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(starts[1], starts[0], 'the retry reuses the Idempotency-Key');
  const posted = await fake('users/open-alice-0001/publishes');
  const cats = posted.publishes.filter((p) => p.video_url === 'https://media.example.com/clips/cat.mp4');
  assert.equal(cats.length, 1, 'TikTok got the post once');
  assert.equal(cats[0].privacy_level, 'SELF_ONLY');
  // What the form said, as TikTok got it: interactions not ticked are off, nothing disclosed.
  assert.equal(cats[0].post_info.title, 'Cat 😺 #fyp');
  for (const field of ['disable_comment', 'disable_duet', 'disable_stitch']) assert.equal(cats[0].post_info[field], true, field);
  for (const field of ['brand_content_toggle', 'brand_organic_toggle']) assert.equal(cats[0].post_info[field], false, field);

  const item = alice.locator('.post-item').first();
  const publishId = await item.locator('.publish-id').textContent();
  assert.equal(publishId, cats[0].publish_id);
  assert.match(publishId, /^v_pub_url~v2\.\d+$/);
  await item.getByText('TikTok is downloading and processing the video PROCESSING_DOWNLOAD').waitFor();
  // The form starts over (privacy is chosen again for the next post); focus is on Check status.
  assert.deepEqual((await privacyChoices(form)).filter((c) => c.checked), []);
  assert.equal(await form.getByLabel('Video URL').inputValue(), '');
  const check = item.getByRole('button', { name: 'Check status' });
  assert.ok(await check.evaluate((button) => button === document.activeElement));
  await shotOf(alice.locator('.publish'), '13-post-processing');

  // TikTok finishes (its clock moved on); Check status, by keyboard, shows it.
  await fake('clock', { advance_secs: 10 });
  await page.keyboard.press('Enter');
  await item.getByText('Posted on TikTok PUBLISH_COMPLETE').waitFor();
  // From TikTok, or as the service stored it when TikTok's webhook said so first.
  await item.getByText(/Checked (with TikTok )?at /).waitFor();
  await shotOf(alice.locator('.publish'), '14-post-complete');

  // A refusal of TikTok's, as a readable alert: an unaudited app posting publicly.
  t.after(() => fake('unaudited', { unaudited: false }));
  await fake('unaudited', { unaudited: true });
  await form.getByLabel('Video URL').fill('https://media.example.com/clips/dog.mp4');
  await form.getByRole('radio', { name: /^Everyone/ }).check();
  await post.click();
  await form.getByRole('alert').filter({
    hasText: /^Not posted: This TikTok app has not passed TikTok's audit: it can only post to private accounts, with privacy SELF_ONLY \(unaudited_client_can_only_post_to_private_accounts\)\. This is the app’s limit, for every creator\./,
  }).waitFor();
  assert.equal(await alice.locator('.post-item').count(), 1, 'no second post listed');
  await shotOf(alice.locator('.publish'), '15-post-refused');
  assert.equal(starts.length, 3);
  assert.notEqual(starts[2], starts[0], 'a new post has a new Idempotency-Key');

  // The form read again: creator info's `posting` now says an unaudited app cannot post to
  // Alice's public account, whose limit that is, and Post stays off.
  const toggle = alice.getByRole('button', { name: 'Write a post as Alice Dancer' });
  await toggle.click();
  await toggle.click();
  await form.getByRole('alert').filter({
    hasText: /^TikTok will not take a post from Alice Dancer now: this app has not passed TikTok’s audit yet: it can post only to private accounts, and only as Only me \(unaudited_client_can_only_post_to_private_accounts\)\. This is the app’s limit, for every creator\.$/,
  }).waitFor();
  await form.getByRole('radio', { name: /^Everyone/ }).waitFor();
  assert.ok(await post.isDisabled(), 'Post is off while TikTok would refuse it');
  await accessibleBasics(page);
  await shotOf(alice.locator('.publish'), '15b-posting-blocked');
  finish();
});

test('a private account on a phone: no public option, interactions the creator turned off, upload to inbox', async (t) => {
  const { page, finish } = await openConsole(t, PHONE);
  await signIn(page, 'browser-user-5');
  await connect(page, { account: /Bob Builder/ });
  await banner(page, 'Connected Bob Builder.').waitFor();
  const bob = card(page, 'Bob Builder');
  const form = await openPostForm(page, bob, 'Bob Builder');
  // Bob's account is private: TikTok offers no PUBLIC_TO_EVERYONE, and the page does not either.
  const choices = await privacyChoices(form);
  assert.deepEqual(choices.map((c) => c.level), ['FOLLOWER_OF_CREATOR', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']);
  assert.ok(choices.every((c) => !c.checked));
  assert.equal(await form.getByRole('radio', { name: /^Everyone/ }).count(), 0);
  // He turned duets and stitches off in TikTok: shown off and disabled; comments may be allowed.
  for (const what of ['Duet', 'Stitch']) {
    const box = form.getByRole('checkbox', { name: new RegExp(`^${what} \\(turned off in Bob Builder’s TikTok settings\\)$`) });
    assert.ok(await box.isDisabled() && !(await box.isChecked()), what);
  }
  assert.ok(await form.getByRole('checkbox', { name: 'Comment', exact: true }).isEnabled());
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `the page is ${width} px wide on a ${PHONE.width} px screen`);
  await accessibleBasics(page);
  await shotOf(bob.locator('.publish'), '16-phone-post-private');

  // Upload to inbox: no title or privacy (Bob finishes the post in TikTok).
  await form.getByRole('radio', { name: /^Upload to inbox/ }).check();
  assert.equal(await form.getByLabel('Title').isVisible(), false);
  await form.getByLabel('Video URL').fill('https://media.example.com/clips/cat.mp4');
  await form.getByRole('button', { name: 'Upload to inbox', exact: true }).click();
  const item = bob.locator('.post-item').first();
  await item.getByText('Upload to inbox').waitFor();
  assert.match(await item.locator('.publish-id').textContent(), /^v_inbox_url~v2\.\d+$/);
  await item.getByText('PROCESSING_DOWNLOAD').waitFor();
  await fake('clock', { advance_secs: 10 });
  await item.getByRole('button', { name: 'Check status' }).click();
  await item.getByText('In the creator’s TikTok inbox: they finish and post it in the TikTok app SEND_TO_USER_INBOX').waitFor();
  const after = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(after <= PHONE.width, `the page is ${after} px wide on a ${PHONE.width} px screen`);
  await shotOf(bob.locator('.publish'), '17-phone-inbox-delivered');
  finish();
});
