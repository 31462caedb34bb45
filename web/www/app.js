/*
 * moat dashboard: one page, hash routes, preact + htm (UMD globals, no build
 * step), uPlot for the charts. Reads the REST API with GET (no token);
 * actions ask for the token, keep it in sessionStorage only, and use the
 * same calls as the CLI. Polling is bounded (one request in flight per
 * view resource, a timeout) and paused while the tab is hidden.
 */
'use strict';
(function () {
	const { h, render } = window.preact;
	const { useState, useEffect, useRef, useCallback } = window.preactHooks;
	const html = window.htm.bind(h);

	const POLL_MS = 2000;
	const HISTORY = 300;		/* chart points kept per PO (5 min at 1 s) */
	const PROTOS = ['tcp', 'udp', 'icmp', 'other'];
	const COLORS = { tcp: '#38bdf8', udp: '#f472b6', icmp: '#a3e635', other: '#fbbf24' };
	const CATEGORIES = ['config', 'lifecycle', 'store', 'health', 'traffic', 'learning',
		'detection', 'attack', 'mitigation', 'exporter', 'decoy', 'ins', 'cluster'];

	/* ---- helpers ---- */
	const token = {
		get: () => sessionStorage.getItem('moat.token') || '',
		set: (t) => t ? sessionStorage.setItem('moat.token', t) : sessionStorage.removeItem('moat.token'),
	};

	async function apiGet(path, signal) {
		const r = await fetch(path, { signal, headers: { Accept: 'application/json' } });
		let body = null;
		try { body = await r.json(); } catch (e) { body = null; }
		if (!r.ok) {
			const err = new Error((body && body.error) || (r.status + ' ' + r.statusText));
			err.status = r.status;
			throw err;
		}
		return body;
	}

	/* A mutating call with the token; asks for it when none is kept. */
	async function apiSend(method, path, body) {
		let t = token.get();
		if (!t) {
			t = (window.prompt('This action needs moatd\'s API token (<state>/api.token):') || '').trim();
			if (!t)
				throw new Error('no token given: nothing was changed');
			token.set(t);
			window.dispatchEvent(new Event('moat-token'));
		}
		const r = await fetch(path, {
			method,
			headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + t },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		let j = null;
		try { j = await r.json(); } catch (e) { j = null; }
		if (r.status === 401) {
			token.set('');
			window.dispatchEvent(new Event('moat-token'));
			throw new Error('moatd refused the token (401): nothing was changed');
		}
		if (!r.ok)
			throw new Error((j && j.error) || (r.status + ' ' + r.statusText));
		return j;
	}

	function useVisible() {
		const [v, setV] = useState(!document.hidden);
		useEffect(() => {
			const f = () => setV(!document.hidden);
			document.addEventListener('visibilitychange', f);
			return () => document.removeEventListener('visibilitychange', f);
		}, []);
		return v;
	}

	/* Poll path every ms while the tab is visible; one request at a time. */
	function usePoll(path, ms = POLL_MS) {
		const [state, setState] = useState({ data: null, error: null, at: 0 });
		const visible = useVisible();
		const [bump, setBump] = useState(0);
		useEffect(() => {
			if (!path || !visible)
				return undefined;
			let stop = false, timer = null, ctl = null;
			const once = async () => {
				ctl = new AbortController();
				const to = setTimeout(() => ctl.abort(), 8000);
				try {
					const data = await apiGet(path, ctl.signal);
					if (!stop)
						setState({ data, error: null, at: Date.now() });
				} catch (e) {
					if (!stop && e.name !== 'AbortError')
						setState((s) => ({ data: s.data, error: e, at: Date.now() }));
				} finally {
					clearTimeout(to);
				}
				if (!stop && ms > 0)
					timer = setTimeout(once, ms);
			};
			once();
			return () => { stop = true; clearTimeout(timer); if (ctl) ctl.abort(); };
		}, [path, visible, ms, bump]);
		state.refresh = () => setBump((b) => b + 1);
		return state;
	}

	const fmtNum = (x) => {
		if (x === null || x === undefined || Number.isNaN(x))
			return '–';
		const a = Math.abs(x);
		if (a >= 1e9) return (x / 1e9).toFixed(1) + 'G';
		if (a >= 1e6) return (x / 1e6).toFixed(1) + 'M';
		if (a >= 1e4) return (x / 1e3).toFixed(1) + 'k';
		return Number.isInteger(x) ? String(x) : x.toFixed(a < 10 ? 2 : 0);
	};
	const fmtTime = (s) => {
		if (!s)
			return '–';
		const d = new Date(s * 1000);
		return d.toLocaleTimeString([], { hour12: false }) + (Date.now() - d > 86400000 ?
			' ' + d.toLocaleDateString() : '');
	};
	const fmtAgo = (s) => {
		if (!s)
			return '–';
		const d = Math.max(0, Date.now() / 1000 - s);
		if (d < 90) return Math.round(d) + ' s ago';
		if (d < 5400) return Math.round(d / 60) + ' min ago';
		return Math.round(d / 3600) + ' h ago';
	};
	const fmtDur = (s) => s < 90 ? Math.round(s) + ' s' : s < 5400 ? Math.round(s / 60) + ' min' :
		(s / 3600).toFixed(1) + ' h';

	const Badge = ({ v }) => html`<span class=${'badge b-' + v}>${v}</span>`;
	const Err = ({ e }) => e ? html`<div class="msg err">${e.message || String(e)}</div>` : null;
	const Empty = ({ children }) => html`<div class="empty">${children}</div>`;

	/* ---- routing ---- */
	function useRoute() {
		const [r, setR] = useState(location.hash.slice(1) || '/');
		useEffect(() => {
			const f = () => setR(location.hash.slice(1) || '/');
			window.addEventListener('hashchange', f);
			return () => window.removeEventListener('hashchange', f);
		}, []);
		return r;
	}

	/* ---- the views ---- */
	function Overview() {
		const health = usePoll('/api/v1/health');
		const pos = usePoll('/api/v1/pos');
		const attacks = usePoll('/api/v1/attacks?state=live');
		const mits = usePoll('/api/v1/mitigations');
		const decoys = usePoll('/api/v1/flight?category=decoy&since=1h&limit=200');
		const conns = usePoll('/api/v1/connections?limit=1', 5000);
		const hd = health.data;
		const live = attacks.data ? attacks.data.attacks : [];
		const active = mits.data ? mits.data.mitigations.filter((m) => m.status === 'mitigating' || m.status === 'probing' || m.status === 'pending') : [];
		const alarms = decoys.data ? decoys.data.entries : [];
		const cn = conns.error ? null : conns.data;
		const declared = live.filter((a) => a.state === 'declared').length;
		return html`
			<h1>Overview</h1>
			<${Err} e=${health.error} />
			<div class="grid cards">
				<div class=${'panel card ' + (hd ? (hd.status === 'ok' ? 'ok' : 'bad') : '')} data-card="health">
					<div class="l">health</div><div class="v">${hd ? hd.status : '…'}</div>
					<div class="dim">${hd ? 'up ' + fmtDur(hd.uptime_s) + ' · ' + hd.store + ' · v' + hd.version : ''}</div></div>
				<div class="panel card" data-card="pos"><div class="l">protected objects</div>
					<div class="v">${pos.data ? pos.data.pos.length : '…'}</div></div>
				<div class=${'panel card ' + (declared ? 'bad' : live.length ? 'warn' : 'ok')} data-card="attacks">
					<div class="l">live attacks</div><div class="v">${live.length}</div>
					<div class="dim">${declared} declared</div></div>
				<div class=${'panel card ' + (active.length ? 'warn' : '')} data-card="mitigations">
					<div class="l">active mitigations</div><div class="v">${active.length}</div></div>
				<div class=${'panel card ' + (alarms.length ? 'warn' : '')} data-card="decoys">
					<div class="l">decoy alarms (1 h)</div><div class="v">${alarms.length}</div></div>
				<div class="panel card" data-card="connections"><div class="l">moat-ins connections</div>
					<div class="v">${cn ? cn.open : '–'}</div>
					<div class="dim">${cn ? cn.total + ' known' : conns.error ? 'not running' : ''}</div></div>
			</div>
			${hd && hd.issues && hd.issues.length ? html`<div class="panel sec"><h2>Health issues</h2>
				<table><tr><th>module</th><th class="n">significance</th><th>message</th></tr>
				${hd.issues.map((i) => html`<tr><td>${i.module}</td><td class="n">${i.significance.toFixed(2)}</td><td>${i.message}</td></tr>`)}
				</table></div>` : null}
			<div class="grid two sec">
				<div class="panel"><h2>Protected objects</h2>
					${pos.data && pos.data.pos.length ? html`<table>
						<tr><th>name</th><th>prefixes</th><th>ports</th><th>drivers</th></tr>
						${pos.data.pos.map((p) => html`<tr><td><a href=${'#/po/' + encodeURIComponent(p.name)}>${p.name}</a></td>
							<td class="mono">${p.prefixes.slice(0, 3).join(' ')}${p.prefixes.length > 3 ? ' +' + (p.prefixes.length - 3) : ''}</td>
							<td class="mono">${(p.ports || []).join(' ') || '–'}</td><td>${(p.drivers || []).join(', ') || '–'}</td></tr>`)}
					</table>` : html`<${Empty}>No protected object yet (moat po add …).<//>`}
				</div>
				<div class="panel"><h2>Live attacks</h2><${AttackTable} list=${live} /></div>
				<div class="panel"><h2>Active mitigations</h2><${MitTable} list=${active} compact /></div>
				<div class="panel"><h2>Decoy alarms (last hour)</h2>
					${alarms.length ? html`<div class="scroll"><table>
						<tr><th>time</th><th>source</th><th>decoy</th><th>kind</th></tr>
						${alarms.slice(0, 12).map((e) => html`<tr><td>${fmtTime(e.time)}</td>
							<td class="mono">${e.detail ? e.detail.src : ''}</td><td class="mono">${e.detail ? e.detail.decoy : ''}</td>
							<td>${e.detail ? e.detail.kind : e.event}</td></tr>`)}</table></div>`
						: html`<${Empty}>No decoy was touched in the last hour.<//>`}
				</div>
			</div>`;
	}

	/* On an engine of a cluster the lists are the deployment's: each entry
	   says which instance owns it, shown in a first column. */
	const hasInstance = (list) => list.some((x) => x.instance !== undefined);

	function AttackTable({ list }) {
		if (!list || !list.length)
			return html`<${Empty}>No attack.<//>`;
		const inst = hasInstance(list);
		return html`<div class="scroll"><table data-table="attacks">
			<tr>${inst ? html`<th>instance</th>` : null}<th>id</th><th>state</th><th>PO</th><th>what</th><th>started</th><th class="n">peak pps</th><th class="n">now pps</th></tr>
			${list.map((a) => html`<tr>
				${inst ? html`<td data-instance=${a.instance || ''}>${a.instance || ''}</td>` : null}<td><a href=${'#/attack/' + a.id}>#${a.id}</a></td><td><${Badge} v=${a.state} /></td>
				<td><a href=${'#/po/' + encodeURIComponent(a.po)}>${a.po}</a></td>
				<td>${a.type} · ${a.protocol}${a.port ? ' port ' + a.port : ''}</td>
				<td>${fmtTime(a.start)}</td><td class="n">${fmtNum(a.peak_pps)}</td><td class="n">${fmtNum(a.current_pps)}</td></tr>`)}
		</table></div>`;
	}

	/* compact: for half-width panels (no PO, sources, bytes, start) */
	function MitTable({ list, onStop, compact }) {
		if (!list || !list.length)
			return html`<${Empty}>No mitigation.<//>`;
		const full = !compact;
		const inst = hasInstance(list);
		return html`<div class="scroll"><table data-table="mitigations">
			<tr>${inst ? html`<th>instance</th>` : null}<th>id</th><th>status</th><th>attack</th>${full ? html`<th>PO</th>` : null}<th>driver</th>${full ? html`<th>sources</th>` : null}
				<th class="n">dropped pkts</th>${full ? html`<th class="n">dropped bytes</th><th>started</th>` : null}${onStop ? html`<th></th>` : null}</tr>
			${list.map((m) => html`<tr data-mitigation=${m.id}>
				${inst ? html`<td data-instance=${m.instance || ''}>${m.instance || ''}</td>` : null}<td class="mono" title=${String(m.id)}>${String(m.id).length > 8 ? '…' + String(m.id).slice(-6) : m.id}</td>
				<td><${Badge} v=${m.status} />${m.dry_run ? html` <span class="dim">dry run</span>` : null}</td>
				<td><a href=${'#/attack/' + m.request.attack_id}>#${m.request.attack_id}</a></td>
				${full ? html`<td>${m.request.po}</td>` : null}<td>${m.driver || (m.drivers || []).join(', ')}</td>
				${full ? html`<td class="mono">${(m.request.sources || []).slice(0, 3).join(' ') || 'any'}${(m.request.sources || []).length > 3 ? ' +' + (m.request.sources.length - 3) : ''}</td>` : null}
				<td class="n" data-drops="packets">${fmtNum(m.packets)}</td>
				${full ? html`<td class="n">${fmtNum(m.bytes)}</td><td>${fmtTime(m.started)}</td>` : null}
				${onStop ? html`<td>${m.status === 'mitigating' || m.status === 'probing' || m.status === 'pending' ? html`<button class="danger" data-action="unmitigate" onClick=${() => onStop(m)}>withdraw</button>` : null}</td>` : null}
			</tr>`)}
		</table></div>`;
	}

	/* One protocol's chart: pps in, the 60 s average, threshold, attack shading. */
	function Chart({ proto, hist, threshold, synThreshold, attacks }) {
		const tcp = proto === 'tcp';
		const ref = useRef(null), plot = useRef(null), shade = useRef([]);
		shade.current = attacks;
		useEffect(() => {
			const el = ref.current;
			const opts = {
				width: Math.max(300, el.clientWidth), height: 170,
				cursor: { drag: { x: false, y: false } },
				legend: { show: true, live: false },
				/* a fixed window of HISTORY seconds ending at the newest point */
				scales: { x: { time: true, range: (u, lo, hi) => [hi - HISTORY, hi + 1] }, y: { range: (u, lo, hi) => [0, Math.max(10, hi * 1.15)] } },
				axes: [
					{ stroke: '#94a3b8', grid: { stroke: '#1b2742' }, ticks: { stroke: '#24324f' },
						values: (u, v) => v.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false })) },
					{ stroke: '#94a3b8', grid: { stroke: '#1b2742' }, ticks: { stroke: '#24324f' }, size: 56,
						values: (u, v) => v.map(fmtNum) },
				],
				series: [
					{},
					{ label: proto + ' pps in', stroke: COLORS[proto], width: 2, fill: COLORS[proto] + '22', value: (u, v) => fmtNum(v) },
					{ label: 'expected (60 s avg)', stroke: '#94a3b8', width: 1, dash: [4, 4], value: (u, v) => fmtNum(v) },
					{ label: 'pps threshold', stroke: '#ef4444', width: 1, dash: [8, 4], value: (u, v) => fmtNum(v) },
				].concat(tcp ? [
					{ label: 'SYN/s', stroke: '#fbbf24', width: 1.5, value: (u, v) => fmtNum(v) },
					{ label: 'SYN/s threshold', stroke: '#fb923c', width: 1, dash: [2, 3], value: (u, v) => fmtNum(v) },
				] : []),
				hooks: {
					drawClear: [(u) => {
						const c = u.ctx;
						let n = 0;
						c.save();
						for (const a of shade.current) {
							const x0 = u.valToPos(Math.max(a.start, u.scales.x.min), 'x', true);
							const x1 = u.valToPos(Math.min(a.end || Date.now() / 1000, u.scales.x.max), 'x', true);
							if (x1 <= x0)
								continue;
							c.fillStyle = a.state === 'declared' || a.declared ? 'rgba(239,68,68,0.22)' : 'rgba(245,158,11,0.18)';
							c.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
							n++;
						}
						c.restore();
						/* for tests and curious operators: what the last draw shaded */
						el.parentNode.dataset.shaded = String(n);
					}],
				},
			};
			plot.current = new window.uPlot(opts, tcp ? [[], [], [], [], [], []] : [[], [], [], []], el);
			const ro = new ResizeObserver(() => plot.current && plot.current.setSize({ width: Math.max(300, el.clientWidth), height: 170 }));
			ro.observe(el);
			return () => { ro.disconnect(); plot.current.destroy(); plot.current = null; };
		}, [proto]);
		useEffect(() => {
			if (!plot.current)
				return;
			const t = hist.map((p) => p.t);
			const data = [t, hist.map((p) => p[proto].pps), hist.map((p) => p[proto].avg),
				hist.map(() => threshold || null)];
			if (tcp)
				data.push(hist.map((p) => p.tcp.syn), hist.map(() => synThreshold || null));
			plot.current.setData(data);
		}, [hist, threshold, synThreshold, attacks]);
		const last = hist.length ? hist[hist.length - 1][proto] : null;
		const peak = hist.reduce((m, p) => Math.max(m, p[proto].pps), 0);
		return html`<div class="panel chart" data-chart=${proto} data-peak=${Math.round(peak)} data-points=${hist.length}>
			<div class="title"><h2>${proto}</h2><span class="now">${last ? fmtNum(last.pps) + ' pps · ' + fmtNum(last.bps) + ' bit/s' : ''}</span></div>
			<div ref=${ref}></div></div>`;
	}

	function PoView({ name }) {
		const po = usePoll('/api/v1/pos/' + encodeURIComponent(name), 10000);
		const traffic = usePoll('/api/v1/pos/' + encodeURIComponent(name) + '/traffic', 2000);
		/* moatd keeps the last HISTORY seconds of each PO: the chart starts full */
		const history = usePoll('/api/v1/pos/' + encodeURIComponent(name) + '/history?seconds=' + HISTORY, 1000);
		const attacks = usePoll('/api/v1/attacks', 3000);
		const [edit, setEdit] = useState(null);
		const [msg, setMsg] = useState(null);
		const hd = history.data;
		const hist = hd ? hd.t.map((t, i) => {
			const p = { t };
			for (const pr of PROTOS)
				p[pr] = { pps: hd[pr].pps[i], bps: hd[pr].bps[i], syn: hd[pr].syn_pps[i], avg: hd[pr].avg_pps[i] };
			return p;
		}) : [];
		const mine = attacks.data ? attacks.data.attacks.filter((a) => a.po === name) : [];
		const pd = po.data;
		const save = async () => {
			try {
				const body = JSON.parse(edit);
				await apiSend('PUT', '/api/v1/pos/' + encodeURIComponent(name), body);
				setMsg({ ok: 'PO ' + name + ' saved' });
				setEdit(null);
				po.refresh();
			} catch (e) {
				setMsg({ err: e.message });
			}
		};
		const startEdit = () => {
			const { source, created_at, updated_at, ...rest } = pd;
			setEdit(JSON.stringify(rest, null, 2));
			setMsg(null);
		};
		const d = traffic.data;
		return html`
			<div class="row"><h1>PO ${name}</h1>
				<span class="dim"><span class=${'live' + (d && d.collecting ? '' : ' off')}></span>${d && d.collecting ? 'live, 1 s' : 'not collecting'}</span>
				<span style=${{ flex: 1 }}></span>
				${pd && pd.source !== 'config' ? html`<button data-action="po-edit" onClick=${startEdit}>edit</button>` : null}</div>
			<${Err} e=${po.error} /><${Err} e=${traffic.error} /><${Err} e=${history.error} />
			${msg && msg.err ? html`<div class="msg err">${msg.err}</div>` : null}
			${msg && msg.ok ? html`<div class="msg ok">${msg.ok}</div>` : null}
			${edit !== null ? html`<div class="panel sec"><h2>Edit (PUT /api/v1/pos/${name})</h2>
				<textarea value=${edit} onInput=${(e) => setEdit(e.target.value)}></textarea>
				<div class="row sec"><button class="primary" data-action="po-save" onClick=${save}>save</button>
				<button onClick=${() => setEdit(null)}>cancel</button></div></div>` : null}
			${pd ? html`<div class="panel sec kv">
				<div>prefixes</div><div class="mono">${pd.prefixes.join(' ')}</div>
				<div>ports</div><div class="mono">${(pd.ports || []).join(' ') || '–'}</div>
				<div>drivers</div><div>${(pd.drivers || []).join(' → ') || '–'}</div>
				<div>thresholds</div><div class="mono">${JSON.stringify(pd.thresholds || {})}</div>
				<div>source</div><div>${pd.source}, updated ${fmtAgo(pd.updated_at)}</div></div>` : null}
			<div class="grid charts sec">
				${PROTOS.map((pr) => html`<${Chart} key=${pr} proto=${pr} hist=${hist}
					threshold=${pd && pd.thresholds && pd.thresholds[pr] ? pd.thresholds[pr].pps : 0}
					synThreshold=${pd && pd.thresholds && pd.thresholds.tcp ? pd.thresholds.tcp.syn_pps : 0}
					attacks=${mine.filter((a) => a.protocol === pr)} />`)}
			</div>
			<div class="dim">Inbound, one point a second, the last 5 minutes. Shaded: attacks on this PO (amber suspected, red declared). Dashed grey: the 60 s average; dashed red: the PO's thresholds.</div>
			<div class="grid two sec">
				<div class="panel"><h2>Ports</h2>${d && d.ports && d.ports.length ? html`<table>
					<tr><th>port</th><th>proto</th><th class="n">pps in</th><th class="n">bit/s in</th><th class="n">pps out</th></tr>
					${d.ports.flatMap((p) => ['tcp', 'udp'].map((pr) => html`<tr><td>${p.port}</td><td>${pr}</td>
						<td class="n">${fmtNum(p.in && p.in[pr] ? p.in[pr].rate['1s'].pps : 0)}</td>
						<td class="n">${fmtNum(p.in && p.in[pr] ? p.in[pr].rate['1s'].bps : 0)}</td>
						<td class="n">${fmtNum(p.out && p.out[pr] ? p.out[pr].rate['1s'].pps : 0)}</td></tr>`))}
					</table>` : html`<${Empty}>No port configured.<//>`}</div>
				<div class="panel"><h2>Top hosts</h2>${d && d.top_hosts && d.top_hosts.length ? html`<div class="scroll"><table>
					<tr><th>address</th><th class="n">packets</th><th class="n">bytes</th><th class="n">flows</th><th class="n">SYNs</th></tr>
					${d.top_hosts.slice(0, 15).map((x) => html`<tr><td class="mono">${x.address}</td><td class="n">${fmtNum(x.packets)}</td>
						<td class="n">${fmtNum(x.bytes)}</td><td class="n">${fmtNum(x.flows)}</td><td class="n">${fmtNum(x.syns)}</td></tr>`)}
					</table></div>` : html`<${Empty}>No traffic seen.<//>`}</div>
			</div>
			<div class="panel sec"><h2>Attacks on ${name}</h2><${AttackTable} list=${mine} /></div>`;
	}

	function Attacks() {
		const [state, setState] = useState('all');
		const a = usePoll('/api/v1/attacks?state=' + state);
		return html`<div class="row"><h1>Attacks</h1><span style=${{ flex: 1 }}></span>
			<select value=${state} onChange=${(e) => setState(e.target.value)}>
				<option value="all">all</option><option value="live">live</option><option value="ended">ended</option></select></div>
			<${Err} e=${a.error} />
			<div class="panel"><${AttackTable} list=${a.data ? a.data.attacks : []} /></div>`;
	}

	function TopList({ title, list, field }) {
		return html`<div class="panel"><h2>${title}</h2>${list && list.length ? html`<table>
			<tr><th>${field}</th><th class="n">${field === 'port' ? 'weight' : 'packets'}</th><th class="n">share</th></tr>
			${list.map((x) => html`<tr><td class="mono">${x[field]}</td><td class="n">${fmtNum(x.packets !== undefined ? x.packets : x.weight)}</td>
				<td class="n">${(x.share * 100).toFixed(1)}%</td></tr>`)}</table>` : html`<${Empty}>none<//>`}</div>`;
	}

	function AttackView({ id }) {
		const a = usePoll('/api/v1/attacks/' + id);
		const mits = usePoll('/api/v1/mitigations');
		const fl = usePoll('/api/v1/flight?category=detection,attack,mitigation&limit=1000', 4000);
		const [driver, setDriver] = useState('');
		const [msg, setMsg] = useState(null);
		const at = a.data;
		const mine = mits.data ? mits.data.mitigations.filter((m) => String(m.request.attack_id) === String(id)) : [];
		const events = fl.data ? fl.data.entries.filter((e) => e.detail && (String(e.detail.id) === String(id) &&
			(e.category === 'attack' || e.category === 'detection') ||
			(e.detail.request && String(e.detail.request.attack_id) === String(id)))).reverse() : [];
		const firstEvent = (re) => { const e = events.find((x) => re.test(x.event)); return e ? e.time : null; };
		const mitigated = mine.length ? Math.min(...mine.map((m) => m.started)) : firstEvent(/^mitigation\./);
		const ending = firstEvent(/\.ending$/);
		const steps = at ? [
			['suspected', at.start], ['declared', at.declared], ['mitigated', mitigated],
			['ending', ending || (at.state === 'ending' || at.state === 'ended' ? at.end : null)], ['ended', at.state === 'ended' ? at.end : null],
		] : [];
		const act = async (fn) => {
			try { setMsg({ ok: await fn() }); mits.refresh(); } catch (e) { setMsg({ err: e.message }); }
		};
		const mitigate = () => act(async () => {
			const r = await apiSend('POST', '/api/v1/mitigations', { attack: Number(id), driver: driver || (at && at.drivers ? at.drivers[0] : 'nft') });
			return 'mitigation ' + r.id + ' started';
		});
		const stop = (m) => act(async () => { await apiSend('DELETE', '/api/v1/mitigations/' + m.id); return 'mitigation ' + m.id + ' withdrawn'; });
		return html`
			<div class="row"><h1>Attack #${id}</h1>${at ? html`<${Badge} v=${at.state} />
				<span class="dim">${at.type} · ${at.protocol} ${at.direction}${at.port ? ' port ' + at.port : ''} on <a href=${'#/po/' + encodeURIComponent(at.po)}>${at.po}</a> · confidence ${at.confidence}${at.instance ? html` · instance <span data-instance=${at.instance}>${at.instance}</span>` : null}</span>` : null}</div>
			<${Err} e=${a.error} />
			${msg && msg.err ? html`<div class="msg err" data-msg="err">${msg.err}</div>` : null}
			${msg && msg.ok ? html`<div class="msg ok" data-msg="ok">${msg.ok}</div>` : null}
			${at ? html`
			<div class="panel"><h2>Timeline</h2><div class="timeline">
				${steps.map(([n, t]) => html`<div class=${'step' + (t ? ' done' : '') + (n === 'declared' && t ? ' bad' : '')}>
					<div>${n}</div><div class="t">${t ? fmtTime(t) : '–'}</div></div>`)}</div></div>
			<div class="grid two sec">
				<div class="panel"><h2>Why</h2><div>${at.reason || 'suspicion'}</div>
					<div class="kv sec"><div>peak</div><div class="mono">${fmtNum(at.peak_pps)} pps · ${fmtNum(at.peak_bps)} bit/s</div>
					<div>now</div><div class="mono">${fmtNum(at.current_pps)} pps · ${fmtNum(at.current_bps)} bit/s</div>
					<div>expected</div><div class="mono">${fmtNum(at.baseline_pps)} pps · ${fmtNum(at.baseline_bps)} bit/s</div>
					<div>seen</div><div class="mono">${fmtNum(at.packets)} packets · ${fmtNum(at.bytes)} bytes</div></div>
					${at.detectors && at.detectors.length ? html`<table class="sec"><tr><th>detector</th><th class="n">confidence</th><th class="n">count</th><th>first</th><th>last</th></tr>
						${at.detectors.map((d) => html`<tr><td>${d.name}</td><td class="n">${d.confidence}</td><td class="n">${d.count}</td><td>${fmtTime(d.first)}</td><td>${fmtTime(d.last)}</td></tr>`)}</table>` : null}
				</div>
				<div class="panel"><h2>Mitigation</h2>
					<${MitTable} list=${mine} onStop=${stop} compact />
					<div class="row sec"><select value=${driver} onChange=${(e) => setDriver(e.target.value)}>
						<option value="">driver: PO default</option>${['nft', 'xdp', 'bgp', 'ins', 'notify'].map((d) => html`<option value=${d}>${d}</option>`)}</select>
						<button class="primary" data-action="mitigate" onClick=${mitigate}>mitigate</button></div>
				</div>
				<${TopList} title="Top sources" list=${at.top_sources} field="address" />
				<${TopList} title="Top targets" list=${at.top_targets} field="address" />
			</div>
			<div class="panel sec"><h2>Flight record of this attack</h2>${events.length ? html`<div class="scroll"><table>
				<tr><th>time</th><th>event</th><th>message</th></tr>
				${events.map((e) => html`<tr><td>${fmtTime(e.time)}</td><td>${e.event}</td><td>${e.message}</td></tr>`)}</table></div>` : html`<${Empty}>none yet<//>`}</div>` : null}`;
	}

	function Mitigations() {
		const m = usePoll('/api/v1/mitigations');
		const [msg, setMsg] = useState(null);
		const stop = async (x) => {
			try { await apiSend('DELETE', '/api/v1/mitigations/' + x.id); setMsg({ ok: 'mitigation ' + x.id + ' withdrawn' }); m.refresh(); } catch (e) { setMsg({ err: e.message }); }
		};
		return html`<h1>Mitigations</h1><${Err} e=${m.error} />
			${msg && msg.err ? html`<div class="msg err" data-msg="err">${msg.err}</div>` : null}
			${msg && msg.ok ? html`<div class="msg ok" data-msg="ok">${msg.ok}</div>` : null}
			<div class="panel"><${MitTable} list=${m.data ? m.data.mitigations : []} onStop=${stop} /></div>`;
	}

	function Decoys() {
		const f = usePoll('/api/v1/flight?category=decoy&since=1d&limit=2000', 4000);
		const entries = f.data ? f.data.entries : [];
		const touched = new Map(), bySrc = new Map(), creds = [];
		for (const e of entries) {
			const d = e.detail || {};
			for (const x of (d.decoys || (d.decoy ? [d.decoy] : [])))
				touched.set(x, (touched.get(x) || 0) + 1);
			if (d.src) {
				const s = bySrc.get(d.src) || { src: d.src, mac: d.src_mac, n: 0, decoys: new Set(), kinds: new Set(), last: 0 };
				s.n++; s.last = Math.max(s.last, e.time); s.kinds.add(d.kind);
				for (const x of (d.decoys || [d.decoy])) s.decoys.add(x);
				bySrc.set(d.src, s);
			}
			if (d.username || d.password)
				creds.push({ t: e.time, src: d.src, decoy: d.decoy, proto: d.personality || d.proto, user: d.username, pass: d.password });
		}
		/* the map: one row of 256 cells per /24 touched (IPv4) */
		const nets = new Map();
		for (const [a, n] of touched) {
			const m = /^(\d+\.\d+\.\d+)\.(\d+)$/.exec(a);
			if (!m) continue;
			if (!nets.has(m[1])) nets.set(m[1], new Array(256).fill(0));
			nets.get(m[1])[Number(m[2])] += n;
		}
		return html`<h1>Decoys</h1><${Err} e=${f.error} />
			<div class="panel"><h2>Decoys touched (last 24 h): ${touched.size}</h2>
				${nets.size ? [...nets].slice(0, 8).map(([net, cells]) => html`<div class="dim mono">${net}.0/24</div>
					<div class="decoymap" data-map=${net}>${cells.map((n, i) => html`<div title=${net + '.' + i + (n ? ': ' + n + ' alarm(s)' : '')}
						class=${n > 2 ? 'hit2' : n ? 'hit' : ''}></div>`)}</div>`) : html`<${Empty}>No decoy alarm in the last 24 h.<//>`}
			</div>
			<div class="grid two sec">
				<div class="panel"><h2>By whom</h2>${bySrc.size ? html`<div class="scroll"><table>
					<tr><th>source</th><th>MAC</th><th class="n">alarms</th><th class="n">decoys</th><th>what</th><th>last</th></tr>
					${[...bySrc.values()].sort((a, b) => b.last - a.last).map((s) => html`<tr><td class="mono">${s.src}</td><td class="mono">${s.mac || ''}</td>
						<td class="n">${s.n}</td><td class="n">${s.decoys.size}</td><td>${[...s.kinds].join(', ')}</td><td>${fmtTime(s.last)}</td></tr>`)}</table></div>` : html`<${Empty}>nobody<//>`}</div>
				<div class="panel"><h2>Captured credentials</h2>${creds.length ? html`<div class="scroll"><table>
					<tr><th>time</th><th>source</th><th>decoy</th><th>service</th><th>user</th><th>password</th></tr>
					${creds.map((c) => html`<tr><td>${fmtTime(c.t)}</td><td class="mono">${c.src}</td><td class="mono">${c.decoy}</td><td>${c.proto}</td>
						<td class="cred">${c.user}</td><td class="cred">${c.pass}</td></tr>`)}</table></div>` : html`<${Empty}>None captured.<//>`}</div>
			</div>
			<div class="panel sec"><h2>Alarms</h2>${entries.length ? html`<div class="scroll"><table>
				<tr><th>time</th><th>event</th><th>message</th></tr>
				${entries.slice(0, 200).map((e) => html`<tr><td>${fmtTime(e.time)}</td><td>${e.event}</td><td>${e.message}</td></tr>`)}</table></div>` : html`<${Empty}>none<//>`}</div>`;
	}

	function Connections() {
		const [state, setState] = useState('');
		const c = usePoll('/api/v1/connections?limit=300' + (state ? '&state=' + state : ''), 3000);
		const d = c.data;
		return html`<div class="row"><h1>moat-ins connections</h1><span style=${{ flex: 1 }}></span>
			<select value=${state} onChange=${(e) => setState(e.target.value)}>
				<option value="">all</option>${['open', 'closed', 'slow', 'dropped'].map((s) => html`<option value=${s}>${s}</option>`)}</select></div>
			${c.error ? html`<div class="msg err">${c.error.status === 503 ? 'The connection table is not running.' : c.error.message}</div>` : null}
			${d ? html`<div class="dim">${d.total} matching · ${d.open} open · ${d.evictions} evicted</div>` : null}
			<div class="panel sec">${d && d.connections.length ? html`<div class="scroll" style=${{ maxHeight: '560px' }}><table data-table="connections">
				<tr><th>state</th><th>event</th><th>PO</th><th>client</th><th>local</th><th>start</th><th class="n">held ms</th><th class="n">in</th><th class="n">out</th><th class="n">RTT µs</th></tr>
				${d.connections.map((x) => html`<tr><td><${Badge} v=${x.state} /></td><td>${x.last_event}</td><td>${x.po || '–'}</td>
					<td class="mono">${x.source}:${x.source_port}</td><td class="mono">${x.local}:${x.local_port}</td><td>${fmtTime(x.start)}</td>
					<td class="n">${x.held_ms === null || x.held_ms === undefined ? '–' : x.held_ms}</td><td class="n">${fmtNum(x.bytes_in)}</td><td class="n">${fmtNum(x.bytes_out)}</td>
					<td class="n">${x.tcp ? x.tcp.rtt_us : '–'}</td></tr>`)}</table></div>` : html`<${Empty}>No connection.<//>`}</div>`;
	}

	function Flight() {
		const [cats, setCats] = useState([]);
		const [since, setSince] = useState('1h');
		const q = '/api/v1/flight?limit=500' + (cats.length ? '&category=' + cats.join(',') : '') + (since ? '&since=' + since : '');
		const f = usePoll(q, 3000);
		const toggle = (c) => setCats((cs) => cs.includes(c) ? cs.filter((x) => x !== c) : cs.concat([c]));
		return html`<h1>Flight record</h1>
			<div class="panel filters row">${CATEGORIES.map((c) => html`<label><input type="checkbox" data-cat=${c} checked=${cats.includes(c)} onChange=${() => toggle(c)} /> ${c}</label>`)}
				<span style=${{ flex: 1 }}></span>
				<select value=${since} data-filter="since" onChange=${(e) => setSince(e.target.value)}>
					${[['5m', 'last 5 min'], ['1h', 'last hour'], ['1d', 'last day'], ['1w', 'last week'], ['', 'all']].map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></div>
			<${Err} e=${f.error} />
			<div class="panel sec">${f.data && f.data.entries.length ? html`<div class="scroll" style=${{ maxHeight: '540px' }}><table data-table="flight">
				<tr><th>time</th><th>category</th><th>event</th><th>message</th></tr>
				${f.data.entries.map((e) => html`<tr><td class="mono">${fmtTime(e.time)}</td><td><span class="badge">${e.category}</span></td><td>${e.event}</td><td>${e.message}</td></tr>`)}
				</table></div>` : html`<${Empty}>No entry.<//>`}</div>`;
	}

	function TokenBox() {
		const [has, setHas] = useState(!!token.get());
		useEffect(() => {
			const f = () => setHas(!!token.get());
			window.addEventListener('moat-token', f);
			return () => window.removeEventListener('moat-token', f);
		}, []);
		const set = () => {
			const t = (window.prompt('moatd API token (<state>/api.token); kept for this tab only:') || '').trim();
			if (t) { token.set(t); setHas(true); }
		};
		return html`<div class="tok">${has ? html`<span>token set (this tab)</span>
			<button data-action="forget-token" onClick=${() => { token.set(''); setHas(false); }}>forget</button>`
			: html`<span>read-only</span><button data-action="set-token" onClick=${set}>token…</button>`}</div>`;
	}

	function App() {
		const route = useRoute();
		const parts = route.split('/').filter(Boolean);
		let view, tab = parts[0] || '';
		if (tab === 'po' && parts[1]) view = html`<${PoView} key=${parts[1]} name=${decodeURIComponent(parts[1])} />`;
		else if (tab === 'attack' && parts[1]) { view = html`<${AttackView} key=${parts[1]} id=${parts[1]} />`; tab = 'attacks'; }
		else if (tab === 'attacks') view = html`<${Attacks} />`;
		else if (tab === 'mitigations') view = html`<${Mitigations} />`;
		else if (tab === 'decoys') view = html`<${Decoys} />`;
		else if (tab === 'connections') view = html`<${Connections} />`;
		else if (tab === 'flight') view = html`<${Flight} />`;
		else { view = html`<${Overview} />`; tab = ''; }
		const tabs = [['', 'Overview'], ['attacks', 'Attacks'], ['mitigations', 'Mitigations'], ['decoys', 'Decoys'],
			['connections', 'Connections'], ['flight', 'Flight record']];
		return html`<header><div class="brand">m<span>oa</span>t</div>
			<nav>${tabs.map(([k, l]) => html`<a href=${'#/' + k} class=${tab === k ? 'on' : ''}>${l}</a>`)}</nav>
			<${TokenBox} /></header><main>${view}</main>`;
	}

	const root = document.getElementById('app');
	root.textContent = '';
	render(html`<${App} />`, root);
})();
