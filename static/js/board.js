// The live dispatch board (issue 16). The server pushes "the board changed" (server-sent events,
// servicedesk/push.py); the page then reads its own rows again through the board view, which shows
// only what this user may see. Without the push it polls and says so. A refresh keeps the keyboard
// focus, the scroll position and a technician being picked; new calls are highlighted, counted in the
// tab title, announced to screen readers and, if the user turned it on, chimed.
(function () {
  "use strict";
  const root = document.getElementById("board-live");
  const table = document.getElementById("board-table");
  if (!root || !table) {
    return;
  }
  const statusLine = document.getElementById("board-live-status");
  const announcer = document.getElementById("board-announcer");
  const soundButton = document.getElementById("board-sound");
  const pollMs = 1000 * (parseInt(root.dataset.pollSeconds, 10) || 10);
  // A push that said "unavailable" is tried again this often (the page polls meanwhile).
  const retryMs = 1000 * (parseInt(root.dataset.retrySeconds, 10) || 30);
  const graceMs = 6000; // a stream that dropped may come back by itself this fast (the server's retry)
  const baseTitle = document.title;
  const counters = { push: 0, poll: 0, ready: 0, dispatch: 0 };
  let known = snapshot(table);
  let fresh = new Set();
  let source = null;
  let pollTimer = null;
  let retryTimer = null;
  let graceTimer = null;
  let inFlight = false;
  let queued = null;

  function message(name, values) {
    let text = root.dataset[name] || "";
    for (const [key, value] of Object.entries(values || {})) {
      text = text.split("{" + key + "}").join(value);
    }
    return text;
  }

  function setMode(mode) {
    root.dataset.mode = mode;
    statusLine.dataset.mode = mode;
    if (mode === "live") {
      statusLine.textContent = message("msgLive");
      statusLine.className = "text-success";
    } else if (mode === "polling") {
      statusLine.textContent = message("msgPolling");
      statusLine.className = "text-warning-emphasis";
    }
  }

  function snapshot(container) {
    const rows = new Map();
    for (const row of container.querySelectorAll("tr[data-call]")) {
      rows.set(row.dataset.call, {
        status: row.dataset.status,
        label: row.cells[2] ? row.cells[2].textContent.trim() : "",
        overdue: row.classList.contains("row-overdue"),
      });
    }
    return rows;
  }

  // --- Keeping the user's place across a refresh -------------------------------------------------
  const FOCUSABLE = "a[href], button, select, input:not([type=hidden]), textarea, [tabindex]";

  function describeFocus() {
    const element = document.activeElement;
    if (!element || element === table || !table.contains(element)) {
      return null;
    }
    const row = element.closest("tr[data-call]");
    const container = row || table;
    return {
      call: row ? row.dataset.call : null,
      index: Array.prototype.indexOf.call(container.querySelectorAll(FOCUSABLE), element),
    };
  }

  function restoreFocus(place) {
    if (!place) {
      return;
    }
    let container = table;
    if (place.call !== null) {
      container = table.querySelector('tr[data-call="' + CSS.escape(place.call) + '"]');
    }
    let target = null;
    if (container) {
      const focusables = container.querySelectorAll(FOCUSABLE);
      target = focusables[place.index] || focusables[0] || null;
    }
    (target || table).focus({ preventScroll: true });
  }

  function rowState() {
    // A technician being picked and an error shown in a row survive the refresh.
    const state = new Map();
    for (const row of table.querySelectorAll("tr[data-call]")) {
      const select = row.querySelector("select[name=technician]");
      const error = row.querySelector(".board-row-error");
      const pick = select ? select.value : "";
      const text = error ? error.textContent : "";
      if (pick || text) {
        state.set(row.dataset.call, { pick, text });
      }
    }
    return state;
  }

  function applyRowState(state) {
    for (const [call, { pick, text }] of state) {
      const row = table.querySelector('tr[data-call="' + CSS.escape(call) + '"]');
      if (!row) {
        continue;
      }
      const select = row.querySelector("select[name=technician]");
      if (select && pick) {
        select.value = pick;
      }
      const error = row.querySelector(".board-row-error");
      if (error && text) {
        error.textContent = text;
      }
    }
  }

  // --- New rows, the title, the announcement, the chime -------------------------------------------
  function showFresh() {
    for (const row of table.querySelectorAll("tr[data-call]")) {
      row.classList.toggle("row-new", fresh.has(row.dataset.call));
    }
    document.title = fresh.size ? "(" + fresh.size + ") " + baseTitle : baseTitle;
    root.dataset.newCount = String(fresh.size);
  }

  function seen() {
    if (fresh.size) {
      fresh = new Set();
      showFresh();
    }
  }

  function announce(text) {
    if (!text) {
      return;
    }
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  function changes(before, after) {
    const added = [];
    const said = [];
    for (const [call, now] of after) {
      const was = before.get(call);
      if (!was) {
        added.push(call);
      } else if (was.status !== now.status) {
        said.push(message("msgStatus", { number: call, status: now.label }));
      } else if (now.overdue && !was.overdue) {
        said.push(message("msgOverdue", { number: call }));
      }
    }
    // Only a page showing every row can tell "left the board" from "moved to the next page".
    if (!table.querySelector("nav a")) {
      for (const call of before.keys()) {
        if (!after.has(call)) {
          said.push(message("msgGone", { number: call }));
        }
      }
    }
    if (added.length) {
      said.unshift(message("msgNew", { numbers: added.join(", ") }));
    }
    return { added, said };
  }

  function soundOn() {
    try {
      return window.localStorage.getItem("board-sound") === "on";
    } catch (error) {
      return false;
    }
  }

  let audio = null;
  function chime() {
    if (!soundOn()) {
      return;
    }
    try {
      audio = audio || new window.AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (error) {
      // No sound on this machine: the title and the highlight still say it.
    }
  }

  function showSound() {
    soundButton.setAttribute("aria-pressed", soundOn() ? "true" : "false");
    soundButton.classList.toggle("active", soundOn());
  }

  soundButton.addEventListener("click", function () {
    try {
      window.localStorage.setItem("board-sound", soundOn() ? "off" : "on");
    } catch (error) {
      return;
    }
    if (soundOn() && !audio && window.AudioContext) {
      audio = new window.AudioContext(); // made on a click: browsers let a page sound after a gesture
    }
    showSound();
  });
  showSound();

  // --- Reading the rows again ---------------------------------------------------------------------
  function swap(html, reason) {
    const place = describeFocus();
    const state = rowState();
    const x = window.scrollX;
    const y = window.scrollY;
    const wrapper = table.querySelector(".table-responsive");
    const left = wrapper ? wrapper.scrollLeft : 0;
    table.innerHTML = html;
    applyRowState(state);
    restoreFocus(place);
    window.scrollTo(x, y);
    const newWrapper = table.querySelector(".table-responsive");
    if (newWrapper) {
      newWrapper.scrollLeft = left;
    }
    const after = snapshot(table);
    const { added, said } = changes(known, after);
    known = after;
    for (const call of added) {
      fresh.add(call);
    }
    for (const call of Array.from(fresh)) {
      if (!after.has(call)) {
        fresh.delete(call);
      }
    }
    showFresh();
    announce(said.join(" "));
    if (added.length) {
      chime();
    }
    counters[reason] = (counters[reason] || 0) + 1;
    root.dataset.lastRefresh = reason;
    root.dataset.refreshes = JSON.stringify(counters);
  }

  async function refresh(reason) {
    if (inFlight) {
      queued = reason; // one more read after this one, so the last change is always shown
      return;
    }
    inFlight = true;
    try {
      const response = await fetch(table.dataset.url, {
        headers: { "HX-Request": "true", "HX-Target": "board-table" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.redirected) {
        window.location.reload(); // the session ended: the server sends the user to log in
        return;
      }
      if (response.ok) {
        swap(await response.text(), reason);
      }
    } catch (error) {
      // The next push or poll reads the rows again.
    } finally {
      inFlight = false;
      if (queued) {
        const next = queued;
        queued = null;
        refresh(next);
      }
    }
  }

  // --- Push, and polling without it ----------------------------------------------------------------
  function startPolling() {
    if (!pollTimer) {
      pollTimer = window.setInterval(function () {
        refresh("poll");
      }, pollMs);
    }
  }

  function stopPolling() {
    if (pollTimer) {
      window.clearInterval(pollTimer);
      pollTimer = null;
    }
  }

  function fallBack() {
    window.clearTimeout(graceTimer);
    graceTimer = null;
    setMode("polling");
    startPolling();
    if (source && source.readyState === EventSource.CLOSED && !retryTimer) {
      retryTimer = window.setTimeout(connect, retryMs);
    }
  }

  function connect() {
    retryTimer = null;
    const url = root.dataset.streamUrl;
    if (!url || !window.EventSource) {
      fallBack();
      return;
    }
    source = new EventSource(url);
    source.addEventListener("ready", function () {
      window.clearTimeout(graceTimer);
      graceTimer = null;
      setMode("live");
      stopPolling();
      refresh("ready"); // whatever changed while the stream was not there
    });
    source.addEventListener("board", function () {
      refresh("push");
    });
    source.addEventListener("unavailable", function () {
      source.close();
      fallBack();
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        fallBack();
      } else if (!graceTimer && root.dataset.mode !== "polling") {
        // The stream ended (it does every few minutes) or the server restarts: the browser reconnects.
        graceTimer = window.setTimeout(fallBack, graceMs);
      }
    });
  }

  // --- Dispatch from a row -------------------------------------------------------------------------
  table.addEventListener("submit", async function (event) {
    const form = event.target.closest("form.board-dispatch");
    if (!form) {
      return;
    }
    event.preventDefault();
    const error = form.querySelector(".board-row-error");
    const button = form.querySelector("button[type=submit]");
    error.textContent = "";
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (answer.ok) {
        announce(answer.message);
        refresh("dispatch");
      } else {
        error.textContent = answer.message;
      }
    } catch (failure) {
      error.textContent = message("msgFailed");
    } finally {
      button.disabled = false;
    }
  });

  document.addEventListener("keydown", seen);
  document.addEventListener("pointerdown", seen);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      window.setTimeout(seen, 3000); // long enough to see the count in the title
    }
  });

  connect();
})();
