/* The one place where the dashboard talks to its node. Every request goes through request(),
   which carries the session cookie (same origin), echoes the CSRF token on a state-changing
   request, and sends an unsigned browser to the login page (issue 12). */
"use strict";
(function (TS) {
  const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
  const auth = {
    /* The session's CSRF token: the tiersync_csrf cookie, echoed in X-CSRF-Token. */
    csrf() {
      const found = document.cookie.split("; ").find((c) => c.startsWith("tiersync_csrf="));
      return found ? decodeURIComponent(found.slice("tiersync_csrf=".length)) : "";
    },
    headers(method = "GET") {
      return SAFE.has(method) ? {} : { "X-CSRF-Token": auth.csrf() };
    },
    /* Not signed in, or the session ended: the login page, then back here. */
    signIn() {
      const here = location.pathname + location.search + location.hash;
      location.assign("/login?next=" + encodeURIComponent(here));
    },
  };

  async function request(path, { method = "GET", headers = {}, body, signal } = {}) {
    const response = await fetch(path, {
      method,
      headers: { ...auth.headers(method), ...headers },
      body,
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
    if (response.status === 401) auth.signIn();
    return response;
  }

  /* GET a JSON document: {ok, status, body} (never throws on an HTTP error status). */
  async function getJSON(path) {
    const response = await request(path, { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, body };
  }

  function parseEvent(block) {
    const event = { event: "message", data: "", id: null, retry: null };
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue; // a keep-alive comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event.event = value;
      else if (field === "data") event.data += (event.data ? "\n" : "") + value;
      else if (field === "id") event.id = value;
      else if (field === "retry" && /^\d+$/.test(value)) event.retry = Number(value);
    }
    return event;
  }

  /* Server-sent events read with fetch() rather than EventSource, which cannot send an
     Authorization header. Reconnects after the server's `retry` with Last-Event-ID, so the
     node replays what was missed. onState("open" | "closed" | "refused"). */
  function stream(path, onEvent, onState = () => {}) {
    let lastId = null, retry = 2000, stopped = false, controller = null;
    async function run() {
      while (!stopped) {
        controller = new AbortController();
        try {
          const headers = { Accept: "text/event-stream" };
          if (lastId) headers["Last-Event-ID"] = lastId;
          const response = await request(path, { headers, signal: controller.signal });
          if (response.status >= 400 && response.status < 500) { onState("refused"); return; }
          if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
          onState("open");
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value.replace(/\r\n?/g, "\n");
            let cut;
            while ((cut = buffer.indexOf("\n\n")) >= 0) {
              const parsed = parseEvent(buffer.slice(0, cut));
              buffer = buffer.slice(cut + 2);
              if (parsed.retry) retry = parsed.retry;
              if (parsed.id !== null) lastId = parsed.id;
              if (parsed.data) onEvent(parsed.event, JSON.parse(parsed.data));
            }
          }
        } catch (err) {
          if (stopped) return;
        }
        onState("closed");
        await new Promise((resolve) => setTimeout(resolve, retry));
      }
    }
    run();
    return { stop() { stopped = true; if (controller) controller.abort(); } };
  }

  TS.api = { auth, request, getJSON, stream };
})(window.TS = window.TS || {});
