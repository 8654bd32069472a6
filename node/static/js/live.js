/* Live incidents: the node's event stream (/api/v1/live/incidents) as a list of the latest,
   and an alert across the screen for a high-priority one (the reporter's priority, else fire and public security) that is still
   open. Incidents come from every level below as replication brings them in. */
"use strict";
(function (TS) {
  const { t, label, place, time, day } = TS.i18n;
  const esc = (s) => TS.panels.esc(s);
  const KEEP = 30;
  const ALERT_MS = 30000;
  const OPEN = new Set(["reported", "accepted", "handling"]);
  const items = new Map(); // id → latest version
  let feed = null, following = null, alertTimer = null, arrived = 0;

  function where(item) {
    const names = item.place.filter((p) => p.level !== "grid").map((p) => place(p.name));
    return names.slice(-2).join(" › ");
  }

  function render() {
    const list = document.getElementById("live-list");
    const latest = [...items.values()].filter((i) => !i.deleted).sort((a, b) => b.seq - a.seq).slice(0, KEEP);
    list.innerHTML = latest.map((i) => {
      const status = OPEN.has(i.status) ? "open" : "closed";
      return `<li data-id="${i.id}" data-priority="${i.priority}" data-status="${esc(i.status)}" class="${i.fresh ? "fresh" : ""}" ` +
        `title="${esc(t("live.tip", { reported: TS.i18n.dateTime(i.reported_at), received: TS.i18n.dateTime(i.received_at) }))}">` +
        `<span class="when">${esc(day(i.reported_at))} ${esc(time(i.reported_at))}</span>` +
        `<span class="cat ${i.priority}">${esc(label("incident_category", i.category))}</span>` +
        `<span class="what">${esc(i.title)}</span>` +
        `<span class="where">${esc(where(i))}</span>` +
        `<span class="st ${status}">${esc(label("incident_status", i.status))}</span></li>`;
    }).join("");
    document.getElementById("live-empty").hidden = latest.length > 0;
    document.getElementById("live-count").textContent = arrived ? t("live.arrived", { n: TS.i18n.num(arrived) }) : "";
    if (TS.wall) TS.wall.fitAll();
  }

  function alertFor(item) {
    const box = document.getElementById("alert");
    box.dataset.id = item.id;
    box.innerHTML = `<b>⚠ ${esc(t("live.alert"))}</b><span class="cat high">${esc(label("incident_category", item.category))}</span>` +
      `<span class="what">${esc(item.title)}</span><span class="where">${esc(item.place.filter((p) => p.level !== "grid").map((p) => place(p.name)).join(" › "))}</span>` +
      `<span class="when">${esc(time(item.reported_at))}</span><span class="muted">${esc(t("live.alert_dismiss"))}</span>`;
    box.hidden = false;
    clearTimeout(alertTimer);
    alertTimer = setTimeout(() => { box.hidden = true; }, ALERT_MS);
  }

  function onEvent(event, body) {
    if (event === "snapshot") {
      items.clear();
      for (const item of body.items) items.set(item.id, item);
    } else if (event === "incident") {
      const known = items.has(body.id);
      items.set(body.id, { ...body, fresh: true });
      arrived += known ? 0 : 1;
      if (!known && !body.deleted && body.priority === "high" && OPEN.has(body.status)) alertFor(body);
      if (TS.dashboard) TS.dashboard.soon(); // the figures change with it
    }
    render();
  }

  function onState(state) {
    const el = document.getElementById("live-state");
    el.dataset.state = state;
    el.textContent = t(`live.state.${state}`);
  }

  /* Follow the subtree of the screen's home unit: the unit an operator chose, which the wall's
     tour leaves in place, so an alert anywhere in it shows whichever child is on screen. */
  function follow(unit) {
    if (feed && unit === following) return;
    if (feed) feed.stop();
    following = unit;
    items.clear();
    arrived = 0;
    onState("connecting");
    feed = TS.api.stream(`/api/v1/live/incidents?unit=${encodeURIComponent(unit)}`, onEvent, onState);
  }

  document.getElementById("alert").addEventListener("click", (e) => { e.currentTarget.hidden = true; });
  // Close the stream when the page goes: a browser keeps only 6 connections per node, and a
  // stream left open by a closed page would hold one of them.
  window.addEventListener("pagehide", () => { if (feed) feed.stop(); feed = null; following = null; });
  window.addEventListener("pageshow", (e) => { if (e.persisted && TS.dashboard) TS.dashboard.load(); });
  TS.live = { follow, render, onState };
})(window.TS = window.TS || {});
