/* The panels of the dashboard, each drawn from the overview document of one unit
   (/api/v1/views/overview). Figures carry data-k (what they are) and data-value (the exact
   number), and a hover text saying how fresh they are. */
"use strict";
(function (TS) {
  const { t, label, place, num, exact, money, pct, dateTime, ago, month } = TS.i18n;
  const C = TS.charts;
  const P = C.PALETTE;
  const $ = (sel) => document.querySelector(sel);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const byUnit = (view) => Object.fromEntries(view.children.map((c) => [c.unit, c]));
  const sum = (obj, keys) => (keys || Object.keys(obj || {})).reduce((a, k) => a + ((obj || {})[k] || 0), 0);

  /* --- freshness ---------------------------------------------------------------------------- */

  function freshState(f) {
    if (f.source === "local") return "local";
    if (f.last_received_at == null) return "never";
    return f.stale ? "stale" : "ok";
  }

  function freshTip(f) {
    const state = freshState(f);
    if (state === "local") return t("fresh.tip.local");
    if (state === "never") return t("fresh.tip.never");
    return t(state === "stale" ? "fresh.tip.stale" : "fresh.tip.ok", { when: dateTime(f.last_received_at), ago: ago(f.age_s) });
  }

  /* How fresh a subtree's figures are: as old as the oldest unit in them. */
  function subtreeTip(o) {
    const s = o.summary;
    const units = [s.freshness, ...s.children.map((c) => c.freshness)];
    const never = units.filter((f) => freshState(f) === "never").length;
    const replicas = units.filter((f) => f.source === "replica" && f.last_received_at);
    const oldest = replicas.sort((a, b) => b.age_s - a.age_s)[0];
    const parts = [t("fresh.tip.as_of", { when: dateTime(s.as_of) })];
    parts.push(oldest ? t("fresh.tip.oldest", { when: dateTime(oldest.last_received_at), ago: ago(oldest.age_s) }) : t("fresh.tip.local"));
    if (s.stale_children.length) parts.push(t("fresh.tip.stale_units", { n: s.stale_children.length }));
    if (never) parts.push(t("fresh.tip.never_units", { n: never }));
    return parts.join("\n");
  }

  function freshCell(f) {
    const state = freshState(f);
    // Short: the sign and colour say the state, the hover text says it in full.
    const text = { local: t("fresh.local"), never: `✕ ${t("fresh.never_short")}`, stale: `⚠ ${ago(f.age_s)}`, ok: `● ${ago(f.age_s)}` }[state];
    return `<span class="fresh" data-k="fresh" data-state="${state}" title="${esc(freshTip(f))}">${esc(text)}</span>`;
  }

  /* The pill in the header: never "all reporting" while anything is stale or silent. */
  function health(o) {
    const s = o.summary;
    const states = s.children.map((c) => freshState(c.freshness));
    const never = states.filter((x) => x === "never").length;
    const stale = s.stale_children.length;
    let state = "ok", text;
    if (freshState(s.freshness) === "never" || s.freshness.stale) {
      state = "stale";
      text = s.freshness.last_received_at ? t("health.self_stale", { ago: ago(s.freshness.age_s) }) : t("health.self_never");
    } else if (stale) {
      state = "stale";
      text = t("health.stale", { n: stale }) + (never ? t("health.never_part", { n: never }) : "");
    } else if (!states.length) {
      text = t("health.no_children");
      state = "local";
    } else if (states.every((x) => x === "local")) {
      text = t("health.local");
      state = "local";
    } else {
      text = t("health.ok");
    }
    const pill = $("#sync-health");
    pill.className = `pill ${state}`;
    pill.dataset.state = state;
    pill.dataset.stale = String(stale);
    pill.textContent = text;
    pill.title = subtreeTip(o);
  }

  /* --- headline figures ----------------------------------------------------------------------- */

  function kpi(key, name, value, shown, sub, tip) {
    return `<div class="kpi" title="${esc(tip)}"><div class="v" data-k="${key}" data-value="${value}">${esc(shown)}</div>` +
      `<div class="l">${esc(name)}</div><div class="s">${sub || "&nbsp;"}</div></div>`;
  }

  function subFig(key, text, value) {
    return `<span data-k="${key}" data-value="${value}">${esc(text)}</span>`;
  }

  function kpis(o) {
    const p = o.population, g = o.governance, k = o.key_groups, i = o.incidents, d = o.disputes, pa = o.patrols, l = o.legal;
    const tip = subtreeTip(o);
    const rate = pa.grids ? pct(pa.compliance_rate) : "—";
    $("#kpis").innerHTML = [
      kpi("population.persons", t("kpi.persons"), p.persons, num(p.persons), subFig("population.households", t("kpi.households_sub", { n: num(p.households) }), p.households), tip),
      kpi("governance.grids", t("kpi.grids"), g.grids, num(g.grids), subFig("governance.grid_members", t("kpi.grid_members_sub", { n: num(g.grid_members) }), g.grid_members), tip),
      kpi("key_groups.total", t("kpi.key_groups"), k.total, num(k.total), subFig("key_groups.high_risk", t("kpi.high_risk_sub", { n: num(k.high_risk) }), k.high_risk), tip),
      kpi("incidents.open", t("kpi.open_incidents"), i.open, num(i.open), subFig("incidents.total", t("kpi.reported_sub", { n: num(i.total) }), i.total), tip),
      kpi("disputes.accepted", t("kpi.disputes"), d.accepted, num(d.accepted), subFig("disputes.mediated", t("kpi.mediated_sub", { n: num(d.mediated) }), d.mediated), tip),
      kpi("disputes.success_rate", t("kpi.success_rate"), d.success_rate, d.accepted ? pct(d.success_rate) : "—", esc(t("kpi.success_rate_sub")), tip),
      kpi("disputes.recovered_yuan", t("kpi.recovered"), d.recovered_yuan, money(d.recovered_yuan), esc(t("kpi.recovered_sub", { exact: exact(d.recovered_yuan) })), tip),
      kpi("patrols.compliance_rate", t("kpi.compliance"), pa.compliance_rate, rate, pa.grids ? subFig("patrols.behind", t("kpi.behind_sub", { n: num(pa.grids - pa.compliant) }), pa.grids - pa.compliant) : esc(t("patrols.no_grids")), tip),
      kpi("legal.publicity_sessions", t("kpi.publicity"), l.publicity_sessions, num(l.publicity_sessions), subFig("legal.publicity_attendance", t("kpi.educated_sub", { n: num(l.publicity_attendance) }), l.publicity_attendance), tip),
    ].join("");
    for (const el of document.querySelectorAll("#kpis .v")) if (el.textContent.length > 6) el.classList.add("long");
  }

  /* --- the units below ------------------------------------------------------------------------ */

  function complianceOf(pa) {
    if (!pa || !pa.grids) return { state: "none", text: t("patrols.no_grids"), rate: null };
    const rate = pa.compliance_rate;
    return { state: rate >= 0.9 ? "good" : rate >= 0.7 ? "warn" : "bad", text: pct(rate), rate };
  }

  function units(o, drill) {
    const pop = byUnit(o.population), gov = byUnit(o.governance), inc = byUnit(o.incidents);
    const dis = byUnit(o.disputes), pat = byUnit(o.patrols);
    const rows = o.summary.children.map((c) => {
      const p = pop[c.unit] || {}, g = gov[c.unit] || {}, i = inc[c.unit] || {}, d = dis[c.unit] || {};
      const comp = complianceOf(pat[c.unit]);
      const tip = esc(freshTip(c.freshness));
      const bar = comp.rate == null ? `<span class="muted">${esc(comp.text)}</span>` :
        `<span class="bar"><i class="${comp.state}" style="width:${(comp.rate * 100).toFixed(1)}%"></i></span><span class="rate ${comp.state}">${comp.text}</span>`;
      return `<tr tabindex="0" data-unit="${c.unit}" title="${tip}">` +
        `<td title="${esc(place(c.name))} ${c.unit}"><span class="unit-name">${esc(place(c.name))}</span><span class="unit-code">${c.unit}</span></td>` +
        `<td class="n" data-k="persons" data-value="${p.persons || 0}">${num(p.persons || 0)}</td>` +
        `<td class="n opt desk-only" data-k="households" data-value="${p.households || 0}">${num(p.households || 0)}</td>` +
        `<td class="n opt" data-k="grids" data-value="${g.grids || 0}">${num(g.grids || 0)}</td>` +
        `<td class="n opt" data-k="open_incidents" data-value="${i.open || 0}">${num(i.open || 0)}</td>` +
        `<td class="n opt desk-only" data-k="disputes" data-value="${d.accepted || 0}">${num(d.accepted || 0)}</td>` +
        `<td class="compliance" data-k="compliance">${bar}</td>` +
        `<td>${freshCell(c.freshness)}</td></tr>`;
    });
    $("#units tbody").innerHTML = rows.join("");
    $("#units-empty").hidden = rows.length > 0;
    $("#units").hidden = rows.length === 0;
    for (const tr of document.querySelectorAll("#units tbody tr")) {
      tr.addEventListener("click", () => drill(tr.dataset.unit));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") drill(tr.dataset.unit); });
    }
  }

  /* --- the map of the subtree ------------------------------------------------------------------ */

  const METRICS = {
    compliance(c, o) {
      const comp = complianceOf(byUnit(o.patrols)[c.unit]);
      return { color: { good: P.good, warn: P.warn, bad: P.bad, none: P.none }[comp.state], figure: comp.text };
    },
    incidents(c, o, max) {
      const open = (byUnit(o.incidents)[c.unit] || {}).open || 0;
      const color = open === 0 ? P.good : open * 2 < max ? P.warn : P.bad;
      return { color, figure: t("map.open_n", { n: num(open) }) };
    },
    freshness(c) {
      const state = freshState(c.freshness);
      const color = { local: P.info, ok: P.good, stale: P.bad, never: P.bad }[state];
      const figure = { local: t("fresh.local"), ok: ago(c.freshness.age_s), stale: t("fresh.stale", { ago: ago(c.freshness.age_s) }), never: t("fresh.never") }[state];
      return { color, figure };
    },
  };
  const LEGENDS = {
    compliance: [["good", "map.legend.compliance_good"], ["warn", "map.legend.compliance_warn"], ["bad", "map.legend.compliance_bad"], ["none", "patrols.no_grids"]],
    incidents: [["good", "map.legend.incidents_none"], ["warn", "map.legend.incidents_few"], ["bad", "map.legend.incidents_many"]],
    freshness: [["good", "map.legend.fresh_ok"], ["bad", "map.legend.fresh_stale"], ["info", "fresh.local"]],
  };

  function map(o, metric, drill) {
    const children = o.summary.children;
    for (const b of document.querySelectorAll("#map-metric button")) b.setAttribute("aria-pressed", String(b.dataset.metric === metric));
    $("#map-legend").innerHTML = LEGENDS[metric].map(([c, key]) => `<span><i style="background:${P[c]}"></i>${esc(t(key))}</span>`).join("") +
      `<span class="muted">${esc(t("map.sized_by"))}</span>`;
    if (!children.length) { C.empty("chart-map", t("units.none")); return; }
    const pop = byUnit(o.population), sizes = byUnit(o.summary);
    const maxOpen = Math.max(1, ...children.map((c) => (byUnit(o.incidents)[c.unit] || {}).open || 0));
    const tiles = children.map((c) => {
      const persons = (pop[c.unit] || {}).persons || 0;
      const size = persons || sum((sizes[c.unit] || {}).counts) || 1;
      const { color, figure } = METRICS[metric](c, o, maxOpen);
      const name = place(c.name);
      return { unit: c.unit, size, color, label: name, figure, tip: `${esc(name)}<br>${esc(t("units.col.persons"))} ${num(persons)}<br>${esc(figure)}<br>${esc(freshTip(c.freshness))}` };
    });
    C.treemap("chart-map", tiles, drill);
  }

  /* --- the centre's own records beside the subtree's -------------------------------------------- */

  function own(o) {
    const d = o.disputes, l = o.legal, g = o.governance, s = o.summary;
    const rows = [];
    const add = (key, mine, all, show = num) => { if (mine) rows.push([key, mine, all, show]); };
    const below = s.children.length;
    add("own.row.disputes", d.own.accepted, d.accepted);
    add("own.row.mediated", d.own.mediated, d.mediated);
    add("own.row.recovered", d.own.recovered_yuan, d.recovered_yuan, money);
    add("own.row.publicity", l.own.publicity_sessions, l.publicity_sessions);
    add("own.row.educated", l.own.publicity_attendance, l.publicity_attendance);
    const level = s.children.length ? s.children[0].level : null;
    const head = below ? `<p class="own-units" data-k="own.children" data-value="${below}">${esc(t("own.children", { n: num(below), level: label("level", level) }))}</p>` : "";
    // The centre's own bodies (service posts, legal-service stations…), with the subtree's count.
    const bodies = Object.entries(g.own.governance_orgs).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    const orgs = bodies.length ? `<div class="facts">${bodies.map(([type, n]) =>
      `<span class="chip" data-k="own:org:${type}" data-value="${n}">${esc(t("own.org", { type: label("org_type", type), n: num(n), all: num(g.governance_orgs[type] || n) }))}</span>`).join("")}</div>` : "";
    const tip = esc(freshTip(s.freshness));
    $("#own-body").innerHTML = head + orgs + (rows.length ?
      `<table class="own"><thead><tr><th></th><th class="n">${esc(t("own.col.own"))}</th><th class="n">${esc(t("own.col.subtree"))}</th></tr></thead><tbody>` +
      rows.map(([key, mine, all, show]) => `<tr><td>${esc(t(key))}</td>` +
        `<td class="n mine" data-k="own:${key}" data-value="${mine}" title="${tip}">${esc(show(mine))}</td>` +
        `<td class="n" data-k="subtree:${key}" data-value="${all}">${esc(show(all))}</td></tr>`).join("") + `</tbody></table>` :
      `<p class="muted">${esc(t("own.none"))}</p>`);
  }

  /* --- charts ----------------------------------------------------------------------------------- */

  function chips(items) {
    return items.map(([cls, text, key, value]) => `<span class="chip ${cls}"${key ? ` data-k="${key}" data-value="${value}"` : ""}>${esc(text)}</span>`).join("");
  }

  function population(o) {
    const p = o.population;
    const eth = Object.entries(p.by_ethnicity).sort((a, b) => b[1] - a[1]).slice(0, 3);
    $("#population-facts").innerHTML = chips([
      ["", `${label("sex", "male")} ${num(p.by_sex.male || 0)}`],
      ["", `${label("sex", "female")} ${num(p.by_sex.female || 0)}`],
      ["", t("population.households_n", { n: num(p.households) }), "population.households", p.households],
      ...eth.map(([e, n]) => ["", `${label("ethnicity", e)} ${num(n)}`]),
    ]);
    const bands = Object.entries(p.by_age_band).map(([band, value]) => ({ label: label("age_band", band), value }));
    if (!p.persons) C.empty("chart-population", t("chart.no_data")); else C.barsH("chart-population", bands);
  }

  function incidents(o) {
    const i = o.incidents, s = i.by_status;
    $("#incident-facts").innerHTML = chips([
      ["warn", `${label("incident_status", "reported")} ${num(s.reported || 0)}`, "incidents.reported", s.reported || 0],
      ["info", `${t("incidents.handling")} ${num((s.accepted || 0) + (s.handling || 0))}`],
      ["good", `${t("incidents.closed")} ${num((s.resolved || 0) + (s.closed || 0))}`],
    ]);
    const months = Object.entries(i.by_month).slice(-12).map(([key, value]) => ({ label: month(key, { short: true }), value }));
    if (!months.length) C.empty("chart-incidents", t("chart.no_data")); else C.barsV("chart-incidents", months);
  }

  function disputes(o) {
    const d = o.disputes;
    const parts = [
      { label: label("dispute_status", "mediated"), value: d.mediated, color: P.good },
      { label: t("disputes.in_progress"), value: d.in_progress, color: P.info },
      { label: label("dispute_status", "referred"), value: d.referred, color: P.warn },
      { label: label("dispute_status", "failed"), value: d.failed, color: P.bad },
    ];
    C.donut("chart-disputes", parts, d.accepted ? pct(d.success_rate) : "—", t("disputes.success_rate"));
    $("#dispute-facts").innerHTML =
      `<div><span class="muted">${esc(t("disputes.accepted"))}</span> <b data-k="disputes.accepted" data-value="${d.accepted}">${num(d.accepted)}</b></div>` +
      parts.map((p) => `<div><i class="dot" style="background:${p.color}"></i><span class="muted">${esc(p.label)}</span> <b>${num(p.value)}</b></div>`).join("") +
      `<div><span class="muted">${esc(t("disputes.recovered"))}</span> <b data-k="disputes.recovered" data-value="${d.recovered_yuan}" title="${esc(exact(d.recovered_yuan))}">${esc(money(d.recovered_yuan))}</b></div>`;
  }

  function patrols(o) {
    const pa = o.patrols;
    const comp = complianceOf(pa);
    C.donut("chart-patrols", [
      { label: t("patrols.compliant"), value: pa.compliant, color: P.good },
      { label: t("patrols.behind"), value: pa.grids - pa.compliant, color: P.warn },
    ], pa.grids ? comp.text : "—", t("patrols.rate"));
    $("#patrol-facts").innerHTML = pa.grids ?
      `<div><span class="muted">${esc(t("patrols.basic"))}</span> <b data-k="patrols.basic_ok" data-value="${pa.basic_ok}">${num(pa.basic_ok)}</b>/${num(pa.grids)}</div>` +
      `<div><span class="muted">${esc(t("patrols.screening"))}</span> <b data-k="patrols.screening_ok" data-value="${pa.screening_ok}">${num(pa.screening_ok)}</b>/${num(pa.grids)}</div>` +
      `<div><span class="muted">${esc(t("patrols.behind"))}</span> <b class="${pa.missing.length ? "warn" : "good"}" data-k="patrols.missing" data-value="${pa.missing.length}">${num(pa.missing.length)}</b></div>` :
      `<div class="muted">${esc(t("patrols.no_grids"))}</div>`;
    const items = pa.missing_detail.map((m) => {
      const what = [!m.basic_ok && t("patrols.basic_overdue", { when: m.last_basic_at ? TS.i18n.day(m.last_basic_at) : t("time.never") }),
        !m.screening_ok && t("patrols.screening_overdue", { when: m.last_screening_at ? TS.i18n.day(m.last_screening_at) : t("time.never") })].filter(Boolean).join(" · ");
      return `<li data-grid="${m.grid}"><b>${esc(place(m.name))}</b> <span>${esc(what)}</span></li>`;
    });
    const list = $("#lagging");
    list.innerHTML = items.join("");
    list.dataset.total = String(pa.missing.length);
  }

  function keyGroups(o) {
    const k = o.key_groups;
    $("#keygroup-facts").innerHTML = chips([
      ["", t("keygroups.total", { n: num(k.total) }), "key_groups.total", k.total],
      ["bad", `${label("risk", "high")} ${num(k.by_risk.high || 0)}`],
      ["warn", `${label("risk", "medium")} ${num(k.by_risk.medium || 0)}`],
      ["good", `${label("risk", "low")} ${num(k.by_risk.low || 0)}`],
    ]);
    const cats = Object.entries(k.by_category).sort((a, b) => b[1] - a[1]).map(([c]) => c);
    if (!cats.length) { C.empty("chart-keygroups", t("chart.no_data")); return; }
    const risks = [["low", P.good], ["medium", P.warn], ["high", P.bad]];
    C.stackedH("chart-keygroups", cats.map((c) => label("key_category", c)),
      risks.map(([r, color]) => ({ label: label("risk", r), color, values: cats.map((c) => (k.by_category_risk[c] || {})[r] || 0) })));
  }

  function legal(o) {
    const l = o.legal, g = o.governance;
    $("#legal-facts").innerHTML = chips([
      ["", t("legal.grid_leaders", { n: num(g.grid_leaders) })],
      ["", t("legal.grid_members", { n: num(g.grid_members) }), "governance.grid_members", g.grid_members],
      ["", t("legal.centres", { n: num(g.centres) })],
      ["", t("legal.sessions", { n: num(l.sessions) })],
      ["", t("legal.educated", { n: num(l.publicity_attendance) }), "legal.publicity_attendance", l.publicity_attendance],
    ]);
    const types = Object.entries(l.by_type).sort((a, b) => b[1].attendance - a[1].attendance).map(([type, v]) => ({ label: label("activity_type", type), value: v.attendance }));
    if (!types.length) C.empty("chart-legal", t("chart.no_data")); else C.barsH("chart-legal", types);
  }

  function directives(o) {
    const d = o.directives, progress = d.progress || [];
    const total = (key) => progress.reduce((a, p) => a + (p[key] || 0), 0);
    const r = d.reached || {};
    $("#directive-facts").innerHTML = chips([
      ["", t("directives.count", { n: num(progress.length) })],
      ["", t("directives.receipts", { delivered: num(r.delivered || 0), acknowledged: num(r.acknowledged || 0), done: num(r.done || 0) })],
    ]);
    if (!progress.length) { $("#directive-table").innerHTML = `<p class="muted">${esc(t("directives.none"))}</p>`; return; }
    const cols = ["targets", "delivered", "acknowledged", "done"];
    const row = (title, p, cls = "") => {
      const share = p.targets ? p.done / p.targets : 0;
      const state = share >= 1 ? "good" : p.overdue ? "bad" : "warn";
      return `<tr class="${cls}"><td class="title">${esc(title)}</td>` + cols.map((c) => `<td class="n" data-k="${cls ? "total." : ""}${c}" data-value="${p[c] || 0}">${num(p[c] || 0)}</td>`).join("") +
        `<td><span class="bar"><i class="${state}" style="width:${(share * 100).toFixed(1)}%"></i></span>${pct(share)}</td></tr>`;
    };
    const totals = Object.fromEntries(cols.map((c) => [c, total(c)]));
    $("#directive-table").innerHTML = `<table class="directives"><thead><tr><th>${esc(t("directives.col.title"))}</th>` +
      cols.map((c) => `<th class="n">${esc(t(`directives.col.${c}`))}</th>`).join("") + `<th>${esc(t("directives.col.progress"))}</th></tr></thead>` +
      `<tbody>${progress.map((p) => row(p.title || p.id, p)).join("")}</tbody>` +
      `<tfoot>${row(t("directives.total"), totals, "total")}</tfoot></table>`;
  }

  TS.panels = { esc, freshState, freshTip, subtreeTip, health, kpis, units, map, own, population, incidents, disputes, patrols, keyGroups, legal, directives };
})(window.TS = window.TS || {});
