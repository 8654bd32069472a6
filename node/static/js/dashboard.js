/* The governance big screen: one overview request per unit, the live incident feed, and the
   wall or desk layout. State lives in the address (#unit=…&mode=wall&lang=en&rotate=20), so a
   wall display can be pointed at a bookmark; language and mode are also kept per browser. */
"use strict";
(function (TS) {
  const { t, label, place } = TS.i18n;
  const P = TS.panels;
  const REFRESH_MS = 30000;
  const $ = (sel) => document.querySelector(sel);
  const state = { overview: null, node: null, metric: "compliance", touring: false, refresh: null };
  const started = performance.now();

  function params() { return new URLSearchParams(location.hash.replace(/^#/, "")); }

  function setParams(changes) {
    const p = params();
    for (const [k, v] of Object.entries(changes)) { if (v == null) p.delete(k); else p.set(k, v); }
    location.hash = p.toString();
  }

  function drill(code) { state.touring = false; setParams({ unit: code }); }

  function tourTo(code) { state.touring = true; setParams({ unit: code }); }

  /* --- loading -------------------------------------------------------------------------------- */

  async function load() {
    const unit = params().get("unit");
    document.body.dataset.ready = "0";
    try {
      const r = await TS.api.getJSON("/api/v1/views/overview" + (unit ? `?unit=${encodeURIComponent(unit)}` : ""));
      if (r.ok) {
        state.overview = r.body;
        state.node = r.body.node;
        if (!state.touring) {
          TS.wall.setHome(r.body);
          TS.live.follow(r.body.summary.unit);
        }
        state.touring = false;
        problem(null);
        render();
      } else {
        await problem(r, unit);
      }
      $("#error").hidden = true;
    } catch (err) {
      $("#error").textContent = t("error.unreachable", { reason: err.message });
      $("#error").hidden = false;
    }
    document.body.dataset.ready = "1";
    if (!window.__tiersyncLoadMs) window.__tiersyncLoadMs = performance.now() - started;
  }

  /* The page for a unit that cannot be shown: no such unit (404), not ours (403), bad code. */
  async function problem(r, unit) {
    const box = $("#notfound");
    document.body.dataset.problem = r ? String(r.status) : "";
    box.hidden = !r;
    $("#board").hidden = Boolean(r);
    $("#live-state").hidden = Boolean(r) && !state.overview; // no feed before a unit was shown
    if (!r) $("#live-state").hidden = false;
    if (!r) return;
    document.body.dataset.drawn = "";
    if (!state.node) {
      const home = await TS.api.getJSON("/api/v1/views/summary");
      if (home.ok) state.node = { unit: home.body.unit, name: home.body.name, level: home.body.level };
    }
    const node = state.node ? `${place(state.node.name)}（${state.node.unit}）` : "";
    const kind = { 404: "missing", 403: "outside", 422: "invalid" }[r.status] || "failed";
    document.body.dataset.unit = unit || "";
    $("#notfound-title").textContent = t(`notfound.${kind}.title`);
    $("#notfound-detail").textContent = t(`notfound.${kind}.detail`, { unit: unit || "", node, reason: (r.body.error || {}).message || r.status });
    $("#notfound-home").href = "#";
    $("#unit-name").textContent = t(`notfound.${kind}.title`);
    $("#unit-level").textContent = "";
    $("#unit-code").textContent = unit || "";
    $("#crumbs").innerHTML = "";
    const pill = $("#sync-health");
    pill.className = "pill stale";
    pill.dataset.state = "none";
    pill.textContent = t("health.no_unit");
    document.title = `${t(`notfound.${kind}.title`)} — ${t("app.platform")}`;
  }

  /* --- drawing -------------------------------------------------------------------------------- */

  function header(o) {
    const s = o.summary;
    document.body.dataset.unit = s.unit;
    $("#unit-name").textContent = place(s.name);
    $("#unit-name").title = s.name;
    $("#unit-level").textContent = label("level", s.level);
    $("#unit-code").textContent = s.unit;
    document.title = `${place(s.name)} — ${t("app.platform")}`;
    $("#crumbs").hidden = o.path.length < 2;
    $("#crumbs").innerHTML = o.path.slice(0, -1).map((p) =>
      `<a href="#unit=${p.unit}" data-unit="${p.unit}">${P.esc(place(p.name))}</a><span class="sep">›</span>`).join("") +
      `<span>${P.esc(place(s.name))}</span>`;
    for (const a of document.querySelectorAll("#crumbs a")) a.addEventListener("click", (e) => { e.preventDefault(); drill(a.dataset.unit); });
    P.health(o);
  }

  function render() {
    const o = state.overview;
    if (!o) return;
    header(o);
    P.kpis(o);
    P.units(o, drill);
    P.own(o);
    P.population(o);
    P.incidents(o);
    P.disputes(o);
    P.patrols(o);
    P.keyGroups(o);
    P.legal(o);
    P.directives(o);
    P.map(o, state.metric, drill);
    TS.live.render();
    // Every figure says how fresh it is: the panels' headings and fact lines carry the subtree's.
    const tip = P.subtreeTip(o);
    for (const el of document.querySelectorAll("#board .panel-head h2, #board .facts")) el.title = tip;
    // Fitted at once (reading the layout forces it), so the page is never seen half-fitted.
    TS.charts.resizeAll();
    TS.wall.fitAll();
    document.body.dataset.drawn = o.summary.unit; // laid out: what the browser tests wait for
  }

  function labels() {
    TS.i18n.applyStatic();
    $("#lang-toggle").textContent = t("control.other_language");
    $("#mode-toggle").textContent = t(TS.wall.state.mode === "wall" ? "control.to_desk" : "control.to_wall");
    TS.live.onState($("#live-state").dataset.state || "connecting");
  }

  function tickClock() { $("#clock").textContent = TS.i18n.clock(new Date()); }

  /* --- start ------------------------------------------------------------------------------------ */

  function boot() {
    const p = params();
    TS.i18n.setLang(p.get("lang") || TS.i18n.stored() || "zh-CN", { remember: p.has("lang") || Boolean(TS.i18n.stored()) });
    TS.wall.setMode(p.get("mode") || TS.wall.stored() || "desk", { remember: p.has("mode") });
    if (/^\d+$/.test(p.get("rotate") || "")) TS.wall.state.rotateS = Number(p.get("rotate"));
    labels();
    $("#lang-toggle").addEventListener("click", () => {
      TS.i18n.setLang(TS.i18n.lang === "zh-CN" ? "en" : "zh-CN");
      if (params().has("lang")) setParams({ lang: TS.i18n.lang });
      labels();
      render();
      tickClock();
    });
    $("#mode-toggle").addEventListener("click", () => {
      TS.wall.setMode(TS.wall.state.mode === "wall" ? "desk" : "wall");
      if (params().has("mode")) setParams({ mode: TS.wall.state.mode });
      labels();
      render();
    });
    for (const b of document.querySelectorAll("#map-metric button")) {
      b.addEventListener("click", () => { state.metric = b.dataset.metric; render(); });
    }
    $("#notfound-home").addEventListener("click", (e) => { e.preventDefault(); drill(state.node ? state.node.unit : ""); });
    window.addEventListener("hashchange", load);
    let resizing = null;
    window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(render, 150); });
    tickClock();
    setInterval(() => { tickClock(); TS.wall.tick(tourTo); }, 1000);
    state.refresh = setInterval(load, REFRESH_MS);
    load();
  }

  /* Reload the figures shortly (a live incident changed them); bursts make one request. */
  let pending = null;
  function soon() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; if (!document.body.dataset.problem) load(); }, 1500);
  }

  TS.dashboard = { state, load, render, drill, soon };
  document.addEventListener("DOMContentLoaded", boot);
})(window.TS = window.TS || {});
