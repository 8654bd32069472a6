/* Languages and formats. Every label comes from the one message catalogue (messages.json,
   inlined into the page); zh-CN is the default, English one click away, the choice kept per
   browser. Numbers follow the language's conventions (万 and 亿 in Chinese), and every time is
   shown in China Standard Time whatever the screen's own time zone. */
"use strict";
(function (TS) {
  const catalogue = JSON.parse(document.getElementById("messages").textContent);
  const LANGS = ["zh-CN", "en"];
  const TZ = "Asia/Shanghai";
  const STORE = "tiersync.lang";
  let lang = "zh-CN";

  function stored() {
    try { return localStorage.getItem(STORE); } catch (err) { return null; }
  }

  function setLang(value, { remember = true } = {}) {
    lang = LANGS.includes(value) ? value : "zh-CN";
    document.documentElement.lang = lang;
    document.body.dataset.lang = lang;
    if (remember) {
      try { localStorage.setItem(STORE, lang); } catch (err) { /* private mode: not kept */ }
    }
  }

  function has(key) { return Object.prototype.hasOwnProperty.call(catalogue[lang], key); }

  /* The message for `key` in the current language, with {name} placeholders filled. */
  function t(key, vars) {
    const text = has(key) ? catalogue[lang][key] : (catalogue.en[key] ?? key);
    return vars ? text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : "")) : text;
  }

  /* The label of an enumerated value (incident categories, statuses…); unknown values as sent. */
  function label(group, value) {
    const key = `enum.${group}.${value}`;
    return has(key) ? t(key) : String(value).replace(/_/g, " ");
  }

  /* A unit's name in the current language. Registries hold what the operators typed; the demo
     registers English names, so the article's places have their Chinese names here. */
  function place(name) {
    if (lang !== "zh-CN" || !name) return name;
    const names = catalogue.places["zh-CN"];
    if (names[name]) return names[name];
    const grid = /^(.*) grid (\d+)$/.exec(name);
    if (grid) return `${place(grid[1])}第${grid[2]}网格`;
    const committee = /^Tuoyema Herders' Committee (\d+)$/.exec(name);
    if (committee) return `托叶玛乡第${committee[1]}牧委会`;
    return name;
  }

  const group = (locale, options = {}) => new Intl.NumberFormat(locale, options);

  /* Whole numbers: "2,223"; from 10,000 up in Chinese "42.3万", "1.86亿" (4 significant digits). */
  function num(value) {
    const n = Number(value) || 0;
    if (lang === "zh-CN" && Math.abs(n) >= 1e4) {
      const [unit, size] = Math.abs(n) >= 1e8 ? ["亿", 1e8] : ["万", 1e4];
      return group("zh-CN", { maximumSignificantDigits: 4 }).format(n / size) + unit;
    }
    return group(lang === "zh-CN" ? "zh-CN" : "en-US", { maximumFractionDigits: 0 }).format(n);
  }

  /* The exact figure, for hover text beside a rounded one. */
  function exact(value) { return group(lang === "zh-CN" ? "zh-CN" : "en-US").format(Number(value) || 0); }

  function money(yuan) { return `¥${num(yuan)}`; }

  function pct(x) { return `${(Number(x) * 100).toFixed(1)}%`; }

  function fmt(date, options) {
    return new Intl.DateTimeFormat(lang === "zh-CN" ? "zh-CN" : "en-GB", { timeZone: TZ, ...options })
      .format(date);
  }

  /* A moment, as a centre reads it: on Beijing time. */
  function dateTime(value) {
    if (!value) return t("time.never");
    return fmt(new Date(value), { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }

  function clock(date) {
    return fmt(date, { year: "numeric", month: "long", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }) +
      (lang === "zh-CN" ? "（北京时间）" : " CST");
  }

  function time(value) {
    return value ? fmt(new Date(value), { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) : "";
  }

  function day(value) {
    return value ? fmt(new Date(value), { month: "numeric", day: "numeric" }) : "";
  }

  /* "2026-02" (a month of China Standard Time, as the views count them). */
  function month(key, { short = false } = {}) {
    const [y, m] = key.split("-").map(Number);
    if (lang === "zh-CN") return short ? `${m}月` : `${y}年${m}月`;
    const name = new Intl.DateTimeFormat("en-GB", { month: "short", timeZone: "UTC" }).format(Date.UTC(y, m - 1, 15));
    return short ? name : `${name} ${y}`;
  }

  function ago(seconds) {
    if (seconds == null) return t("time.never");
    const s = Math.max(0, seconds);
    if (s < 90) return t("time.seconds_ago", { n: Math.round(s) });
    if (s < 5400) return t("time.minutes_ago", { n: Math.round(s / 60) });
    if (s < 129600) return t("time.hours_ago", { n: Math.round(s / 3600) });
    return t("time.days_ago", { n: Math.round(s / 86400) });
  }

  /* Fill the page's fixed labels: data-i18n (text), data-i18n-title, data-i18n-aria. */
  function applyStatic(root = document) {
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
    for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  }

  TS.i18n = {
    LANGS, TZ, catalogue, stored, setLang, get lang() { return lang; }, has, t, label, place,
    num, exact, money, pct, dateTime, clock, time, day, month, ago, applyStatic,
  };
})(window.TS = window.TS || {});
