// lookalike's review page: groups side by side, pick keepers and copies, act, undo.
// Plain JS, no build step, no external resources. Writes carry the page's token.
"use strict";

(() => {
  const TEXTS = JSON.parse(document.getElementById("i18n").textContent);
  const $ = (id) => document.getElementById(id);
  const token = document.querySelector('meta[name="lookalike-token"]')?.content || "";
  const json = { "Content-Type": "application/json" };
  const auth = token ? { ...json, Authorization: `Bearer ${token}` } : json;
  const state = {
    lang: document.documentElement.dataset.lang || "en",
    data: null,
    groups: new Map(), // number -> { keeper, checked: Set, hidden }
    gone: new Map(), // path -> "move" | "trash" | "delete"
    results: null,
  };

  const lookup = (table, key) =>
    key.split(".").reduce((o, k) => (o && o[k] !== undefined ? o[k] : null), table);
  const t = (key, fmt) => {
    let text = lookup(TEXTS[state.lang] || TEXTS.en, key) ?? lookup(TEXTS.en, key) ?? key;
    for (const [k, v] of Object.entries(fmt || {})) text = text.replaceAll(`{${k}}`, String(v));
    return text;
  };
  const basename = (p) => String(p).split(/[\\/]/).pop();
  const pct = (s) => `${(100 * s).toFixed(s >= 0.9995 ? 0 : 1)}%`;
  function size(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  }
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
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
    if (state.data) render();
  }
  document.querySelectorAll("[data-set-lang]").forEach((b) =>
    b.addEventListener("click", () => applyLanguage(b.dataset.setLang)));

  function status(text, kind) {
    $("status").textContent = text || "";
    $("status").className = "status" + (kind ? " " + kind : "");
  }

  async function call(url, body, headers) {
    const response = await fetch(url, {
      method: "POST", headers: headers || json, body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  // ---- the groups ---------------------------------------------------------------------
  async function load() {
    const response = await fetch("/api/review");
    state.data = await response.json();
    for (const g of state.data.groups) {
      const checked = new Set(g.members.map((m) => m.path).filter((p) => p !== g.keep));
      state.groups.set(g.group, {
        keeper: g.keep, checked, hidden: state.data.not_duplicates.includes(g.group),
      });
    }
    if (!$("destination").value && state.data.destination) $("destination").value = state.data.destination;
    $("undo").hidden = !state.data.undoable;
    render();
  }

  function render() {
    const box = $("groups");
    box.replaceChildren();
    const visible = state.data.groups.filter((g) => !state.groups.get(g.group).hidden);
    if (!visible.length) box.append(el("p", "muted", t("review.no_groups")));
    for (const g of visible) box.append(groupSection(g));
    const hidden = state.data.groups.length - visible.length;
    $("marked").hidden = !hidden;
    $("marked").textContent = `${hidden} ${t("review.not_duplicates_done")}`;
    $("stats").textContent = `${visible.length} / ${state.data.groups.length}`;
    summarize();
    if (state.results) showResults(state.results.kind, state.results.items);
  }

  function groupSection(g) {
    const choice = state.groups.get(g.group);
    const section = el("section", "rgroup");
    section.dataset.group = g.group;
    const head = el("div", "rgroup-head");
    head.append(el("h3", "", `${t("review.group_n", { n: g.group })}`),
      el("span", "muted", `${g.members.length} ${t("review.images")}`));
    const notDupes = el("button", "not-dupes", t("review.not_duplicates"));
    notDupes.type = "button";
    notDupes.addEventListener("click", () => markNotDuplicates(g.group, notDupes));
    head.append(notDupes);
    const row = el("div", "rmembers");
    for (const m of g.members) row.append(memberCard(g, m, choice));
    section.append(head, row);
    return section;
  }

  function memberCard(g, m, choice) {
    const keeper = m.path === choice.keeper;
    const gone = state.gone.get(m.path);
    const card = el("figure", "rcard" + (keeper ? " keeper" : "") + (gone ? " gone" : ""));
    card.dataset.path = m.path;
    card.title = m.path;
    const frame = el("div", "rframe");
    const img = el("img");
    img.alt = basename(m.path);
    img.loading = "lazy";
    img.src = `${m.thumbnail_url}?w=320`;
    frame.append(img);
    if (keeper) frame.append(el("span", "badge", t("review.keeper")));
    if (gone) frame.append(el("span", "gone-tag", t(`review.gone_${gone}`)));
    const pick = el("label", "pick");
    const box = el("input", "pick-box");
    box.type = "checkbox";
    box.checked = !keeper && choice.checked.has(m.path);
    box.disabled = keeper || Boolean(gone);
    box.addEventListener("change", () => {
      if (box.checked) choice.checked.add(m.path); else choice.checked.delete(m.path);
      summarize();
    });
    pick.append(box, el("span", "file ellipsis", basename(m.path)));
    const meta = el("div", "rmeta muted small");
    const dims = m.width && m.height ? `${m.width}×${m.height}` : "–";
    if (m.method === "keeper") {  // the rule's choice: the others were measured against it
      meta.append(el("span", "sim", t("review.suggested")));
    } else {
      meta.append(el("span", "sim", `${t("review.similarity")} ${pct(m.similarity)}`),
        el("span", "", `${t("review.method")} ${m.method}`));
      if (m.relation) meta.append(el("span", "rel", m.relation[state.lang] || m.relation.en));
    }
    meta.append(el("span", "", `${dims} · ${size(m.bytes)}`));
    const path = el("div", "rpath small muted", m.path);
    card.append(frame, pick, meta, path);
    if (!keeper && !gone) {
      const swap = el("button", "make-keeper", t("review.make_keeper"));
      swap.type = "button";
      swap.addEventListener("click", () => {
        const old = choice.keeper;
        choice.keeper = m.path;
        choice.checked.delete(m.path);
        choice.checked.add(old); // the rule: every member but the keeper is checked
        render();
      });
      card.append(swap);
    }
    return card;
  }

  async function markNotDuplicates(number, button) {
    button.disabled = true;
    try {
      await call("/api/review/not-duplicates", { group: number }, auth);
      state.groups.get(number).hidden = true;
      render();
    } catch (err) {
      button.disabled = false;
      status(`${t("review.error")}: ${err.message}`, "error");
    }
  }

  // ---- acting -------------------------------------------------------------------------
  const action = () => document.querySelector('input[name="action"]:checked').value;
  document.querySelectorAll('input[name="action"]').forEach((r) =>
    r.addEventListener("change", () => { $("dest-row").hidden = action() !== "move"; }));

  function selection() {
    const groups = [];
    for (const g of state.data.groups) {
      const choice = state.groups.get(g.group);
      if (choice.hidden) continue;
      const selected = [...choice.checked].filter((p) => p !== choice.keeper && !state.gone.has(p));
      groups.push({ group: g.group, keeper: choice.keeper, selected });
    }
    return { action: action(), destination: $("destination").value.trim() || null, groups };
  }

  function summarize() {
    const sizes = new Map(state.data.groups.flatMap((g) => g.members.map((m) => [m.path, m.bytes])));
    const chosen = selection().groups.flatMap((g) => g.selected);
    const bytes = chosen.reduce((s, p) => s + (sizes.get(p) || 0), 0);
    $("selected-summary").textContent = `${t("review.selected")}: ${chosen.length} · ${size(bytes)}`;
  }

  let pending = null;
  $("act").addEventListener("click", async () => {
    status("");
    let answer;
    try {
      answer = await call("/api/review/plan", selection());
    } catch (err) {
      status(`${t("review.error")}: ${err.message}`, "error");
      return;
    }
    const s = answer.summary;
    if (!s.count) { status(t("review.nothing_selected"), "error"); return; }
    pending = selection();
    const kind = pending.action;
    $("confirm-text").textContent = t(`review.confirm_${kind}`, {
      n: s.count, size: size(s.bytes), dest: pending.destination,
    });
    $("confirm-warning").hidden = kind !== "delete";
    const list = $("confirm-files");
    list.replaceChildren();
    for (const f of s.files) {
      const li = el("li", "", f.path);
      li.append(el("span", "muted", ` · ${size(f.bytes)}` + (f.target ? ` → ${f.target}` : "")));
      list.append(li);
    }
    $("confirm").showModal();
  });
  $("confirm-cancel").addEventListener("click", () => { pending = null; $("confirm").close(); });

  $("confirm-ok").addEventListener("click", async () => {
    $("confirm").close();
    if (!pending) return;
    const body = pending;
    pending = null;
    status(t("review.working"), "busy");
    $("act").disabled = true;
    try {
      const answer = await call("/api/review/apply", body, auth);
      for (const r of answer.results) if (r.done) state.gone.set(r.path, r.action);
      state.results = { kind: "apply", items: answer.results };
      const done = answer.results.filter((r) => r.done).length;
      status(`${t("review.done_n", { done, n: answer.results.length })} · ${t("review.journal")}: ${answer.journal}`);
      $("undo").hidden = !answer.undoable;
      render();
    } catch (err) {
      status(`${t("review.error")}: ${err.message}`, "error");
    } finally {
      $("act").disabled = false;
    }
  });

  $("undo").addEventListener("click", async () => {
    status(t("review.working"), "busy");
    $("undo").disabled = true;
    try {
      const answer = await call("/api/review/undo", {}, auth);
      for (const r of answer.results) if (r.done) state.gone.delete(r.undo);
      state.results = { kind: "undo", items: answer.results };
      const done = answer.results.filter((r) => r.done).length;
      const lost = answer.results.some((r) => r.action === "delete");
      status(t("review.undo_done", { done }) + (lost ? ` · ${t("review.delete_warning")}` : ""),
        lost ? "error" : "");
      $("undo").hidden = !answer.undoable;
      render();
    } catch (err) {
      status(`${t("review.error")}: ${err.message}`, "error");
    } finally {
      $("undo").disabled = false;
    }
  });

  function showResults(kind, items) {
    const list = $("results");
    list.replaceChildren();
    list.hidden = !items.length;
    list.dataset.kind = kind;
    for (const r of items) {
      const path = kind === "undo" ? r.undo : r.path;
      const li = el("li", r.done ? "ok" : "skip");
      li.dataset.path = path;
      let note;
      if (kind === "undo" && r.action === "delete") note = t("review.cannot_restore");
      else if (r.done) note = kind === "undo" ? t("review.undo") : t(`review.gone_${r.action}`);
      else note = `${t("review.skipped")}: ${r.reason || r.error || ""}`;
      li.append(el("span", "file", path), el("span", "muted", ` · ${note}`));
      list.append(li);
    }
  }

  applyLanguage(state.lang);
  load().catch((err) => status(`${t("review.error")}: ${err.message}`, "error"));
})();
