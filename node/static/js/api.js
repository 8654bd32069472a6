/* The one place where the dashboard talks to its node. Every request goes through request(), so
   operator login (issue 12) adds its bearer token or session cookie and CSRF header here, in
   auth.headers(), and nowhere else. */
"use strict";
(function (TS) {
  const auth = {
    /* Headers every request carries; empty until operator login lands. */
    headers() { return {}; },
  };

  function request(path, { headers = {}, signal } = {}) {
    return fetch(path, {
      headers: { ...auth.headers(), ...headers },
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
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
