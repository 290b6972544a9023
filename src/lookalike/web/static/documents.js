// lookalike's Documents page: drop Office/PDF files or a zip of them, follow the check,
// see the reused pictures side by side, download the workbook.
// Plain JS, no build step, no external resources. The upload carries the page's token.
"use strict";

(() => {
  const TEXTS = JSON.parse(document.getElementById("i18n").textContent);
  const $ = (id) => document.getElementById(id);
  const maxUpload = Number(document.body.dataset.maxUpload || 0);
  const token = document.querySelector('meta[name="lookalike-token"]')?.content || "";
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const state = { lang: document.documentElement.dataset.lang || "en", job: null, busy: false };

  const lookup = (table, key) =>
    key.split(".").reduce((o, k) => (o && o[k] !== undefined ? o[k] : null), table);
  const t = (key, fmt) => {
    let text = lookup(TEXTS[state.lang] || TEXTS.en, key) ?? lookup(TEXTS.en, key) ?? key;
    for (const [k, v] of Object.entries(fmt || {})) text = text.replaceAll(`{${k}}`, String(v));
    return text;
  };
  const pick = (both) => (both && typeof both === "object" ? both[state.lang] ?? both.en : both);
  const pct = (s) => `${(100 * s).toFixed(s >= 0.9995 ? 0 : 1)}%`;
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };

  // ---- language -----------------------------------------------------------------------
  function applyLanguage(lang) {
    state.lang = TEXTS[lang] ? lang : "en";
    document.documentElement.dataset.lang = state.lang;
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
    document.querySelectorAll("[data-set-lang]").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.setLang === state.lang));
    });
    document.cookie = `lang=${state.lang}; path=/; max-age=31536000; SameSite=Lax`;
    if (state.job) show(state.job);
  }
  document.querySelectorAll("[data-set-lang]").forEach((b) =>
    b.addEventListener("click", () => applyLanguage(b.dataset.setLang)));

  function status(text, kind) {
    $("status").textContent = text || "";
    $("status").className = "status" + (kind ? " " + kind : "");
  }

  // ---- upload and polling -------------------------------------------------------------
  async function check(files) {
    if (state.busy || !files.length) return;
    const total = files.reduce((n, f) => n + f.size, 0);
    if (maxUpload && total > maxUpload) {
      status(`${t("documents.too_large")} (${(maxUpload / 1048576).toFixed(1)} MB).`, "error");
      return;
    }
    const form = new FormData();
    for (const f of files) form.append("files", f, f.name);
    state.busy = true;
    state.job = null;
    $("result").hidden = true;
    $("progress-row").hidden = false;
    $("progress").removeAttribute("value");
    status(t("documents.uploading"), "busy");
    try {
      const response = await fetch("/api/documents/jobs", { method: "POST", headers: auth, body: form });
      const data = await response.json().catch(() => ({ error: response.statusText }));
      if (!response.ok) throw new Error(data.error || response.statusText);
      await poll(data.url);
    } catch (err) {
      status(`${t("documents.failed")}: ${err.message}`, "error");
      $("progress-row").hidden = true;
    } finally {
      state.busy = false;
      $("doc-files").value = "";
    }
  }

  async function poll(url) {
    for (;;) {
      const response = await fetch(url, { cache: "no-store" });
      const job = await response.json().catch(() => ({ error: response.statusText }));
      if (!response.ok) throw new Error(job.error || response.statusText);
      if (job.state === "error") throw new Error(job.error || "error");
      if (job.state === "done") {
        $("progress-row").hidden = true;
        state.job = job;
        show(job);
        return;
      }
      const stage = job.state === "queued" ? t("documents.queued")
        : lookup(TEXTS[state.lang], `documents.stage.${job.stage}`) || t("documents.running");
      if (job.total) {
        $("progress").max = job.total;
        $("progress").value = job.done;
        status(`${stage} ${job.done}/${job.total}`, "busy");
      } else {
        $("progress").removeAttribute("value");
        status(stage, "busy");
      }
      await new Promise((r) => setTimeout(r, 400));
    }
  }

  // ---- the result ---------------------------------------------------------------------
  function side(pair, n) {
    const fig = el("figure", `dside side${n}`);
    const frame = el("div", "dframe");
    const url = pair[`thumbnail${n}`];
    if (url) {
      const img = el("img");
      img.src = url;
      img.alt = pair[`image${n}`];
      img.loading = "lazy";
      frame.append(img);
    }
    fig.append(frame);
    const cap = el("figcaption");
    const rows = [
      ["documents.document", pair[`document${n}`], "ddoc"],
      ["documents.image", pair[`image${n}`], "dimage"],
      ["documents.location", pick(pair[`location${n}`]) || "—", "dloc"],
    ];
    for (const [key, value, cls] of rows) {
      const line = el("div", cls);
      line.append(el("span", "muted", `${t(key)}: `), el("span", "value", value));
      cap.append(line);
    }
    fig.append(cap);
    return fig;
  }

  function show(job) {
    const r = job.result;
    $("result").hidden = false;
    const s = r.stats;
    status("");
    $("summary").textContent = t("documents.finished", {
      pairs: r.pairs.length, images: s.images, documents: s.documents,
      seconds: (s.seconds ?? 0).toFixed(1),
    });
    const download = $("download");
    download.hidden = !r.workbook_url;
    if (r.workbook_url) {
      download.href = r.workbook_url;
      download.setAttribute("download", r.workbook);
    }
    const list = $("pairs");
    list.replaceChildren();
    if (!r.pairs.length) list.append(el("li", "empty", t("documents.no_pairs")));
    r.pairs.forEach((pair, i) => {
      const li = el("li", "dpair");
      const head = el("div", "dhead");
      head.append(
        el("strong", "dnum", `#${i + 1}`),
        el("span", "dsim", `${t("documents.similarity")} ${pct(pair.similarity)}`),
        el("span", "drel", `${t("documents.relation")}: ${pick(pair.relation)}`),
        el("span", "muted small", t(pair.within ? "documents.within" : "documents.across")),
      );
      const sides = el("div", "dsides");
      sides.append(side(pair, 1), side(pair, 2));
      li.append(head, sides);
      list.append(li);
    });
    const errors = $("errors");
    errors.replaceChildren();
    for (const e of r.errors) errors.append(el("li", null, `${e.document}: ${pick(e.reason)}`));
    $("errors-box").hidden = !r.errors.length;
  }

  // ---- input: pick or drop ------------------------------------------------------------
  $("doc-files").addEventListener("change", (e) => check([...e.target.files]));
  const drop = $("drop");
  ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    check([...(e.dataTransfer?.files || [])]);
  });
})();
