/*
 * The dashboard in a real browser: Playwright (playwright-core from web/'s
 * lockfile) drives Debian's chromium, headless, against a running moatd.
 * tests/e2e/test_dashboard.py starts moatd, the traffic that makes an attack,
 * and this script (in moatd's namespace), then reads its JSON verdict.
 *
 *   node web/test/browser.cjs URL SCREENSHOT_DIR PO TOKEN_FILE
 *
 * Checks: every view loads without console errors or failed requests (a 401
 * is expected only in the refused-action step), the PO chart shows the flood
 * above its threshold with the attack shaded, the attack view lists its
 * mitigation and a non-zero drop counter, an action without a token is
 * refused (no token given, then a wrong one: 401), and with the token the
 * mitigation is withdrawn. Writes one PNG per view. Exits 0 on success and
 * prints one JSON line {"ok": bool, "checks": [...], "errors": [...]}.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const [url, shots, po, tokenFile] = process.argv.slice(2);
const checks = [];
const errors = [];
let step = 'start';
let allow401 = false;

function check(name, ok, detail) {
	checks.push({ name, ok: !!ok, detail: detail === undefined ? null : detail });
	if (!ok)
		throw new Error('check failed: ' + name + (detail !== undefined ? ' (' + JSON.stringify(detail) + ')' : ''));
}

async function waitFor(fn, ms, what) {
	const t0 = Date.now();
	let last;
	while (Date.now() - t0 < ms) {
		last = await fn();
		if (last)
			return last;
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error('timed out waiting for ' + what + ' (last: ' + JSON.stringify(last) + ')');
}

async function main() {
	fs.mkdirSync(shots, { recursive: true });
	const userDir = fs.mkdtempSync('/tmp/moat-chromium.');
	/* a fresh --user-data-dir: Playwright passes it for a persistent context */
	const ctx = await chromium.launchPersistentContext(userDir, {
		executablePath: '/usr/bin/chromium',
		headless: true,
		viewport: { width: 1280, height: 720 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	try {
		const page = await ctx.newPage();
		page.on('console', (m) => {
			if (m.type() !== 'error')
				return;
			if (allow401 && /status of 401/.test(m.text()))
				return;
			errors.push(step + ': console: ' + m.text());
		});
		page.on('pageerror', (e) => errors.push(step + ': page error: ' + e.message));
		page.on('requestfailed', (r) => {
			/* a poll aborted by leaving its view is not a failure */
			if (r.failure() && /ERR_ABORTED/.test(r.failure().errorText))
				return;
			errors.push(step + ': request failed: ' + r.url() + ' ' + (r.failure() ? r.failure().errorText : ''));
		});
		page.on('response', (r) => {
			if (r.status() >= 400 && !(allow401 && r.status() === 401))
				errors.push(step + ': HTTP ' + r.status() + ' ' + r.url());
			if (r.url().startsWith(url) && !r.url().includes('/api/') && r.status() === 200) {
				const h = r.headers();
				if (!h['content-security-policy'] || h['x-content-type-options'] !== 'nosniff')
					errors.push(step + ': missing security headers on ' + r.url());
			}
		});
		const api = async (p) => (await fetch(url + p)).json();
		const noLayoutBreak = async (name) => {
			const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
			check(name + ': no horizontal overflow at 1280x720', over <= 0, over);
		};
		const view = async (name, hash, ready) => {
			step = name;
			await page.goto(url + '/#' + hash);
			await page.waitForSelector(ready, { timeout: 15000 });
			await page.waitForTimeout(1200);
			await noLayoutBreak(name);
			await page.screenshot({ path: path.join(shots, name + '.png') });
			check(name + ': view loads', true);
		};

		await view('overview', '/', '[data-card="health"] .v');
		const health = await page.textContent('[data-card="health"] .v');
		check('overview: health shown', /ok|degraded|failing/.test(health), health);
		await page.waitForSelector('[data-table="attacks"]', { timeout: 15000 });
		await page.screenshot({ path: path.join(shots, 'overview.png') });

		/* the PO: stay long enough for the 1 s history to show the flood */
		step = 'po';
		await page.goto(url + '/#/po/' + po);
		const peak = await waitFor(async () => {
			const v = await page.getAttribute('[data-chart="udp"]', 'data-peak').catch(() => null);
			const s = await page.getAttribute('[data-chart="udp"]', 'data-shaded').catch(() => null);
			return Number(v) > 1000 && Number(s) >= 1 ? { peak: Number(v), shaded: Number(s) } : null;
		}, 30000, 'the udp chart to show the flood, shaded');
		check('po: chart shows the flood above the threshold', peak.peak > 1000, peak);
		check('po: the attack is shaded', peak.shaded >= 1, peak);
		await page.waitForTimeout(2500);
		await noLayoutBreak('po');
		await page.screenshot({ path: path.join(shots, 'po.png') });

		await view('attacks', '/attacks', '[data-table="attacks"]');

		const live = (await api('/api/v1/mitigations')).mitigations.filter((m) => m.status === 'mitigating' || m.status === 'pending');
		check('a mitigation is active', live.length >= 1, live.length);
		const mit = live[0];
		const attackId = mit.request.attack_id;
		await view('attack', '/attack/' + attackId, '[data-mitigation="' + mit.id + '"]');
		const drops = await waitFor(async () => {
			const t = await page.textContent('[data-mitigation="' + mit.id + '"] [data-drops="packets"]');
			return t && t !== '0' && t !== '–' ? t : null;
		}, 15000, 'the drop counter');
		check('attack: lists its mitigation with a drop counter', true, drops);
		await page.screenshot({ path: path.join(shots, 'attack.png') });

		/* a token-less action is refused: no token given, then a wrong one */
		step = 'refused';
		allow401 = true;
		await page.evaluate(() => sessionStorage.clear());
		page.once('dialog', (d) => d.dismiss());
		await page.click('[data-mitigation="' + mit.id + '"] [data-action="unmitigate"]');
		let msg = await (await page.waitForSelector('[data-msg="err"]')).textContent();
		check('action without a token is refused', /no token/.test(msg), msg);
		page.once('dialog', (d) => d.accept('0'.repeat(64)));
		await page.click('[data-mitigation="' + mit.id + '"] [data-action="unmitigate"]');
		msg = await waitFor(async () => {
			const t = await page.textContent('[data-msg="err"]').catch(() => '');
			return /401/.test(t) ? t : null;
		}, 5000, 'the 401');
		check('action with a wrong token is refused (401)', true, msg);
		let still = (await api('/api/v1/mitigations/' + mit.id));
		check('refused actions changed nothing', still.status === 'mitigating', still.status);
		await page.screenshot({ path: path.join(shots, 'attack-refused.png') });
		allow401 = false;

		/* with the token it works */
		step = 'token';
		const tok = fs.readFileSync(tokenFile, 'utf8').trim();
		page.once('dialog', (d) => d.accept(tok));
		await page.click('[data-mitigation="' + mit.id + '"] [data-action="unmitigate"]');
		msg = await (await page.waitForSelector('[data-msg="ok"]', { timeout: 10000 })).textContent();
		check('action with the token works', /withdrawn/.test(msg), msg);
		still = await waitFor(async () => {
			const m = await api('/api/v1/mitigations/' + mit.id);
			return m.status === 'ended' ? m : null;
		}, 10000, 'the mitigation to end');
		check('the mitigation was withdrawn in moatd', still.status === 'ended', still.status);
		await page.waitForTimeout(1000);
		await page.screenshot({ path: path.join(shots, 'attack-withdrawn.png') });

		await view('mitigations', '/mitigations', '[data-table="mitigations"]');
		await view('decoys', '/decoys', 'h1');
		await view('connections', '/connections', 'h1');
		await view('flight', '/flight', '[data-table="flight"]');
		step = 'flight-filter';
		await page.click('[data-cat="mitigation"]');
		await page.waitForTimeout(1500);
		const cats = await page.$$eval('[data-table="flight"] .badge', (b) => [...new Set(b.map((x) => x.textContent))]);
		check('flight: the category filter applies', cats.length === 1 && cats[0] === 'mitigation', cats);
		await page.screenshot({ path: path.join(shots, 'flight-mitigation.png') });
		check('no console errors or failed requests', errors.length === 0, errors);
	} finally {
		await ctx.close();
		fs.rmSync(userDir, { recursive: true, force: true });
	}
}

main().then(() => {
	console.log(JSON.stringify({ ok: true, checks, errors }));
}, (e) => {
	console.log(JSON.stringify({ ok: false, checks, errors, failure: String(e && e.stack || e) }));
	process.exit(1);
});
