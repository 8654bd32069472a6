/* The governance big screen: one request (/api/v1/views/overview) per unit, drawn as inline SVG.
   No dependencies and nothing fetched from outside: it works on a centre's closed network. */
"use strict";

const REFRESH_MS = 30000;
const COLORS = ["#3fb6ff", "#3ecf8e", "#ffb347", "#ff5d6c", "#b48cff", "#5ee6e6", "#f78fb3", "#c0ca33"];
const OUTCOME_COLORS = { mediated: "#3ecf8e", in_progress: "#3fb6ff", referred: "#b48cff", failed: "#ff5d6c" };
const started = performance.now();
let timer = null;

/* Not signed in (or the session ended): the login page, then back here. */
function signIn() {
  location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search + location.hash));
}

const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const fmt = (n) => Number(n).toLocaleString("en-US");
const pct = (x) => `${(x * 100).toFixed(1)}%`;
const sum = (obj) => Object.values(obj || {}).reduce((a, b) => a + b, 0);

function currentUnit() {
  const m = location.hash.match(/unit=(\d+)/);
  return m ? m[1] : null;
}

function drill(code) {
  location.hash = `unit=${code}`;
}

async function load() {
  const unit = currentUnit();
  const url = "/api/v1/views/overview" + (unit ? `?unit=${encodeURIComponent(unit)}` : "");
  document.body.dataset.ready = "0";
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 401) { signIn(); return; }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.error ? body.error.message : `${response.status} ${response.statusText}`);
    }
    render(body);
    $("#error").hidden = true;
  } catch (err) {
    $("#error").textContent = `Could not load figures: ${err.message}`;
    $("#error").hidden = false;
  }
  document.body.dataset.ready = "1";
  if (!window.__tiersyncLoadMs) window.__tiersyncLoadMs = performance.now() - started;
}

function ago(seconds) {
  if (seconds == null) return "never";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

function freshnessCell(f) {
  if (f.source === "local") return `<span class="fresh local" data-k="fresh" data-state="local">held here</span>`;
  const state = f.stale ? "stale" : "ok";
  const when = f.last_received_at ? new Date(f.last_received_at).toLocaleString() : "never";
  return `<span class="fresh ${state}" data-k="fresh" data-state="${state}" title="${esc(when)}">` +
    `${f.stale ? "⚠ stale · " : "● "}${ago(f.age_s)}</span>`;
}

function render(o) {
  const s = o.summary;
  document.body.dataset.unit = s.unit;
  $("#unit-name").textContent = s.name;
  $("#unit-level").textContent = s.level;
  $("#unit-code").textContent = s.unit;
  document.title = `${s.name} — governance dashboard`;
  $("#crumbs").hidden = o.path.length < 2;
  $("#crumbs").innerHTML = o.path.slice(0, -1).map((p) =>
    `<a href="#unit=${p.unit}" data-unit="${p.unit}">${esc(p.name)}</a><span class="sep">›</span>`).join("") +
    `<span>${esc(s.name)}</span>`;
  const stale = s.stale_children.length;
  const health = $("#sync-health");
  health.className = `pill ${stale ? "stale" : "ok"}`;
  health.dataset.stale = String(stale);
  health.textContent = stale ? `${stale} unit${stale > 1 ? "s" : ""} not reporting` : "All units reporting";
  $("#as-of").textContent = ` as of ${new Date(s.as_of).toLocaleTimeString()}`;
  renderKpis(o);
  renderUnits(o);
  renderPopulation(o.population);
  renderIncidents(o.incidents);
  renderDisputes(o.disputes);
  renderPatrols(o.patrols);
  renderKeyGroups(o.key_groups);
  renderLegal(o.legal);
  renderDirectives(o.directives);
}

function kpi(key, label, value, sub) {
  const size = String(value).length > 7 ? "v long" : "v";
  return `<div class="kpi"><div class="${size}" data-k="${key}">${value}</div>` +
    `<div class="l">${esc(label)}</div>${sub ? `<div class="s">${sub}</div>` : ""}</div>`;
}

function renderKpis(o) {
  const p = o.population, d = o.disputes, pa = o.patrols, g = o.governance;
  $("#kpis").innerHTML = [
    kpi("population.persons", "Residents", fmt(p.persons)),
    kpi("population.households", "Households", fmt(p.households)),
    kpi("governance.grids", "Grids", fmt(g.grids), `${fmt(g.grid_members)} grid members`),
    kpi("key_groups.total", "Key-group members", fmt(o.key_groups.total), `${fmt(o.key_groups.high_risk)} high risk`),
    kpi("incidents.open", "Open incidents", fmt(o.incidents.open), `${fmt(o.incidents.total)} reported`),
    kpi("disputes.accepted", "Disputes accepted", fmt(d.accepted), `${fmt(d.mediated)} mediated · ${pct(d.success_rate)}`),
    kpi("disputes.recovered_yuan", "Yuan recovered", fmt(d.recovered_yuan)),
    kpi("patrols.compliance_rate", "Patrol compliance", pct(pa.compliance_rate), `${fmt(pa.missing.length)} grids behind`),
    kpi("legal.sessions", "Legal sessions", fmt(o.legal.sessions), `${fmt(o.legal.attendance)} attended`),
  ].join("");
}

function renderUnits(o) {
  const byUnit = (view) => Object.fromEntries(view.children.map((c) => [c.unit, c]));
  const pop = byUnit(o.population), gov = byUnit(o.governance), inc = byUnit(o.incidents);
  const dis = byUnit(o.disputes), pat = byUnit(o.patrols);
  const rows = o.summary.children.map((c) => {
    const p = pop[c.unit] || {}, g = gov[c.unit] || {}, i = inc[c.unit] || {}, d = dis[c.unit] || {};
    const pa = pat[c.unit] || { grids: 0, compliance_rate: 1 };
    const rate = pa.grids ? pa.compliance_rate : null;
    return `<tr tabindex="0" data-unit="${c.unit}">` +
      `<td><span class="unit-name">${esc(c.name)}</span><span class="unit-code">${c.unit}</span></td>` +
      `<td class="n" data-k="persons">${fmt(p.persons || 0)}</td>` +
      `<td class="n" data-k="households">${fmt(p.households || 0)}</td>` +
      `<td class="n" data-k="grids">${fmt(g.grids || 0)}</td>` +
      `<td class="n" data-k="open_incidents">${fmt(i.open || 0)}</td>` +
      `<td class="n" data-k="disputes">${fmt(d.accepted || 0)}</td>` +
      `<td>${rate == null ? '<span class="muted">no grids</span>' :
        `<span class="bar"><i style="width:${(rate * 100).toFixed(1)}%;background:${rate < 0.8 ? "var(--warn)" : "var(--good)"}"></i></span>${pct(rate)}`}</td>` +
      `<td>${freshnessCell(c.freshness)}</td></tr>`;
  });
  $("#units tbody").innerHTML = rows.join("");
  $("#units-empty").hidden = rows.length > 0;
  $("#units").hidden = rows.length === 0;
  for (const tr of document.querySelectorAll("#units tbody tr")) {
    tr.addEventListener("click", () => drill(tr.dataset.unit));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") drill(tr.dataset.unit); });
  }
}

/* --- charts --------------------------------------------------------------------------------- */

function hbars(items, { width = 360, row = 22, label = 110 } = {}) {
  const max = Math.max(1, ...items.map((i) => i.value));
  const h = items.length * row + 4;
  const bars = items.map((it, n) => {
    const y = n * row + 2, w = ((width - label - 60) * it.value) / max;
    return `<text x="${label - 6}" y="${y + row * 0.62}" text-anchor="end" class="axis">${esc(it.label)}</text>` +
      `<rect x="${label}" y="${y + 3}" width="${Math.max(w, 1)}" height="${row - 7}" rx="3" fill="${it.color || COLORS[n % COLORS.length]}"></rect>` +
      `<text x="${label + w + 6}" y="${y + row * 0.62}">${fmt(it.value)}</text>`;
  }).join("");
  return `<svg viewBox="0 0 ${width} ${h}" role="img">${bars}</svg>`;
}

function vbars(items, { width = 360, height = 150 } = {}) {
  if (!items.length) return `<p class="muted">None reported.</p>`;
  const max = Math.max(1, ...items.map((i) => i.value));
  const step = (width - 10) / items.length, chart = height - 30;
  const bars = items.map((it, n) => {
    const h = (chart * it.value) / max, x = 5 + n * step;
    return `<rect x="${x + 2}" y="${chart - h + 12}" width="${Math.max(step - 4, 2)}" height="${Math.max(h, 1)}" rx="2" fill="#3fb6ff"><title>${esc(it.label)}: ${fmt(it.value)}</title></rect>` +
      (items.length <= 8 || (items.length - 1 - n) % 2 === 0 ? `<text x="${x + step / 2}" y="${height - 4}" text-anchor="middle" class="axis">${esc(it.short || it.label)}</text>` : "");
  }).join("");
  return `<svg viewBox="0 0 ${width} ${height}" role="img"><text x="4" y="10" class="axis">max ${fmt(max)}</text>${bars}</svg>`;
}

function donut(segments, centre, sub) {
  const total = segments.reduce((a, s) => a + s.value, 0);
  const r = 52, c = 2 * Math.PI * r;
  let offset = 0;
  const arcs = total === 0 ? `<circle cx="70" cy="70" r="${r}" fill="none" stroke="#23354d" stroke-width="20"></circle>` :
    segments.map((s) => {
      const len = (c * s.value) / total;
      const arc = `<circle cx="70" cy="70" r="${r}" fill="none" stroke="${s.color}" stroke-width="20" stroke-dasharray="${len} ${c - len}" stroke-dashoffset="${-offset}" transform="rotate(-90 70 70)"><title>${esc(s.label)}: ${fmt(s.value)}</title></circle>`;
      offset += len;
      return arc;
    }).join("");
  const legend = segments.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.label)} ${fmt(s.value)}</span>`).join("");
  return `<svg viewBox="0 0 140 140" style="max-width:14em;margin:auto">${arcs}` +
    `<text x="70" y="70" text-anchor="middle" style="font-size:20px;font-weight:700">${esc(centre)}</text>` +
    `<text x="70" y="88" text-anchor="middle" class="axis">${esc(sub)}</text></svg><div class="legend">${legend}</div>`;
}

function renderPopulation(p) {
  const bands = Object.entries(p.by_age_band).map(([label, value]) => ({ label, value }));
  const sex = Object.entries(p.by_sex).map(([label, value], n) => ({ label, value, color: n ? "#f78fb3" : "#3fb6ff" }));
  const eth = Object.entries(p.by_ethnicity).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([label, value]) => ({ label, value }));
  $("#chart-population .body").innerHTML =
    `<div class="muted">By age</div>${hbars(bands)}<div class="muted">By sex</div>${hbars(sex)}` +
    `<div class="muted">By ethnicity</div>${hbars(eth)}`;
}

function renderIncidents(i) {
  const months = Object.entries(i.by_month).slice(-12).map(([label, value]) => ({ label, value, short: label.slice(2) }));
  const status = Object.entries(i.by_status).map(([label, value]) => ({ label, value }));
  $("#chart-incidents .body").innerHTML = vbars(months) + `<div class="muted">By status</div>${hbars(status)}`;
}

function renderDisputes(d) {
  const segments = [
    { label: "mediated", value: d.mediated, color: OUTCOME_COLORS.mediated },
    { label: "in progress", value: d.in_progress, color: OUTCOME_COLORS.in_progress },
    { label: "referred", value: d.referred, color: OUTCOME_COLORS.referred },
    { label: "failed", value: d.failed, color: OUTCOME_COLORS.failed },
  ];
  $("#chart-disputes .body").innerHTML = donut(segments, pct(d.success_rate), `${fmt(d.accepted)} accepted`) +
    `<p class="muted">¥ ${fmt(d.recovered_yuan)} recovered` +
    (d.own.accepted ? ` · ${fmt(d.own.accepted)} cases at this centre itself` : "") + `</p>`;
}

function renderPatrols(p) {
  const segments = [
    { label: "compliant", value: p.compliant, color: "#3ecf8e" },
    { label: "behind", value: p.grids - p.compliant, color: "#ffb347" },
  ];
  const missing = p.missing_detail.slice(0, 30).map((m) =>
    `<li><b>${esc(m.name)}</b> ${m.basic_ok ? "" : "weekly patrol overdue"}${!m.basic_ok && !m.screening_ok ? " · " : ""}${m.screening_ok ? "" : "monthly screening overdue"}</li>`).join("");
  $("#chart-patrols .body").innerHTML = donut(segments, pct(p.compliance_rate), `${fmt(p.grids)} grids`) +
    hbars([{ label: "weekly basic", value: p.basic_ok, color: "#3fb6ff" }, { label: "monthly screening", value: p.screening_ok, color: "#b48cff" }]) +
    (missing ? `<ul class="missing">${missing}</ul>` : "");
}

function renderKeyGroups(k) {
  const rows = Object.entries(k.by_category).sort((a, b) => b[1] - a[1]).map(([label, value]) => ({ label: label.replace(/_/g, " "), value }));
  const risk = ["low", "medium", "high"].map((r, n) => ({ label: r, value: k.by_risk[r] || 0, color: ["#3ecf8e", "#ffb347", "#ff5d6c"][n] }));
  $("#chart-keygroups .body").innerHTML = hbars(rows, { label: 150 }) + `<div class="muted">By risk level</div>${hbars(risk, { label: 150 })}`;
}

function renderLegal(l) {
  const types = Object.entries(l.by_type).map(([label, v]) => ({ label: label.replace(/_/g, " "), value: v.attendance }));
  $("#chart-legal .body").innerHTML =
    `<p><b data-k="legal.publicity_sessions">${fmt(l.publicity_sessions)}</b> publicity sessions, ` +
    `<b data-k="legal.publicity_attendance">${fmt(l.publicity_attendance)}</b> people educated</p>` +
    `<div class="muted">Attendance by type</div>${hbars(types)}`;
}

function renderDirectives(d) {
  const receipts = ["delivered", "acknowledged", "done"].map((s) => `${s} <b>${fmt(d.receipts[s] || 0)}</b>`).join(" · ");
  let table = "";
  if (d.progress && d.progress.length) {
    table = `<table><thead><tr><th>Directive</th><th class="n">Targets</th><th class="n">Delivered</th><th class="n">Acknowledged</th><th class="n">Done</th><th>Progress</th></tr></thead><tbody>` +
      d.progress.map((p) => {
        const share = p.targets ? p.done / p.targets : 0;
        return `<tr><td>${esc(p.title || p.id)}</td><td class="n">${fmt(p.targets || 0)}</td><td class="n">${fmt(p.delivered || 0)}</td>` +
          `<td class="n">${fmt(p.acknowledged || 0)}</td><td class="n">${fmt(p.done || 0)}</td>` +
          `<td><span class="bar"><i style="width:${(share * 100).toFixed(1)}%"></i></span>${pct(share)}</td></tr>`;
      }).join("") + `</tbody></table>`;
  } else {
    table = `<p class="muted">No directives issued from here.</p>`;
  }
  $("#directives .body").innerHTML = `<p><b data-k="directives.directives">${fmt(d.directives)}</b> directives · receipts: ${receipts}</p>${table}`;
}

window.addEventListener("hashchange", () => { load(); });
document.addEventListener("DOMContentLoaded", () => {
  load();
  timer = setInterval(load, REFRESH_MS);
});
