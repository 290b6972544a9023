// lookalike's page: drop, paste, pick or link an image; see what looks like it.
// Plain JS, no build step, no external resources.
"use strict";

(() => {
  const TEXTS = JSON.parse(document.getElementById("i18n").textContent);
  const $ = (id) => document.getElementById(id);
  const maxUpload = Number(document.body.dataset.maxUpload || 0);
  // The server's write token, when it hands it to its own page (other sites cannot read it).
  const token = document.querySelector('meta[name="lookalike-token"]')?.content || "";
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const state = { lang: document.documentElement.dataset.lang || "en", last: null, queryUrl: "" };

  const t = (key) => {
    const table = TEXTS[state.lang] || TEXTS.en;
    return key.split(".").reduce((o, k) => (o && o[k] !== undefined ? o[k] : null), table)
      ?? key.split(".").reduce((o, k) => (o ? o[k] : null), TEXTS.en) ?? key;
  };

  // ---- language -----------------------------------------------------------------------
  function applyLanguage(lang) {
    state.lang = TEXTS[lang] ? lang : "en";
    document.documentElement.dataset.lang = state.lang;
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    });
    document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
    document.querySelectorAll("[data-set-lang]").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.setLang === state.lang));
    });
    document.cookie = `lang=${state.lang}; path=/; max-age=31536000; SameSite=Lax`;
    showStats();
    if (state.last) render(state.last);
  }
  document.querySelectorAll("[data-set-lang]").forEach((b) =>
    b.addEventListener("click", () => applyLanguage(b.dataset.setLang)));

  // ---- status line and stats ----------------------------------------------------------
  function status(text, kind) {
    const el = $("status");
    el.textContent = text || "";
    el.className = "status" + (kind ? " " + kind : "");
  }

  let stats = null;
  function showStats() {
    if (!stats) return;
    const n = stats.images ?? stats.count ?? stats.size;
    if (typeof n !== "number") return;
    const videos = stats.videos ? ` · ${stats.videos.toLocaleString()} ${t("videos")}` : "";
    $("stats").textContent = `${n.toLocaleString()} ${t("images")}${videos}`;
  }
  fetch("/api/stats").then((r) => (r.ok ? r.json() : null)).then((s) => { stats = s; showStats(); })
    .catch(() => {});

  // ---- searching ----------------------------------------------------------------------
  let busy = false;
  async function search(input) {
    if (busy) return;
    const form = new FormData();
    if (input.file) {
      if (input.file.type && !input.file.type.startsWith("image/")) { status(t("not_image"), "error"); return; }
      if (maxUpload && input.file.size > maxUpload) {
        status(`${t("too_large")} (${(maxUpload / 1048576).toFixed(1)} MB).`, "error");
        return;
      }
      form.append("file", input.file, input.file.name || "pasted.png");
    } else {
      form.append("url", input.url);
    }
    form.append("k", $("k").value);
    busy = true;
    document.querySelector("button.primary").disabled = true;
    status(t("searching"), "busy");
    try {
      const response = await fetch("/api/search", { method: "POST", headers: auth, body: form });
      const data = await response.json().catch(() => ({ error: response.statusText }));
      if (!response.ok) throw new Error(data.error || response.statusText);
      if (state.queryUrl.startsWith("blob:")) URL.revokeObjectURL(state.queryUrl);
      state.queryUrl = input.file ? URL.createObjectURL(input.file) : data.query_image_url;
      state.input = input;
      state.last = data;
      render(data);
      status("");
    } catch (err) {
      status(`${t("error")}: ${err.message}`, "error");
    } finally {
      busy = false;
      document.querySelector("button.primary").disabled = false;
    }
  }

  const pct = (s) => `${(100 * s).toFixed(s >= 0.9995 ? 0 : 1)}%`;
  const grade = (s) => (s >= 0.85 ? "good" : s >= 0.6 ? "fair" : "poor");
  const basename = (p) => String(p).split(/[\\/]/).pop();

  function render(data) {
    $("results").hidden = false;
    $("query-img").src = state.queryUrl;
    $("query-name").textContent = basename(data.query);
    $("query-name").title = data.query;
    const seconds = data.timings && data.timings.total;
    const took = typeof seconds === "number" ? ` · ${t("timings")} ${(seconds * 1000).toFixed(0)} ms` : "";
    $("query-summary").textContent = `${data.results.length} ${t("results")}${took}`;
    const grid = $("grid");
    grid.replaceChildren();
    if (!data.results.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = t("no_results");
      grid.append(li);
      return;
    }
    const alike = (hit) => !hit.verdict || hit.verdict === "identical" || hit.verdict === "similar";
    data.results.forEach((hit, i) => {
      const first = i === 0 || alike(data.results[i - 1]);
      if (!alike(hit) && first) {
        const li = document.createElement("li");
        li.className = "divider";
        li.textContent = t(i === 0 ? "nearest" : "less_alike");
        grid.append(li);
      }
      const item = card(hit, i);
      if (!alike(hit)) item.classList.add("weak");
      grid.append(item);
    });
  }

  function card(hit, i) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "card";
    button.dataset.id = hit.id;
    button.title = hit.path;
    const frame = document.createElement("div");
    frame.className = "frame";
    frame.dataset.tall = t("tall");
    const badge = document.createElement("span");
    badge.className = `pct ${grade(hit.similarity)}`;
    badge.textContent = pct(hit.similarity);
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = `#${i + 1}`;
    frame.append(badge, rank, hit.video ? hitVideo(hit, frame) : thumbnail(hit, button, frame));
    const info = document.createElement("div");
    info.className = "info";
    const name = document.createElement("span");
    name.className = "file ellipsis";
    name.textContent = basename(hit.path);
    const meta = document.createElement("span");
    meta.className = "muted small ellipsis";
    const size = hit.width && hit.height ? ` · ${hit.width}×${hit.height}` : "";
    // what the engine found (rotated by 7°, cropped...), or that it calls the hit different
    const found = hit.relation
      ? hit.relation[state.lang] || hit.relation.en
      : hit.verdict === "different" ? t("verdict.different") : t("methods." + hit.method);
    meta.textContent = `${found}${size}`;
    meta.title = `${t("methods." + hit.method)}`;
    if (hit.video) meta.textContent = `▶ ${clock(hit.time)} · ${meta.textContent}`;
    if (hit.mirrored) meta.textContent = `${t("mirrored")} · ${meta.textContent}`;
    const meter = document.createElement("div");
    meter.className = "bar-meter";
    const fill = document.createElement("span");
    fill.style.width = `${Math.max(0, Math.min(1, hit.similarity)) * 100}%`;
    meter.append(fill);
    info.append(name, meta, meter);
    button.append(frame, info);
    button.addEventListener("click", () => openCompare(hit));
    li.append(button);
    return li;
  }

  function thumbnail(hit, button, frame) {
    const img = document.createElement("img");
    img.alt = basename(hit.path);
    img.loading = "lazy";
    img.decoding = "async";
    img.addEventListener("load", () => fitTall(button, frame, img));
    img.src = `${hit.thumbnail_url}?w=320`;
    return img;
  }

  // ---- video hits (issue 14): the video, from the matched time (#t= media fragment) ----
  const clock = (s) => {
    const v = Math.max(0, Number(s) || 0);
    const m = Math.floor(v / 60);
    const rest = (v - 60 * m).toFixed(1).padStart(4, "0");
    return `${String(m).padStart(2, "0")}:${rest}`;
  };
  const videoSrc = (hit) => `${hit.video_url}#t=${Number(hit.time || 0).toFixed(3)}`;

  // The matched frame as a still (decoded by the server): the poster, and what is left
  // where the browser cannot play the video's codec (mp4v, for one).
  function stillOf(hit, className) {
    const img = document.createElement("img");
    img.className = className;
    img.alt = basename(hit.path);
    img.decoding = "async";
    img.src = hit.frame_url;
    return img;
  }

  function hitVideo(hit, frame) {
    const video = document.createElement("video");
    video.className = "hit-video";
    video.muted = true;
    video.playsInline = true;
    video.preload = "metadata";
    video.poster = hit.frame_url;
    video.addEventListener("error", () => {
      frame.dataset.note = t("video_unplayable");
      frame.classList.add("unplayable");
      video.replaceWith(stillOf(hit, "hit-still"));
    }, { once: true });
    video.src = videoSrc(hit);
    video.addEventListener("mouseenter", () => video.play().catch(() => {}));
    video.addEventListener("mouseleave", () => video.pause());
    return video;
  }

  function openVideo(hit) {
    $("cmp-a").src = state.queryUrl;
    $("cmp-a-name").textContent = basename(state.last.query);
    const still = $("cmp-b");
    still.hidden = true;
    still.src = hit.frame_url;
    const video = $("cmp-b-video");
    video.hidden = false;
    video.poster = hit.frame_url;
    const v = $("cmp-verdict");
    v.className = "verdict";
    v.replaceChildren();
    const tag = document.createElement("span");
    tag.className = `tag ${hit.verdict}`;
    tag.textContent = t("verdict." + hit.verdict);
    v.append(tag, ` ${pct(hit.similarity)} · ${clock(hit.time)}`);
    video.onerror = () => {  // a codec this browser lacks: the matched frame instead
      video.hidden = true;
      still.hidden = false;
      const note = document.createElement("span");
      note.className = "muted small";
      note.textContent = ` · ${t("video_unplayable")}`;
      v.append(note);
    };
    video.src = videoSrc(hit);
    $("cmp-b-name").textContent = `${basename(hit.path)} ▶ ${clock(hit.time)}`;
    $("cmp-b-name").title = hit.path;
    $("cmp-b-open").href = videoSrc(hit);
    $("cmp-b-open").textContent = t("open_video");
    $("cmp-table").hidden = true;
    $("cmp-table").tBodies[0].replaceChildren();
    dialog.addEventListener("close", () => video.pause(), { once: true });
    dialog.showModal();
  }
  // ---- end video hits -------------------------------------------------------------------

  // A tall image fills the frame's width; on hover it scrolls up by its overflow.
  function fitTall(button, frame, img) {
    if (!img.naturalWidth) return;
    const shown = frame.clientWidth * (img.naturalHeight / img.naturalWidth);
    const overflow = shown - frame.clientHeight;
    if (overflow > 8) {
      button.classList.add("tall");
      button.style.setProperty("--shift", `-${overflow.toFixed(0)}px`);
      button.style.setProperty("--dur", `${Math.min(6, Math.max(1.2, overflow / 160)).toFixed(2)}s`);
    } else {
      button.classList.remove("tall");
    }
  }
  window.addEventListener("resize", () => {
    document.querySelectorAll(".card").forEach((b) => {
      const frame = b.querySelector(".frame");
      const img = frame.querySelector("img:not(.hit-still)");
      if (img) fitTall(b, frame, img);
    });
  });

  // ---- side-by-side comparison --------------------------------------------------------
  const dialog = $("compare");
  $("compare-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });

  async function openCompare(hit) {
    if (hit.video) return openVideo(hit);
    $("cmp-b").hidden = false;
    $("cmp-b-video").onerror = null;
    $("cmp-b-video").hidden = true;
    $("cmp-b-video").removeAttribute("src");
    $("cmp-b-video").removeAttribute("poster");
    $("cmp-b-open").textContent = t("open_full");
    $("cmp-table").hidden = false;
    const last = state.last;
    $("cmp-a").src = state.queryUrl;
    $("cmp-a-name").textContent = basename(last.query);
    $("cmp-b").src = hit.image_url;
    $("cmp-b-name").textContent = basename(hit.path);
    $("cmp-b-name").title = hit.path;
    $("cmp-b-open").href = hit.image_url;
    $("cmp-verdict").textContent = t("comparing");
    $("cmp-verdict").className = "verdict busy";
    const body = $("cmp-table").tBodies[0];
    body.replaceChildren();
    dialog.showModal();
    try {
      let response = await fetch("/api/compare", {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/json" },
        body: JSON.stringify({ id: hit.id, query_id: last.query_id }),
      });
      if (response.status === 404 && state.input) {
        // The server forgot the query (it keeps recent ones only): send it again.
        const form = new FormData();
        form.append("id", String(hit.id));
        if (state.input.file) form.append("file", state.input.file, state.input.file.name || "query");
        else form.append("url", state.input.url);
        response = await fetch("/api/compare", { method: "POST", headers: auth, body: form });
      }
      const data = await response.json().catch(() => ({ error: response.statusText }));
      if (!response.ok) throw new Error(data.error || response.statusText);
      showComparison(data);
    } catch (err) {
      $("cmp-verdict").className = "verdict";
      $("cmp-verdict").textContent = `${t("error")}: ${err.message}`;
    }
  }

  function showComparison(data) {
    const v = $("cmp-verdict");
    v.className = "verdict";
    v.replaceChildren();
    const tag = document.createElement("span");
    tag.className = `tag ${data.verdict}`;
    tag.textContent = t("verdict." + data.verdict);
    const text = document.createElement("span");
    // the shared scale and the measured relation (a mirror, a crop...) when the API gives them
    const overall = data.calibrated ?? data.similarity;
    const found = data.relation ? `${data.relation[state.lang] || data.relation.en} · ` : "";
    text.textContent = `${t("overall")} ${pct(overall)} · ${found}${t("decided_by")} ${t("methods." + data.decided_by)}`;
    v.append(tag, text);
    const body = $("cmp-table").tBodies[0];
    body.replaceChildren();
    for (const row of data.methods) {
      const tr = document.createElement("tr");
      tr.dataset.method = row.method;
      if (row.method === data.decided_by) tr.className = "decider";
      const name = document.createElement("td");
      name.className = "name";
      name.textContent = t("methods." + row.method);
      const code = document.createElement("small");
      code.textContent = row.method;
      name.append(code);
      const sim = document.createElement("td");
      sim.className = "num";
      const meter = document.createElement("span");
      meter.className = "meter";
      const fill = document.createElement("span");
      fill.style.width = `${Math.max(0, Math.min(1, row.similarity)) * 100}%`;
      meter.append(fill);
      sim.append(meter, document.createTextNode(pct(row.similarity)));
      const dist = document.createElement("td");
      dist.className = "num";
      dist.textContent = Number.isInteger(row.distance) ? row.distance : Number(row.distance).toFixed(3);
      const verdict = document.createElement("td");
      const vt = document.createElement("span");
      vt.className = `tag ${row.verdict}`;
      vt.textContent = t("verdict." + row.verdict);
      verdict.append(vt);
      tr.append(name, sim, dist, verdict);
      body.append(tr);
    }
  }

  // ---- inputs: picker, drag and drop, paste, URL --------------------------------------
  $("file").addEventListener("change", (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) search({ file });
    e.target.value = "";
  });

  const drop = $("drop");
  let depth = 0;
  window.addEventListener("dragenter", (e) => { e.preventDefault(); depth += 1; drop.classList.add("over"); });
  window.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) drop.classList.remove("over"); });
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    drop.classList.remove("over");
    const dt = e.dataTransfer;
    const file = dt && [...dt.files].find((f) => f.type.startsWith("image/")) || (dt && dt.files[0]);
    if (file) { search({ file }); return; }
    const url = dt && (dt.getData("text/uri-list") || dt.getData("text/plain"));
    if (url && /^https?:\/\//i.test(url.trim())) {
      $("url").value = url.trim().split(/\r?\n/)[0];
      search({ url: $("url").value });
    }
  });

  document.addEventListener("paste", (e) => {
    const items = e.clipboardData ? [...e.clipboardData.items] : [];
    const image = items.find((it) => it.kind === "file" && it.type.startsWith("image/"));
    if (image) {
      e.preventDefault();
      const blob = image.getAsFile();
      const ext = (blob.type.split("/")[1] || "png").replace("jpeg", "jpg");
      search({ file: new File([blob], blob.name && blob.name !== "image.png" ? blob.name : `pasted.${ext}`, { type: blob.type }) });
      return;
    }
    const text = e.clipboardData && e.clipboardData.getData("text/plain");
    if (text && /^https?:\/\/\S+$/i.test(text.trim()) && document.activeElement !== $("url")) {
      e.preventDefault();
      $("url").value = text.trim();
      search({ url: text.trim() });
    }
  });

  $("url-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const url = $("url").value.trim();
    if (url) search({ url });
    else $("file").click();
  });

  applyLanguage(state.lang);
})();
