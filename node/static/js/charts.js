/* Charts, drawn by the vendored Apache ECharts (node/static/vendor/echarts). Colours carry
   meaning, and only that: green is good, amber needs attention, red is bad, and categories with
   no better or worse (sex, age, category of organisation) get neutral blue-greys. The hues are
   the colour-blind-safe Okabe–Ito ones, and every state also has its word or sign beside it. */
"use strict";
(function (TS) {
  const PALETTE = {
    good: "#2fb98c",
    warn: "#e8a317",
    bad: "#e45a2b",
    info: "#56b4e9",
    none: "#5d6f86",
    text: "#e8f0fa",
    muted: "#93a8c3",
    line: "#2a4466",
    neutral: ["#7fa7d9", "#a9b8cc", "#5d84b5", "#c3cfdd", "#8b9fb8", "#6a94c9", "#b5c3d4", "#4f76a6"],
  };
  const instances = new Map();

  /* The base font size in px: the wall scales it with the screen, so the charts follow. */
  function base() { return parseFloat(getComputedStyle(document.documentElement).fontSize) || 14; }

  function chart(id) {
    const el = document.getElementById(id);
    let instance = instances.get(id);
    if (instance && instance.getDom() !== el) { instance.dispose(); instance = null; }
    if (!instance) {
      instance = echarts.init(el, null, { renderer: "canvas" });
      instances.set(id, instance);
    }
    return instance;
  }

  function draw(id, option) {
    const instance = chart(id);
    instance.setOption({ animation: false, backgroundColor: "transparent", textStyle: { fontFamily: getComputedStyle(document.body).fontFamily, color: PALETTE.text, fontSize: base() * 0.85 }, ...option }, true);
    instance.resize();
    return instance;
  }

  function resizeAll() { for (const instance of instances.values()) instance.resize(); }

  const axisText = () => ({ color: PALETTE.muted, fontSize: base() * 0.8 });
  const split = { lineStyle: { color: PALETTE.line } };

  /* Horizontal bars: items [{label, value, color?}] (neutral colours unless given). */
  function barsH(id, items, { format = (v) => TS.i18n.num(v) } = {}) {
    return draw(id, {
      grid: { left: 4, right: base() * 4, top: 2, bottom: 2, containLabel: true },
      xAxis: { type: "value", show: false },
      yAxis: { type: "category", inverse: true, data: items.map((i) => i.label), axisLabel: axisText(), axisTick: { show: false }, axisLine: { show: false } },
      tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${format(p.value)}` },
      series: [{
        type: "bar",
        barMaxWidth: base() * 1.1,
        data: items.map((i, n) => ({ value: i.value, itemStyle: { color: i.color || PALETTE.neutral[n % PALETTE.neutral.length], borderRadius: 2 } })),
        label: { show: true, position: "right", color: PALETTE.text, fontSize: base() * 0.8, formatter: (p) => format(p.value) },
      }],
    });
  }

  /* Vertical bars over months (neutral: more incidents is not by itself good or bad). */
  function barsV(id, items) {
    return draw(id, {
      grid: { left: 4, right: 8, top: base() * 1.2, bottom: 2, containLabel: true },
      xAxis: { type: "category", data: items.map((i) => i.label), axisLabel: { ...axisText(), interval: items.length > 8 ? 1 : 0 }, axisTick: { show: false }, axisLine: { lineStyle: { color: PALETTE.line } } },
      yAxis: { type: "value", minInterval: 1, axisLabel: axisText(), splitLine: split, splitNumber: 3 },
      tooltip: { trigger: "axis" },
      series: [{ type: "bar", data: items.map((i) => i.value), itemStyle: { color: PALETTE.info, borderRadius: 2 }, barMaxWidth: base() * 1.4 }],
    });
  }

  /* A ring of parts [{label, value, color}] with a figure in its centre. */
  function donut(id, parts, centre, sub) {
    const total = parts.reduce((a, p) => a + p.value, 0);
    return draw(id, {
      tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${TS.i18n.num(p.value)} (${p.percent}%)` },
      title: { text: centre, subtext: sub, left: "center", top: "center", itemGap: 2, textStyle: { color: PALETTE.text, fontSize: base() * 1.25, fontWeight: 700 }, subtextStyle: { color: PALETTE.muted, fontSize: base() * 0.75 } },
      series: [{
        type: "pie", radius: ["62%", "88%"], avoidLabelOverlap: true, label: { show: false }, labelLine: { show: false },
        data: total ? parts.map((p) => ({ name: p.label, value: p.value, itemStyle: { color: p.color } })) : [{ name: "", value: 1, itemStyle: { color: PALETTE.none } }],
      }],
    });
  }

  /* Bars stacked by a second dimension: categories × series [{label, color, values}]. */
  function stackedH(id, categories, series) {
    return draw(id, {
      grid: { left: 4, right: base() * 3, top: 2, bottom: base() * 1.6, containLabel: true },
      legend: { bottom: 0, itemWidth: base() * 0.8, itemHeight: base() * 0.8, textStyle: { color: PALETTE.muted, fontSize: base() * 0.75 } },
      xAxis: { type: "value", show: false },
      yAxis: { type: "category", inverse: true, data: categories, axisLabel: axisText(), axisTick: { show: false }, axisLine: { show: false } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      series: series.map((s) => ({ type: "bar", stack: "all", name: s.label, data: s.values, itemStyle: { color: s.color }, barMaxWidth: base() * 1.1 })),
    });
  }

  /* The subtree as tiles sized by population, coloured by the chosen figure; a click drills. */
  function treemap(id, tiles, onPick) {
    const instance = draw(id, {
      tooltip: { formatter: (p) => (p.data && p.data.tip) || "" },
      series: [{
        type: "treemap", roam: false, nodeClick: false, breadcrumb: { show: false },
        left: 0, right: 0, top: 0, bottom: 0, squareRatio: 1.2,
        itemStyle: { borderColor: "#0b1524", borderWidth: 2, gapWidth: 2 },
        label: { show: true, color: "#0b1524", fontSize: base() * 0.95, fontWeight: 600, overflow: "truncate", lineHeight: base() * 1.2, formatter: (p) => `${p.data.label}\n${p.data.figure}` },
        upperLabel: { show: false },
        data: tiles.map((tile) => ({ name: tile.unit, value: tile.size, unit: tile.unit, label: tile.label, figure: tile.figure, tip: tile.tip, itemStyle: { color: tile.color } })),
      }],
    });
    instance.off("click");
    instance.on("click", (p) => { if (p.data && p.data.unit) onPick(p.data.unit); });
    return instance;
  }

  /* An empty chart with a message (nothing to draw). */
  function empty(id, text) {
    return draw(id, { title: { text, left: "center", top: "center", textStyle: { color: PALETTE.muted, fontSize: base() * 0.9, fontWeight: 400 } }, series: [] });
  }

  TS.charts = { PALETTE, base, draw, resizeAll, barsH, barsV, donut, stackedH, treemap, empty };
})(window.TS = window.TS || {});
