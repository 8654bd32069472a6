/* Wall mode: the whole board on one 16:9 screen, no scrolling. Panels are sized by the CSS grid
   and fonts by the viewport; what a panel cannot hold is paged (the units table) or counted
   ("+ 12 more") rather than cut off. Left alone, the wall tours its units: the home unit, then
   each child in turn, and back. Any touch, key or mouse movement pauses the tour. */
"use strict";
(function (TS) {
  const { t } = TS.i18n;
  const STORE = "tiersync.mode";
  const PAGE_MS = 8000;
  const DESK_LIMITS = { lagging: 12, live: 10 };
  const state = { mode: "desk", rotateS: 20, idleSince: Date.now(), home: null, stops: [], index: 0, page: 0, pages: 1, lastPage: Date.now() };

  function stored() {
    try { return localStorage.getItem(STORE); } catch (err) { return null; }
  }

  function setMode(mode, { remember = true } = {}) {
    state.mode = mode === "wall" ? "wall" : "desk";
    document.body.dataset.mode = state.mode;
    document.documentElement.dataset.mode = state.mode; // the wall's font size follows the screen
    if (remember) {
      try { localStorage.setItem(STORE, state.mode); } catch (err) { /* not kept */ }
    }
    state.page = 0;
  }

  /* Hide the trailing items of a list that do not fit its box, and say how many there are. */
  function fitList(list, { total = null, limit = Infinity } = {}) {
    const items = [...list.children].filter((el) => !el.classList.contains("more"));
    list.querySelectorAll(":scope > .more").forEach((el) => el.remove());
    items.forEach((el, n) => { el.hidden = n >= limit; });
    const count = total == null ? items.length : Math.max(total, items.length);
    const more = document.createElement(list.tagName === "TBODY" ? "tr" : "li");
    more.className = "more";
    const note = (shown) => {
      const n = count - shown;
      more.innerHTML = list.tagName === "TBODY" ? `<td colspan="9">${TS.panels.esc(t("fit.more", { n: TS.i18n.num(n) }))}</td>` : TS.panels.esc(t("fit.more", { n: TS.i18n.num(n) }));
      more.hidden = n <= 0;
      more.dataset.hiddenCount = String(n);
    };
    let shown = Math.min(items.length, limit);
    note(shown);
    list.appendChild(more);
    if (state.mode === "wall") {
      const box = list.closest(".grow") || list;
      while (shown > 0 && box.scrollHeight > box.clientHeight + 1) {
        items[--shown].hidden = true;
        note(shown);
      }
    }
    list.dataset.shown = String(shown);
  }

  /* The units table in wall mode: as many rows as fit, page after page. */
  function pageUnits() {
    const body = document.querySelector("#units tbody");
    const rows = [...body.rows];
    const label = document.getElementById("units-page");
    rows.forEach((r) => { r.hidden = false; });
    label.textContent = "";
    if (state.mode !== "wall" || !rows.length) { state.pages = 1; return; }
    const box = document.querySelector("#panel-units .table-wrap");
    let perPage = rows.length;
    while (perPage > 1 && box.scrollHeight > box.clientHeight + 1) {
      rows[--perPage].hidden = true;
    }
    state.pages = Math.ceil(rows.length / perPage);
    state.page %= state.pages;
    rows.forEach((r, n) => { r.hidden = Math.floor(n / perPage) !== state.page; });
    if (state.pages > 1) label.textContent = t("units.page", { page: state.page + 1, pages: state.pages });
  }

  function fitAll() {
    const wall = state.mode === "wall";
    fitList(document.getElementById("lagging"), { total: Number(document.getElementById("lagging").dataset.total || 0), limit: wall ? Infinity : DESK_LIMITS.lagging });
    fitList(document.getElementById("live-list"), { limit: wall ? Infinity : DESK_LIMITS.live });
    const own = document.querySelector("#own-body tbody");
    if (own) fitList(own);
    const directives = document.querySelector("#directive-table tbody");
    if (directives) fitList(directives);
    pageUnits();
  }

  /* --- the tour ------------------------------------------------------------------------------- */

  function setHome(overview) {
    state.home = overview.summary.unit;
    state.stops = [state.home, ...overview.summary.children.map((c) => c.unit)];
    state.index = 0;
  }

  function noteActivity() { state.idleSince = Date.now(); }

  function tick(go) {
    const now = Date.now();
    const tour = document.getElementById("tour");
    const touring = state.mode === "wall" && state.rotateS > 0 && state.stops.length > 1;
    tour.hidden = !touring;
    if (touring) tour.textContent = t("tour.label", { n: state.index + 1, total: state.stops.length });
    if (state.mode === "wall" && state.pages > 1 && now - state.lastPage > PAGE_MS) {
      state.lastPage = now;
      state.page = (state.page + 1) % state.pages;
      pageUnits();
    }
    if (!touring || now - state.idleSince < state.rotateS * 1000) return;
    state.idleSince = now;
    state.index = (state.index + 1) % state.stops.length;
    tour.textContent = t("tour.label", { n: state.index + 1, total: state.stops.length });
    go(state.stops[state.index]);
  }

  for (const event of ["mousemove", "mousedown", "keydown", "touchstart", "wheel"]) {
    window.addEventListener(event, noteActivity, { passive: true });
  }

  TS.wall = { state, stored, setMode, fitAll, pageUnits, setHome, tick, noteActivity };
})(window.TS = window.TS || {});
