// hubsync dashboard: live updates from /api/v1/events, confirmations,
// copy buttons. Pages work without it; it only adds what changes live.
"use strict";

(function () {
  const live = document.getElementById("live");
  const main = document.getElementById("main");

  // --- confirmations: <form data-confirm="question">
  document.addEventListener("submit", (e) => {
    const q = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) e.preventDefault();
  });

  // --- copy buttons: <button data-copy="input-id">
  document.addEventListener("click", (e) => {
    const id = e.target.getAttribute && e.target.getAttribute("data-copy");
    if (!id) return;
    const input = document.getElementById(id);
    if (!input) return;
    input.select();
    const said = () => { e.target.textContent = "Copied"; };
    if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(said, () => document.execCommand("copy") && said());
    else if (document.execCommand("copy")) said();
  });

  if (!live || !main || !window.EventSource) return;

  const count = (n) => Number(n).toLocaleString("en-US");
  const span = (s) => s < 60 ? Math.round(s) + " s" : s < 3600 ? Math.round(s / 60) + " min" : Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";

  // A running sync's bar: done / total, rate, ETA, per table.
  function progress(r) {
    const key = r.group + "/" + r.member;
    document.querySelectorAll("[data-progress]").forEach((bar) => {
      if (bar.getAttribute("data-progress") !== key) return;
      const total = r.changes_total;
      const done = r.changes_done;
      const pct = total ? Math.min(100, Math.floor(done * 100 / Math.max(total, 1))) : (total === 0 ? 100 : 0);
      const p = bar.querySelector("progress");
      if (p) { p.value = pct; p.setAttribute("aria-label", key + ": " + pct + " %"); p.textContent = pct + " %"; }
      const label = bar.querySelector(".bar-label");
      if (label) label.textContent = total != null ? count(done) + " of " + count(total) + " changes" : count(done) + " changes so far";
      const secs = Math.max(0.001, (Date.now() * 1000 - r.since_micros) / 1e6);
      const rate = done / secs;
      const rateEl = bar.querySelector(".bar-rate");
      if (rateEl) {
        let t = rate > 0 ? count(Math.round(rate)) + " changes/s" : "";
        if (total != null && rate > 0 && done < total) t += ", about " + span((total - done) / rate) + " left";
        rateEl.textContent = t;
      }
      let list = bar.querySelector(".bar-tables");
      if (r.tables && r.tables.length) {
        if (!list) { list = document.createElement("ul"); list.className = "bar-tables"; bar.appendChild(list); }
        list.textContent = "";
        r.tables.forEach((t) => {
          const li = document.createElement("li");
          li.setAttribute("data-table", t.table);
          const name = document.createElement("span"); name.textContent = t.table;
          const tp = document.createElement("progress"); tp.max = 100; tp.value = t.total ? Math.floor(Math.min(t.done, t.total) * 100 / t.total) : 100;
          const n = document.createElement("span"); n.textContent = count(t.done) + " / " + count(t.total);
          li.append(name, " ", tp, " ", n);
          list.appendChild(li);
        });
      }
    });
  }

  // Something changed that the page shows but cannot patch by itself:
  // fetch the page again and swap its main part, unless the user is typing
  // (nothing typed is lost) or has something opened.
  // Whether the user changed a field of the page (then it is never replaced).
  function edited() {
    return Array.from(main.querySelectorAll("input, select, textarea")).some((f) => {
      if (f.type === "hidden") return false;
      if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
      if (f.tagName === "SELECT") return Array.from(f.options).some((o) => o.selected !== o.defaultSelected);
      return f.value !== f.defaultValue;
    });
  }

  let pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      const busy = document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
      if (busy || edited() || main.querySelector("details[open]:not(.equivalent)")) { refresh(); return; }
      try {
        const r = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
        if (!r.ok || r.redirected) return;
        const doc = new DOMParser().parseFromString(await r.text(), "text/html");
        const next = doc.getElementById("main");
        if (!next) return;
        const seen = new Set(Array.from(main.querySelectorAll(".entry[data-id]")).map((e) => e.getAttribute("data-id")));
        main.replaceChildren(...Array.from(next.childNodes).map((n) => document.adoptNode(n)));
        main.querySelectorAll(".entry[data-id]").forEach((e) => { if (seen.size && !seen.has(e.getAttribute("data-id"))) e.classList.add("fresh"); });
      } catch (_) { /* the next event tries again */ }
    }, 800);
  }

  let source = null;
  function connect() {
    source = new EventSource("/api/v1/events");
    source.onopen = () => { live.textContent = "live"; };
    source.onerror = () => {
      // The browser reconnects by itself (to any instance behind the same
      // address) and sends the last history id it saw.
      live.textContent = "reconnecting…";
    };
    source.addEventListener("snapshot", (e) => {
      const s = JSON.parse(e.data);
      s.running.forEach(progress);
    });
    source.addEventListener("progress", (e) => progress(JSON.parse(e.data).sync));
    source.addEventListener("sync-started", (e) => {
      const r = JSON.parse(e.data).sync;
      if (document.querySelector('[data-progress="' + CSS.escape(r.group + "/" + r.member) + '"]')) progress(r);
      else refresh();
    });
    ["sync-ended", "history", "group-changed", "agent-changed"].forEach((name) => source.addEventListener(name, refresh));
  }
  connect();
})();
