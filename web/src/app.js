// Centinela operations centre: the live air picture, alerts and flight dossiers over the server's API.
// Plain browser JavaScript on Leaflet (vendored, served by the package): no build step, no CDN, no tiles.
"use strict";

(() => {
  // Sim seconds of trail drawn behind each aircraft, and how long an aircraft stays after its last update
  // (a few radar scans of coasting, as on a radar display).
  const TRAIL_S = 30 * 60;
  const STALE_S = 5 * 60;
  // How often the alert list is re-read over HTTP, in case a stream message was dropped (wall ms).
  const ALERT_REFRESH_MS = 15000;
  const LOCAL_OFFSET_S = -5 * 3600; // the VRAEM keeps UTC-5 all year
  const VRAEM_CENTER = [-12.3, -74.0];
  // Predicted sites without a stated uncertainty get a circle the size of a strip's surroundings.
  const DEFAULT_SITE_RADIUS_M = 3000;

  const state = {
    user: null,
    mode: "live",        // live (follow the stream) | history (the slider's time)
    serverMode: "archive",
    now: null,           // the picture's clock, epoch s
    liveNow: null,       // the stream's clock, kept while looking at history
    tMin: null, tMax: null,
    speed: 60,
    tracks: new Map(),   // track_id -> {pts: [[t, lat, lon]], score, callsign, icao24, squawk, line, head}
    alerts: new Map(),   // run_id/alert_id -> alert
    selected: null,      // track_id whose dossier is open
    ws: null, playTimer: null,
  };

  const $ = (id) => document.getElementById(id);
  const map = L.map("map", { zoomControl: true, attributionControl: true, preferCanvas: false })
    .setView(VRAEM_CENTER, 7);
  map.attributionControl.setPrefix("Leaflet");
  const layers = {
    base: L.layerGroup().addTo(map),
    strips: L.layerGroup().addTo(map),
    sites: L.layerGroup().addTo(map),
    trails: L.layerGroup().addTo(map),
    heads: L.layerGroup().addTo(map),
    focus: L.layerGroup().addTo(map),
  };

  // ---------------------------------------------------------------------------------------------- utils

  async function api(path, options = {}) {
    const response = await fetch(path, { credentials: "same-origin", ...options,
      headers: { "Content-Type": "application/json", ...(options.headers || {}) } });
    if (response.status === 401) { showLogin(); throw new Error("not logged in"); }
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  const pad = (n) => String(n).padStart(2, "0");
  function hhmmss(t) {
    const d = new Date(t * 1000);
    return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  function utcText(t) {
    if (t == null) return "--";
    const d = new Date(t * 1000);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hhmmss(t)}Z`;
  }
  function duration(s) {
    const sign = s < 0 ? "-" : "";
    s = Math.abs(Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return `${sign}${h ? h + ":" + pad(m) : m}:${pad(sec)}`;
  }
  function scoreColour(score) {
    if (score == null || Number.isNaN(score)) return "var(--sn)";
    if (score < 0.2) return "var(--s0)";
    if (score < 0.5) return "var(--s1)";
    if (score < 0.8) return "var(--s2)";
    return "var(--s3)";
  }
  // Leaflet paths need real colours, not CSS variables.
  const css = getComputedStyle(document.documentElement);
  const colour = (v) => v.startsWith("var(") ? css.getPropertyValue(v.slice(4, -1)).trim() : v;
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" }[c]));
  const hasTransponder = (tr) => Boolean(tr.icao24 || tr.squawk);
  function bearingDeg(a, b) {
    const f1 = a[1] * Math.PI / 180, f2 = b[1] * Math.PI / 180, dl = (b[2] - a[2]) * Math.PI / 180;
    const y = Math.sin(dl) * Math.cos(f2);
    const x = Math.cos(f1) * Math.sin(f2) - Math.sin(f1) * Math.cos(f2) * Math.cos(dl);
    return (Math.atan2(y, x) * 180 / Math.PI + 360) % 360;
  }
  // Indicator names arrive as identifiers (no_flight_plan): shown as words.
  const words = (name) => String(name).replace(/_/g, " ");
  function reasons(indicators) {
    if (indicators == null) return [];
    if (typeof indicators === "string") return [words(indicators)];
    if (Array.isArray(indicators)) return indicators.map((v) => typeof v === "object" ? JSON.stringify(v) : words(v));
    return Object.entries(indicators).map(([k, v]) => typeof v === "number" ? `${words(k)} (${v.toFixed(2)})` : `${words(k)}: ${v}`);
  }
  // An assessment's per-indicator contributions (log-odds): the strongest for and against, largest first.
  function contributionLists(contributions, n = 6) {
    const entries = Object.entries(contributions).filter(([, v]) => typeof v === "number" && Math.abs(v) >= 0.05);
    const up = entries.filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, n);
    const down = entries.filter(([, v]) => v < 0).sort((a, b) => a[1] - b[1]).slice(0, n);
    const item = ([k, v]) => `<li>${esc(words(k))} <span class="muted">${v > 0 ? "+" : ""}${v.toFixed(2)}</span></li>`;
    return (up.length ? `<div>Raise the score:</div><ul>${up.map(item).join("")}</ul>` : "") +
      (down.length ? `<div>Lower it:</div><ul>${down.map(item).join("")}</ul>` : "");
  }

  // ---------------------------------------------------------------------------------------------- login

  function showLogin() {
    $("login").hidden = false;
    $("username").focus();
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("login-error").textContent = "";
    const response = await fetch("/api/login", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }) });
    if (!response.ok) { $("login-error").textContent = "Wrong user or password."; return; }
    $("password").value = "";
    $("login").hidden = true;
    start((await response.json()).user);
  });

  $("logout").addEventListener("click", async () => {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
    window.location.reload();
  });

  // ---------------------------------------------------------------------------------------------- basemap

  async function drawBasemap() {
    const geo = await api("/api/basemap");
    L.geoJSON(geo, {
      interactive: false,
      filter: (f) => f.properties.kind !== "region",
      style: (f) => f.properties.kind === "country"
        ? { color: "#2d3b2f", weight: 0.5, fillColor: colour("var(--land)"), fillOpacity: f.properties.iso3 === "PER" ? 1 : 0.7 }
        : { color: "#c9a227", weight: 1.5, dashArray: "6 4", fill: false },
    }).addTo(layers.base);
    L.geoJSON(geo, {
      interactive: false,
      filter: (f) => f.properties.kind === "region",
      style: { color: "#d7b96a", weight: 2, fill: true, fillOpacity: 0.04, dashArray: "2 4" },
      onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name, { permanent: true, direction: "center",
        className: "region-label" }),
    }).addTo(layers.base);
    // A 1° graticule: with no tiles, it is what gives the eye a scale.
    for (let lat = -20; lat <= 0; lat += 1) L.polyline([[lat, -82], [lat, -60]], { color: "#1c2733", weight: 0.5, interactive: false }).addTo(layers.base);
    for (let lon = -82; lon <= -60; lon += 1) L.polyline([[-20, lon], [0, lon]], { color: "#1c2733", weight: 0.5, interactive: false }).addTo(layers.base);
  }

  // ---------------------------------------------------------------------------------------------- airstrips

  async function drawAirstrips() {
    const strips = await api("/api/airstrips");
    layers.strips.clearLayers();
    for (const s of strips) {
      const c = s.registered ? colour("var(--accent)") : colour("var(--s2)");
      const marker = L.rectangle([[s.lat - 0.012, s.lon - 0.012], [s.lat + 0.012, s.lon + 0.012]],
        { color: c, weight: 1.5, fillColor: c, fillOpacity: 0.5 }).addTo(layers.strips);
      marker.bindTooltip(`${esc(s.icao || s.id)} — ${s.registered ? "registered" : "clandestine"}, ${s.landings ?? 0} landings`);
      marker.on("click", () => showAirstrip(s, marker));
    }
  }

  async function showAirstrip(strip, marker) {
    const { events } = await api(`/api/airstrips/${encodeURIComponent(strip.id)}`);
    const rows = events.slice(-12).reverse().map((e) =>
      `<tr><td>${esc(utcText(e.t))}</td><td>${esc(e.kind)}</td><td>${esc((e.track_ids || []).join(", "))}</td></tr>`).join("");
    marker.bindPopup(`<b>${esc(strip.icao || strip.id)}</b> ${strip.registered ? "registered airfield" : "clandestine strip"}<br>
      ${strip.landings ?? 0} landings · first seen ${esc(utcText(strip.first_seen))} · last seen ${esc(utcText(strip.last_seen))}
      · confidence ${strip.confidence != null ? strip.confidence.toFixed(2) : "?"}
      <table>${rows || "<tr><td>no events recorded in this picture</td></tr>"}</table>`).openPopup();
  }

  // ---------------------------------------------------------------------------------------------- tracks

  function clearTracks() {
    state.tracks.clear();
    layers.trails.clearLayers();
    layers.heads.clearLayers();
  }

  // Add columnar updates ({track_id: [...], t: [...], lat: [...], ...}) to the picture.
  function addUpdates(cols) {
    const n = cols.track_id.length;
    const touched = new Set();
    for (let i = 0; i < n; i++) {
      const id = cols.track_id[i];
      let tr = state.tracks.get(id);
      if (!tr) { tr = { id, pts: [] }; state.tracks.set(id, tr); }
      tr.pts.push([cols.t[i], cols.lat[i], cols.lon[i]]);
      if (cols.score) tr.score = cols.score[i];
      for (const k of ["callsign", "icao24", "squawk"]) if (cols[k] && cols[k][i] != null) tr[k] = cols[k][i];
      touched.add(tr);
    }
    return touched;
  }

  function recordsToColumns(rows) {
    const cols = { track_id: [], t: [], lat: [], lon: [], score: [], callsign: [], icao24: [], squawk: [] };
    for (const r of rows) for (const k in cols) cols[k].push(r[k] ?? null);
    return cols;
  }

  function headIcon(tr) {
    const dark = !hasTransponder(tr);
    const last = tr.pts[tr.pts.length - 1], prev = tr.pts[Math.max(0, tr.pts.length - 4)];
    const heading = tr.pts.length > 1 ? bearingDeg(prev, last) : 0;
    const glyph = dark ? "◆" : "▲";
    const label = dark ? "NO XPDR" : (tr.callsign || tr.icao24 || tr.id);
    const score = tr.score != null ? ` ${tr.score.toFixed(2)}` : "";
    return L.divIcon({
      className: `ac${dark ? " dark" : ""}${state.selected === tr.id ? " selected" : ""}`,
      iconSize: [18, 18], iconAnchor: [9, 9],
      html: `<span class="glyph" data-track-id="${esc(tr.id)}" style="color:${colour(scoreColour(tr.score))};` +
        `transform:rotate(${dark ? 0 : heading}deg)">${glyph}</span><span class="label">${esc(label)}${score}</span>`,
    });
  }

  function drawTrack(tr) {
    const latlngs = tr.pts.map((p) => [p[1], p[2]]);
    const c = colour(scoreColour(tr.score));
    if (!tr.line) {
      tr.line = L.polyline(latlngs, { color: c, weight: 2, opacity: 0.85,
        dashArray: hasTransponder(tr) ? null : "5 4" }).addTo(layers.trails);
      tr.line.on("click", () => openDossier(tr.id));
      tr.head = L.marker(latlngs[latlngs.length - 1], { icon: headIcon(tr), riseOnHover: true }).addTo(layers.heads);
      tr.head.on("click", () => openDossier(tr.id));
    } else {
      tr.line.setLatLngs(latlngs);
      tr.line.setStyle({ color: c, dashArray: hasTransponder(tr) ? null : "5 4" });
      tr.head.setLatLng(latlngs[latlngs.length - 1]);
      tr.head.setIcon(headIcon(tr));
    }
  }

  // Drop trail points older than TRAIL_S and aircraft not updated for STALE_S, as of time `now`.
  function prune(now) {
    for (const [id, tr] of state.tracks) {
      const last = tr.pts[tr.pts.length - 1];
      if (!last || now - last[0] > STALE_S) {
        if (tr.line) { layers.trails.removeLayer(tr.line); layers.heads.removeLayer(tr.head); }
        state.tracks.delete(id);
        continue;
      }
      let k = 0;
      while (k < tr.pts.length - 1 && now - tr.pts[k][0] > TRAIL_S) k++;
      if (k) tr.pts.splice(0, k);
    }
    $("track-count").textContent = `${state.tracks.size} aircraft`;
  }

  async function loadWindow(t1) {
    const query = t1 == null ? "" : `?t0=${t1 - TRAIL_S}&t1=${t1}`;
    const rows = await api(`/api/tracks${query}`);
    clearTracks();
    const touched = addUpdates(recordsToColumns(rows));
    const now = t1 ?? (rows.length ? rows[rows.length - 1].t : state.now);
    prune(now ?? 0);
    for (const tr of touched) if (state.tracks.has(tr.id)) drawTrack(tr);
  }

  // ---------------------------------------------------------------------------------------------- alerts

  const alertKey = (a) => `${a.run_id}/${a.alert_id}`;

  function addAlerts(list, fresh) {
    for (const a of list) {
      const key = alertKey(a);
      const isNew = !state.alerts.has(key);
      state.alerts.set(key, a);
      if (isNew && fresh) a._new = true;
    }
    renderAlerts();
  }

  async function refreshAlerts() {
    try { addAlerts(await api("/api/alerts"), false); } catch (e) { console.warn(e); }
  }

  function renderAlerts() {
    // Looking at history, the alerts not yet issued at the slider's time are left out.
    const list = [...state.alerts.values()]
      .filter((a) => state.mode !== "history" || state.now == null || a.t_issued <= state.now)
      .sort((a, b) => b.t_issued - a.t_issued);
    $("alert-count").textContent = list.length;
    $("alerts").innerHTML = list.map((a) => {
      const site = a.predicted_site || {};
      const where = site.airstrip_id ? `${esc(site.airstrip_id)} ` : "";
      const coords = site.lat != null ? `(${site.lat.toFixed(3)}, ${site.lon.toFixed(3)})` : "(unknown)";
      const window = a.eta_window_s ? ` ±${Math.round(a.eta_window_s / 60)} min` : "";
      return `<li class="alert${a._new ? " new" : ""}${state.selected && (a.track_ids || []).includes(state.selected) ? " selected" : ""}"
          data-key="${esc(alertKey(a))}" data-alert-id="${esc(a.alert_id)}" style="border-left-color:${colour(scoreColour(a.score))}">
        <div class="head"><span>${esc(a.alert_id)} · ${esc((a.track_ids || []).join(", "))}</span><span>${a.score.toFixed(2)}</span></div>
        <div>Landing ${where}${coords}</div>
        <div class="eta" data-eta="${a.eta ?? ""}" data-window="${a.eta_window_s ?? 0}">ETA ${a.eta ? hhmmss(a.eta) + "Z" + window : "unknown"}
          <b class="countdown"></b></div>
        <div class="caveat">issued ${esc(utcText(a.t_issued))}; a probability, not a proof</div>
        <ul>${reasons(a.indicators).map((r) => `<li>${esc(r)}</li>`).join("")}</ul>
        <div class="copy">${a.copy_ref ? `your copy <span class="copy-ref">${esc(a.copy_ref)}</span> · ` : ""}
          <button class="widen-btn" type="button">Ask to widen…</button></div>
      </li>`;
    }).join("");
    for (const a of list) a._new = false;
    for (const li of $("alerts").querySelectorAll(".alert")) {
      li.addEventListener("click", () => selectAlert(state.alerts.get(li.dataset.key)));
      li.querySelector(".widen-btn").addEventListener("click", (event) => {
        event.stopPropagation();  // asking to widen is not opening the dossier
        openWidenForm(state.alerts.get(li.dataset.key));
      });
    }
    drawSites(list);
    tickCountdowns();
  }

  function drawSites(list) {
    layers.sites.clearLayers();
    for (const a of list) {
      const site = a.predicted_site || {};
      if (site.lat == null) continue;
      // The circle is the prediction's 1-sigma uncertainty when the alert gives one.
      const radius = a.sigma_site_m > 0 ? a.sigma_site_m : DEFAULT_SITE_RADIUS_M;
      L.circle([site.lat, site.lon], { radius, color: colour("var(--s3)"), weight: 2, dashArray: "4 4", fillOpacity: 0.08 })
        .bindTooltip(`${esc(a.alert_id)}: predicted landing${a.eta ? " " + hhmmss(a.eta) + "Z" : ""}` +
          (a.sigma_site_m > 0 ? ` (±${(a.sigma_site_m / 1000).toFixed(0)} km)` : ""))
        .on("click", () => selectAlert(a)).addTo(layers.sites);
    }
  }

  function tickCountdowns() {
    const now = state.now;  // the picture's clock: live, or the slider's time
    for (const el of document.querySelectorAll("#alerts .eta")) {
      const eta = parseFloat(el.dataset.eta);
      const out = el.querySelector(".countdown");
      if (Number.isNaN(eta) || now == null) { out.textContent = ""; continue; }
      const left = eta - now;
      el.classList.toggle("overdue", left < -parseFloat(el.dataset.window || "0"));
      out.textContent = left >= 0 ? ` in ${duration(left)}` : ` ${duration(-left)} ago`;
    }
  }

  function selectAlert(a) {
    if (!a) return;
    const site = a.predicted_site || {};
    if (site.lat != null) map.setView([site.lat, site.lon], Math.max(map.getZoom(), 9));
    if (a.track_ids && a.track_ids.length) openDossier(a.track_ids[0], a.run_id);
  }

  // ---------------------------------------------------------------------------------------------- widening

  // A request names the alert and the unit; the server decides who may ask and who may approve (a second
  // person, never the requester) and says why when it refuses.
  function apiError(e) {
    const text = String(e.message || e);
    const json = text.slice(text.indexOf("{"));
    try { return JSON.parse(json).detail || text; } catch { return text; }
  }

  function openWidenForm(a) {
    if (!a) return;
    state.widenTarget = a;
    $("widen-alert").textContent = a.alert_id;
    $("widen-error").textContent = "";
    $("widen-form").hidden = false;
    $("widen-unit").focus();
  }

  $("widen-cancel").addEventListener("click", () => { $("widen-form").hidden = true; state.widenTarget = null; });
  $("widen-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const a = state.widenTarget;
    if (!a) return;
    try {
      await api(`/api/alerts/${encodeURIComponent(a.run_id)}/${encodeURIComponent(a.alert_id)}/widen`, {
        method: "POST", body: JSON.stringify({ unit: $("widen-unit").value, reason: $("widen-reason").value }) });
    } catch (e) { $("widen-error").textContent = apiError(e); return; }
    $("widen-form").hidden = true;
    $("widen-form").reset();
    state.widenTarget = null;
    await refreshWidening(true);
  });

  async function refreshWidening(force = false) {
    // Typing a reason is not interrupted by the periodic refresh.
    if (!force && $("widening").contains(document.activeElement)) return;
    let list;
    try { list = await api("/api/widening?status=pending"); } catch (e) { console.warn(e); return; }
    $("widening-count").textContent = list.length;
    const me = state.user ? state.user.username : null;
    $("widening").innerHTML = list.map((r) => `
      <li class="widening" data-request-id="${r.id}">
        <div><b>${esc(r.alert_id)}</b> → ${esc(r.unit)}</div>
        <div class="hint">asked by ${esc(r.requested_by)} ${esc(utcText(r.requested_at))}: ${esc(r.reason)}</div>
        ${r.requested_by === me ? '<div class="hint">waiting for a second person</div>' : `
        <form class="approve-form"><input name="reason" required placeholder="why you agree">
          <button type="submit">Approve</button><span class="error" role="alert"></span></form>`}
      </li>`).join("");
    for (const form of $("widening").querySelectorAll(".approve-form")) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const id = form.closest(".widening").dataset.requestId;
        try {
          await api(`/api/widening/${id}/approve`, { method: "POST",
            body: JSON.stringify({ reason: form.elements.reason.value }) });
        } catch (e) { form.querySelector(".error").textContent = apiError(e); return; }
        await refreshWidening(true);
      });
    }
  }

  // ---------------------------------------------------------------------------------------------- dossier

  async function openDossier(trackId, runId) {
    const query = runId ? `?run_id=${encodeURIComponent(runId)}` : "";
    let d;
    try { d = await api(`/api/flights/${encodeURIComponent(trackId)}${query}`); } catch (e) { console.warn(e); return; }
    state.selected = trackId;
    const s = d.summary;
    const dark = s.transponder_share === 0;
    const score = d.score;
    const { contributions, explanations, flight_id: _flight, ...otherFields } = d.assessment || {};
    const assessmentRows = Object.entries(otherFields).filter(([, v]) => v != null).map(([k, v]) =>
      `<tr><td>${esc(words(k))}</td><td>${esc(Array.isArray(v) || typeof v === "object" ? reasons(v).join("; ") : v)}</td></tr>`).join("");
    // Absent: the assessment gave no explanations at all; null or empty: none of the known ones fits.
    const innocent = explanations == null ? [] : Array.isArray(explanations) ? explanations : String(explanations).split(/\s*;\s*/);
    const innocentHtml = explanations === undefined ? "" : `<h3>Not ruled out</h3><ul class="innocent">${innocent.length
      ? innocent.map((e) => `<li>${esc(e)}</li>`).join("") : "<li>none of the known legitimate explanations fits the facts</li>"}</ul>`;
    const alertReasons = [...new Set(d.alerts.flatMap((a) => reasons(a.indicators)))];
    $("dossier-body").innerHTML = `
      <h2>${esc(d.track_id)} ${dark ? '<span class="noxpdr">NO TRANSPONDER</span>' : esc(s.callsigns.join(", "))}</h2>
      <div>Suspicion score <b>${score != null ? score.toFixed(2) : "not scored"}</b></div>
      <div class="scorebar"><i style="width:${(score ?? 0) * 100}%;background:${colour(scoreColour(score))}"></i></div>
      ${alertReasons.length ? `<h3>Why it was flagged</h3><ul>${alertReasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>` : ""}
      ${contributions && typeof contributions === "object" ? `<h3>What the score rests on</h3>${contributionLists(contributions)}` : ""}
      ${assessmentRows ? `<h3>Assessment</h3><table>${assessmentRows}</table>` : ""}
      ${innocentHtml}
      <p class="caveat">A score is a probability: military, mission and bush flights also land on dirt strips at dawn.</p>
      <h3>Track</h3>
      <table>
        <tr><td>Seen</td><td>${esc(utcText(s.first_seen))} → ${esc(hhmmss(s.last_seen))}Z (${duration(s.duration_s)})</td></tr>
        <tr><td>Updates</td><td>${s.updates}${d.track_ids.length > 1 ? ` over tracks ${esc(d.track_ids.join(", "))}` : ""}</td></tr>
        <tr><td>Identity</td><td>${s.icao24.length ? esc(s.icao24.join(", ")) : "none"}; squawk ${s.squawks.length ? esc(s.squawks.join(", ")) : "none"}</td></tr>
        <tr><td>Transponder replies</td><td>${Math.round(s.transponder_share * 100)} % of updates</td></tr>
        <tr><td>Sensors</td><td>${esc(s.sensors.join(", ") || "?")}</td></tr>
        <tr><td>Max speed</td><td>${s.max_speed_mps != null ? Math.round(s.max_speed_mps) + " m/s" : "?"}</td></tr>
        <tr><td>Altitude</td><td>${s.alt_m ? Math.round(s.alt_m.min) + "–" + Math.round(s.alt_m.max) + " m" : "unknown (primary radar)"}</td></tr>
      </table>
      <h3>Events</h3>
      <table>${d.events.map((e) => `<tr><td>${esc(hhmmss(e.t))}Z</td><td>${esc(e.kind)}${e.airstrip_id ? " at " + esc(e.airstrip_id) : ""}
        (${e.confidence != null ? e.confidence.toFixed(2) : "?"})</td></tr>`).join("") || "<tr><td>none</td></tr>"}</table>
      ${d.alerts.length ? `<h3>Alerts</h3><table>${d.alerts.map((a) => `<tr><td>${esc(a.alert_id)}</td><td>issued ${esc(hhmmss(a.t_issued))}Z,
        ETA ${a.eta ? esc(hhmmss(a.eta)) + "Z" : "?"}</td></tr>`).join("")}</table>` : ""}`;
    $("dossier").dataset.trackId = d.track_id;
    $("dossier").hidden = false;
    layers.focus.clearLayers();
    const latlngs = d.track.lat.map((lat, i) => [lat, d.track.lon[i]]);
    if (latlngs.length) {
      L.polyline(latlngs, { color: colour("var(--accent)"), weight: 5, opacity: 0.35, interactive: false }).addTo(layers.focus);
    }
    for (const tr of state.tracks.values()) if (tr.head) tr.head.setIcon(headIcon(tr));
    renderAlerts();
  }

  $("dossier-close").addEventListener("click", () => {
    $("dossier").hidden = true;
    state.selected = null;
    layers.focus.clearLayers();
    renderAlerts();
  });

  // ---------------------------------------------------------------------------------------------- clock, slider

  function setClock(t) {
    state.now = t;
    $("clock").textContent = t == null ? "--" :
      `${hhmmss(t)}Z · ${hhmmss(t + LOCAL_OFFSET_S)} local`;
    const slider = $("slider");
    if (t != null && state.mode === "live") {
      if (state.tMax == null || t > state.tMax) { state.tMax = t; slider.max = t; }
      slider.value = t;
      $("slider-label").textContent = utcText(t);
    }
    tickCountdowns();
  }

  function setMode(mode) {
    state.mode = mode;
    const badge = $("mode");
    const label = mode === "history" ? "HISTORY" : state.serverMode === "replay" ? `REPLAY ×${state.speed}` :
      state.serverMode === "live" ? "LIVE" : "ARCHIVE";
    badge.textContent = label;
    badge.className = `badge ${mode === "history" ? "history" : state.serverMode}`;
    $("live-btn").disabled = mode === "live";
  }

  $("slider").addEventListener("input", () => {
    stopPlay();
    setMode("history");
    $("slider-label").textContent = utcText(parseFloat($("slider").value));
  });
  $("slider").addEventListener("change", async () => {
    const t = parseFloat($("slider").value);
    setClock(t);
    $("slider-label").textContent = utcText(t);
    renderAlerts();
    await loadWindow(t);
  });

  $("live-btn").addEventListener("click", async () => {
    stopPlay();
    setMode("live");
    if (state.liveNow != null) setClock(state.liveNow);
    renderAlerts();
    await loadWindow(state.serverMode === "archive" ? null : state.liveNow);
  });

  function stopPlay() {
    if (state.playTimer) { clearInterval(state.playTimer); state.playTimer = null; $("play-btn").textContent = "▶"; }
  }

  // Play history: move the slider by `speed` sim seconds a second, reloading the window each step.
  $("play-btn").addEventListener("click", () => {
    if (state.playTimer) { stopPlay(); return; }
    setMode("history");
    $("play-btn").textContent = "❚❚";
    let busy = false;
    state.playTimer = setInterval(async () => {
      if (busy) return;
      busy = true;
      const slider = $("slider");
      const t = Math.min(parseFloat(slider.value) + (state.speed || 60), parseFloat(slider.max));
      slider.value = t;
      setClock(t);
      $("slider-label").textContent = utcText(t);
      renderAlerts();
      try { await loadWindow(t); } finally { busy = false; }
      if (t >= parseFloat(slider.max)) stopPlay();
    }, 1000);
  });

  // ---------------------------------------------------------------------------------------------- stream

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/api/live`);
    state.ws = ws;
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "hello") {
        state.serverMode = msg.mode;
        if (msg.speed) state.speed = msg.speed;
        setMode(state.mode);
        if (msg.now != null) { state.liveNow = msg.now; if (state.mode === "live") setClock(msg.now); }
      } else if (msg.type === "tracks") {
        state.liveNow = msg.t;
        if (state.mode !== "live") return;
        const touched = addUpdates(msg.columns);
        setClock(msg.t);
        prune(msg.t);
        for (const tr of touched) if (state.tracks.has(tr.id)) drawTrack(tr);
      } else if (msg.type === "alerts") {
        addAlerts(msg.alerts, true);
      } else if (msg.type === "end") {
        $("mode").textContent = "REPLAY ENDED";
      }
    };
    ws.onclose = (event) => {
      if (event.code === 4401) { showLogin(); return; }
      if (state.serverMode !== "archive") setTimeout(connect, 3000);
    };
  }

  // ---------------------------------------------------------------------------------------------- start

  async function start(user) {
    state.user = user;
    $("who").textContent = `${user.username} · ${user.role} · ${user.unit}`;
    const status = await api("/api/status");
    state.serverMode = status.mode;
    state.speed = status.speed || 60;
    state.tMin = status.t_min;
    state.tMax = status.now ?? status.t_max;
    const slider = $("slider");
    if (state.tMin != null) { slider.min = state.tMin; slider.max = state.tMax; }
    setMode("live");
    setClock(status.now ?? status.t_max);
    await Promise.all([drawAirstrips(), refreshAlerts(), refreshWidening(), loadWindow(status.now ?? null)]);
    if (status.mode !== "archive") connect();
    setInterval(refreshAlerts, ALERT_REFRESH_MS);
    setInterval(() => refreshWidening(), ALERT_REFRESH_MS);
    setInterval(drawAirstrips, 60000);
    setInterval(tickCountdowns, 1000);
  }

  drawBasemap().catch((e) => console.warn(e));
  fetch("/api/me", { credentials: "same-origin" }).then(async (r) => {
    if (r.ok) start(await r.json()); else showLogin();
  });
})();
