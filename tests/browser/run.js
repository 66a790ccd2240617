#!/usr/bin/env node
/*
 * run.js - the login portal in a real browser: Debian's chromium
 * (/usr/bin/chromium, headless) driven by playwright-core, against the stack
 * tools/test started.  It never downloads a browser.
 *
 *   node tests/browser/run.js        (tools/test runs it in the normal variant)
 *
 * Environment (set by tools/test): CV_BASE_URL, CV_PG_DSN (psql connection
 * string, superuser), CV_MAILDIR (the SMTP server's Maildir); optional
 * CV_BROWSER_ARTIFACTS (default <repo>/test-artifacts/browser) for the
 * screenshots of every step, CHROMIUM (default /usr/bin/chromium).
 *
 * Each test logs in as a new contact of one demo-like account made here
 * (psql) and deleted at the end.  The code and the link are read from the
 * delivered mail.  Every console error or page error of any test fails the
 * suite ("no console errors" -- this also catches CSP violations).  The last
 * line is "N passed, M failed".
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { chromium } = require('playwright-core');

const BASE = process.env.CV_BASE_URL;
const DSN = process.env.CV_PG_DSN;
const MAILDIR = process.env.CV_MAILDIR;
const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = process.env.CV_BROWSER_ARTIFACTS || path.join(ROOT, 'test-artifacts', 'browser');
const COOLDOWN = 3;          /* seconds: short, so the countdown can be watched to its end */
const STEP_TIMEOUT = 15000;  /* ms for any one wait */

function psql(sql, vars) {
	const args = ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', DSN];
	for (const [k, v] of Object.entries(vars || {})) {
		args.push('-v', `${k}=${v}`);
	}
	return execFileSync('psql', args, { input: sql, encoding: 'utf8' }).trim();
}

/* An account with an API key and a user app set up for the hosted page. */
function createAccount() {
	const key = 'cv_browser_' + require('crypto').randomBytes(24).toString('hex');
	const row = psql(`
WITH a AS (
	INSERT INTO cv.accounts (name, token_secret, sends_per_hour, verifies_per_email, verifies_per_ip)
	VALUES ('browser-test', encode(gen_random_uuid()::text::bytea, 'hex'), 100, 100, 10000)
	RETURNING id, uuid
), k AS (
	INSERT INTO cv.api_keys (account_id, key_hash, name)
	SELECT id, sha256(convert_to(:'key', 'UTF8')), 'browser' FROM a
), u AS (
	INSERT INTO cv.user_apps (account_id, name, portal_url, sender_email, resend_cooldown,
	                          brand_color, allowed_origins)
	SELECT id, 'Browser Test Shop', :'portal', 'no-reply@example.com', ${COOLDOWN}, '#7a2e8c',
	       ARRAY[:'base']
	  FROM a
	RETURNING public_id
)
SELECT a.id || ' ' || u.public_id FROM a, u;`, { key, portal: `${BASE}/portal/static/demo.html`, base: BASE });
	const [id, publicId] = row.split(' ');
	return { id, publicId, key };
}

function addContact(account) {
	const email = `browser-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
	const uuid = psql("INSERT INTO cv.contacts (account_id, email) VALUES (:'acc', :'email') RETURNING uuid",
		{ acc: account.id, email });
	return { email, uuid };
}

/* The text part of the newest message to `to` not seen before, polling. */
const seenMail = new Set();
async function waitForMail(to) {
	const deadline = Date.now() + STEP_TIMEOUT;
	for (;;) {
		for (const dir of ['new', 'cur']) {
			let names = [];
			try {
				names = fs.readdirSync(path.join(MAILDIR, dir));
			} catch (e) {
				continue;
			}
			for (const name of names) {
				const file = path.join(MAILDIR, dir, name);
				if (seenMail.has(file) || name.startsWith('.')) {
					continue;
				}
				const raw = fs.readFileSync(file, 'utf8');
				const header = raw.split(/\r?\n\r?\n/, 1)[0];
				if (!new RegExp(`^To: .*${to.replace(/[.+]/g, '\\$&')}`, 'mi').test(header)) {
					continue;
				}
				const start = raw.search(/^Content-Type: text\/plain/m);
				if (start < 0 || !/\n--[^\n]*--\s*$/.test(raw)) {
					continue;   /* not complete yet */
				}
				seenMail.add(file);
				const [head, ...rest] = raw.slice(start).split(/\r?\n\r?\n/);
				let part = rest.join('\n\n');
				part = part.slice(0, part.search(/\n--/));
				/* The mailer uses quoted-printable when a line is long or the text
				 * holds "=_" (a token may start with "_" after "?token="). */
				if (/^Content-Transfer-Encoding:\s*quoted-printable/mi.test(head)) {
					part = Buffer.from(part.replace(/=\r?\n/g, '')
						.replace(/=([0-9A-F]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16))),
					'latin1').toString('utf8');
				}
				return part;
			}
		}
		if (Date.now() > deadline) {
			throw new Error(`no mail to ${to} in ${MAILDIR} after ${STEP_TIMEOUT} ms`);
		}
		await new Promise((r) => setTimeout(r, 50));
	}
}

function codeOf(text) {
	const found = text.replace(/\S+:\/\/\S+/g, ' ').match(/(?<!\d)\d{6}(?!\d)/g) || [];
	if (found.length !== 1) {
		throw new Error(`expected one code in the mail, found ${found}`);
	}
	return found[0];
}

function linkOf(text, account) {
	const m = text.match(new RegExp(`https?://\\S+/login/${account.publicId}\\?token=[A-Za-z0-9_-]{43}`));
	if (!m) {
		throw new Error(`no login link in the mail:\n${text}`);
	}
	return m[0];
}

/* The business backend's side: the ticket for uuid and token. */
async function exchange(account, ticket) {
	const resp = await fetch(`${BASE}/api/v3/oauth/clients/contact-verification/login-ticket`, {
		method: 'POST',
		headers: { Authorization: `Bearer ${account.key}`, 'Content-Type': 'application/json' },
		body: JSON.stringify({ ticket }),
	});
	const body = await resp.json();
	if (resp.status !== 200) {
		throw new Error(`ticket exchange answered ${resp.status}: ${JSON.stringify(body)}`);
	}
	return body.data;
}

function assert(cond, message) {
	if (!cond) {
		throw new Error(message);
	}
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/* After the last form the browser lands on the portal with ?ticket=. */
async function expectPortal(page, account, contact, name) {
	await page.waitForURL(/\/portal\/static\/demo\.html\?ticket=/, { timeout: STEP_TIMEOUT });
	await page.waitForFunction(() => document.getElementById('title').textContent.includes('ticket'));
	await shot(page, name);
	const ticket = new URL(page.url()).searchParams.get('ticket');
	const got = await exchange(account, ticket);
	assert(got.uuid === contact.uuid, `ticket names ${got.uuid}, not ${contact.uuid}`);
	assert(got.auth_token.split('.').length === 3, 'no auth token');
}

async function emailStep(page, account, contact, prefix) {
	await page.goto(`${BASE}/login/${account.publicId}`);
	await shot(page, `${prefix}-1-email`);
	await page.getByLabel('Email address').fill(contact.email);
	await page.getByRole('button', { name: 'Email me a login code' }).click();
	await page.waitForSelector('#code');
	await shot(page, `${prefix}-2-code`);
}

const tests = {
	async login_with_code_from_mail(page, account) {
		const contact = addContact(account);
		await emailStep(page, account, contact, 'code');
		const code = codeOf(await waitForMail(contact.email));
		/* Pasted with a space, as people copy it: the field keeps the digits. */
		await page.focus('#code');
		await page.keyboard.insertText(`${code.slice(0, 3)} ${code.slice(3)}`);
		const value = await page.inputValue('#code');
		assert(value === code, `the code field holds ${JSON.stringify(value)}`);
		await shot(page, 'code-3-typed');
		await page.getByRole('button', { name: 'Log in' }).click();
		await expectPortal(page, account, contact, 'code-4-portal');
	},

	async login_with_link_from_mail(page, account) {
		const contact = addContact(account);
		await emailStep(page, account, contact, 'link');
		const link = linkOf(await waitForMail(contact.email), account);
		await page.goto(link);
		await page.waitForSelector('#confirm-form');
		assert((await page.textContent('h1')) === 'Confirm your login', 'no confirmation step');
		await shot(page, 'link-3-confirm');
		await page.getByRole('button', { name: 'Log in' }).click();
		await expectPortal(page, account, contact, 'link-4-portal');
	},

	async resend_countdown(page, account) {
		const contact = addContact(account);
		await emailStep(page, account, contact, 'resend');
		await waitForMail(contact.email);
		assert(await page.isDisabled('#resend'), 'resend is enabled during the cooldown');
		const text = await page.textContent('#countdown');
		assert(/in [1-9]\d* s/.test(text), `no countdown: ${text}`);
		await shot(page, 'resend-3-countdown');
		await page.waitForFunction(() => !document.getElementById('resend').disabled,
			null, { timeout: (COOLDOWN + 5) * 1000 });
		assert(/new code now/.test(await page.textContent('#countdown')), 'countdown did not end');
		await shot(page, 'resend-4-ready');
		await page.click('#resend');
		await page.waitForSelector('#code');
		const second = codeOf(await waitForMail(contact.email));
		assert(/^\d{6}$/.test(second), 'no second code');
		assert(await page.isDisabled('#resend'), 'the countdown did not restart');
	},

	async wrong_code_message(page, account) {
		const contact = addContact(account);
		await emailStep(page, account, contact, 'wrong');
		const code = codeOf(await waitForMail(contact.email));
		const wrong = code === '000000' ? '111111' : '000000';
		await page.fill('#code', wrong);
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForSelector('#alert:not(:empty)');
		const alert = await page.textContent('#alert');
		assert(/not right or has expired/.test(alert), `alert says: ${alert}`);
		assert((await page.getAttribute('#alert', 'role')) === 'alert', 'the error is not announced');
		assert(await page.evaluate(() => document.activeElement.id) === 'code',
			'the code field does not have the focus after a wrong code');
		await shot(page, 'wrong-3-message');
		await page.fill('#code', code);
		await page.getByRole('button', { name: 'Log in' }).click();
		await expectPortal(page, account, contact, 'wrong-4-portal');
	},

	async keyboard_only(page, account) {
		const contact = addContact(account);
		await page.goto(`${BASE}/login/${account.publicId}`);
		let focused = await page.evaluate(() => document.activeElement.id);
		assert(focused === 'email', `the page opens with focus on ${focused || 'nothing'}`);
		await page.keyboard.type(contact.email);
		await page.keyboard.press('Tab');
		focused = await page.evaluate(() => document.activeElement.textContent);
		assert(/Email me a login code/.test(focused), `Tab went to ${focused}`);
		await shot(page, 'keyboard-1-email');
		await page.keyboard.press('Enter');
		await page.waitForSelector('#code');
		focused = await page.evaluate(() => document.activeElement.id);
		assert(focused === 'code', `the code step opens with focus on ${focused || 'nothing'}`);
		const code = codeOf(await waitForMail(contact.email));
		await page.keyboard.type(code);
		await shot(page, 'keyboard-2-code');
		await page.keyboard.press('Enter');
		await expectPortal(page, account, contact, 'keyboard-3-portal');
	},
};

async function main() {
	for (const name of ['CV_BASE_URL', 'CV_PG_DSN', 'CV_MAILDIR']) {
		if (!process.env[name]) {
			console.log(`run.js: ${name} is not set (tools/test sets it)`);
			console.log('0 passed, 1 failed');
			return 1;
		}
	}
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-chromium-'));
	const account = createAccount();
	const consoleErrors = [];
	let passed = 0;
	let failed = 0;
	const started = Date.now();
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		locale: 'en-US',
		viewport: { width: 480, height: 760 },
	});
	try {
		for (const [name, test] of Object.entries(tests)) {
			await context.clearCookies();
			const page = await context.newPage();
			page.setDefaultTimeout(STEP_TIMEOUT);
			page.on('console', (msg) => {
				if (msg.type() === 'error') {
					consoleErrors.push(`${name}: ${msg.text()}`);
				}
			});
			page.on('pageerror', (err) => consoleErrors.push(`${name}: ${err.message}`));
			const t = Date.now();
			try {
				await test(page, account);
				passed++;
				console.log(`ok   ${name}  (${((Date.now() - t) / 1000).toFixed(1)} s)`);
			} catch (e) {
				failed++;
				console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
				console.log(`     ${(e.stack || '').split('\n').slice(1, 4).join('\n     ')}`);
				await shot(page, `${name}-failure`).catch(() => {});
			}
			await page.close();
		}
		if (consoleErrors.length === 0) {
			passed++;
			console.log('ok   no_console_errors');
		} else {
			failed++;
			console.log(`FAIL no_console_errors: ${consoleErrors.length}`);
			for (const e of consoleErrors) {
				console.log(`     ${e}`);
			}
		}
	} finally {
		await context.close();
		fs.rmSync(profile, { recursive: true, force: true });
		psql("DELETE FROM cv.accounts WHERE id = :'acc'", { acc: account.id });
	}
	console.log(`browser: ${passed + failed} tests in ${((Date.now() - started) / 1000).toFixed(1)} s,`
		+ ` screenshots in ${path.relative(process.cwd(), ARTIFACTS) || '.'}`);
	console.log(`${passed} passed, ${failed} failed`);
	return failed === 0 ? 0 : 1;
}

main().then((rc) => process.exit(rc), (e) => {
	console.log(`run.js: ${e.stack || e}`);
	console.log('0 passed, 1 failed');
	process.exit(1);
});
