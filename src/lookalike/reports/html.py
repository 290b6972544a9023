"""The duplicate report as one self-contained HTML file.

Everything is inline: thumbnails as base64 JPEG data URIs, the CSS, and a few lines of
plain JS (a path filter, for bilingual reports a language switch, and the selection: a
checkbox per copy, a "keep" choice per group, and "export plan", which downloads the
selection as a ``lookalike-plan`` version 1 JSON file built in the page from a Blob). The
file works opened from disk, offline, and can be mailed or archived as it is. Built with the
standard library; every path and reason goes through :func:`html.escape`, so a file
named ``<script>.jpg`` is shown, never run.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from html import escape
from pathlib import Path, PurePath

from lookalike.dupes.actions import scan_roots
from lookalike.dupes.records import DuplicateReport, Group, Member
from lookalike.reports.export import member_rows, ordered_members, report_totals
from lookalike.reports.labels import LABELS, check_lang, file_name, human_size, percent
from lookalike.reports.thumbnails import Thumbnail, make_thumbnails
from lookalike.sources.folders import MEMBER_SEP

#: Longest side of the embedded thumbnails: shown at 160 px, sharp when enlarged on hover.
THUMB_SIDE = 256

#: The selection's labels (the report's own, beside :data:`LABELS`).
_LABELS: dict[str, tuple[str, str]] = {
    **LABELS,
    "select": ("Select", "选中"),
    "keep_this": ("Keep this", "保留这张"),
    "selection": ("Selection", "选择"),
    "action_move": ("Move to a folder", "移动到文件夹"),
    "action_trash": ("Move to the trash", "移到回收站"),
    "action_delete": ("Delete", "删除"),
    "destination": ("Destination folder (absolute path)", "目标文件夹（绝对路径）"),
    "export_plan": ("Export plan", "导出计划"),
    "plan_hint": (
        "Checked copies go into the plan; apply it with lookalike.",
        "勾选的副本写入计划文件，再用 lookalike 执行。",
    ),
    "need_destination": ("Give the destination folder first.", "请先填写目标文件夹。"),
    "exported": ("Plan downloaded: {n} files.", "计划已下载：{n} 个文件。"),
}

_CSS = """
:root { --fg:#1f2328; --muted:#656d76; --line:#d8dee4; --bg:#f6f8fa; --card:#fff;
  --accent:#0969da; --keep:#1a7f37; --keep-bg:#dafbe1; --err:#cf222e; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB",
  "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
h1 { font-size: 24px; margin: 0 0 16px; }
h2 { font-size: 18px; margin: 32px 0 12px; }
.zh { color: inherit; }
h1 .zh, h2 .zh, th .zh, .label .zh, .stat .zh { color: var(--muted); font-weight: normal; }
body.only-en .zh, body.only-zh .en { display: none; }
.toolbar { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin: 0 0 16px; }
.toolbar input { font: inherit; padding: 6px 10px; min-width: 280px; border: 1px solid var(--line);
  border-radius: 6px; }
.toolbar button { font: inherit; padding: 4px 10px; border: 1px solid var(--line);
  background: var(--card); border-radius: 6px; cursor: pointer; }
.toolbar button.on { background: var(--accent); color: #fff; border-color: var(--accent); }
.summary { display: flex; gap: 12px; flex-wrap: wrap; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 16px; min-width: 140px; }
.stat b { display: block; font-size: 22px; }
.stat.bad b { color: var(--err); }
.group { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 12px 16px 16px; margin: 16px 0; }
.group h3 { margin: 0 0 12px; font-size: 15px; }
.group h3 .count { color: var(--muted); font-weight: normal; margin-left: 8px; }
.members { display: flex; flex-wrap: wrap; gap: 14px; }
.card { width: 200px; border: 1px solid var(--line); border-radius: 8px; padding: 8px;
  position: relative; background: var(--card); }
.card.keep { border: 2px solid var(--keep); background: #f6fff8; }
.thumb { height: 160px; display: flex; align-items: center; justify-content: center;
  background: repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0/16px 16px;
  border-radius: 4px; }
.thumb img { max-width: 100%; max-height: 160px; display: block; border-radius: 2px;
  transition: transform .15s ease, box-shadow .15s ease; transform-origin: center 30%;
  position: relative; }
.thumb img:hover { transform: scale(2.2); z-index: 10; box-shadow: 0 8px 28px rgba(0,0,0,.35); }
.members .card:first-child .thumb img { transform-origin: left 30%; }
.nopreview { color: var(--muted); font-size: 12px; }
.badge { position: absolute; top: -10px; left: 8px; background: var(--keep); color: #fff;
  font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; z-index: 5; }
.why { color: var(--keep); background: var(--keep-bg); border-radius: 4px; padding: 2px 6px;
  font-size: 12px; margin: 6px 0 0; }
.name { font-weight: 600; margin: 6px 0 0; word-break: break-all; }
.name a { color: inherit; text-decoration: none; }
.name a:hover { color: var(--accent); text-decoration: underline; }
.path { font: 11px/1.35 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  color: var(--muted); word-break: break-all; margin: 2px 0 6px; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 1px 8px; margin: 0; font-size: 12px; }
dt { color: var(--muted); }
dd { margin: 0; text-align: right; }
.meter { height: 4px; background: var(--line); border-radius: 2px; margin: 6px 0 0; }
.meter span { display: block; height: 100%; background: var(--accent); border-radius: 2px; }
code { font-size: 12px; }
table { border-collapse: collapse; background: var(--card); width: 100%; }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: var(--bg); }
td.p { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px;
  word-break: break-all; }
.empty { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
.hidden { display: none !important; }
.picks { display: flex; justify-content: space-between; gap: 6px; font-size: 12px;
  margin: 6px 0 0; }
.picks label { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; }
.plan { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 14px; margin: 0 0 16px; display: flex; gap: 10px; align-items: center;
  flex-wrap: wrap; }
.plan select, .plan input { font: inherit; padding: 4px 8px; border: 1px solid var(--line);
  border-radius: 6px; }
.plan input { min-width: 320px; }
.plan button { font: inherit; padding: 5px 14px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; border-radius: 6px; cursor: pointer; }
#plan-msg { color: var(--muted); }
"""

_JS = r"""
(function () {
  var box = document.getElementById('filter');
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase();
    document.querySelectorAll('.group').forEach(function (g) {
      var hit = !q || (g.getAttribute('data-paths') || '').indexOf(q) >= 0;
      g.classList.toggle('hidden', !hit);
    });
  });
  document.querySelectorAll('[data-lang]').forEach(function (b) {
    b.addEventListener('click', function () {
      var l = b.getAttribute('data-lang');
      document.body.classList.toggle('only-en', l === 'en');
      document.body.classList.toggle('only-zh', l === 'zh');
      document.querySelectorAll('[data-lang]').forEach(function (o) {
        o.classList.toggle('on', o === b);
      });
    });
  });
  // The selection: the keeper of a group is never selected; the rule checks the others.
  document.querySelectorAll('input.keep-radio').forEach(function (r) {
    r.addEventListener('change', function () {
      var group = r.closest('.group');
      group.querySelectorAll('.card').forEach(function (card) {
        var box = card.querySelector('input.pick');
        var keeper = card.querySelector('input.keep-radio').checked;
        card.classList.toggle('keep', keeper);
        if (!box.hasAttribute('data-archive')) box.disabled = keeper;
        if (keeper) box.checked = false;
        else if (card.getAttribute('data-was-keeper') === '1') box.checked = true;
        card.setAttribute('data-was-keeper', keeper ? '1' : '0');
      });
    });
  });
  var data = JSON.parse(document.getElementById('plan-bar').getAttribute('data-plan'));
  function relative(path) {
    var best = null;
    data.root_dirs.forEach(function (root) {
      var prefix = root.replace(/\/+$/, '') + '/';
      if (path.indexOf(prefix) === 0) {
        var rel = path.slice(prefix.length);
        if (best === null || rel.length < best.length) best = rel;
      }
    });
    return best !== null ? best : path.split('/').pop();
  }
  function plan() {
    var kind = document.getElementById('plan-action').value;
    var dest = document.getElementById('plan-dest').value.trim().replace(/\/+$/, '');
    if (kind === 'move' && dest.charAt(0) !== '/') return null;
    var actions = [];
    document.querySelectorAll('.group').forEach(function (group) {
      var n = Number(group.getAttribute('data-group'));
      var cards = Array.prototype.slice.call(group.querySelectorAll('.card'));
      var keeper = null;
      cards.forEach(function (c) { if (c.querySelector('input.keep-radio').checked) keeper = c; });
      if (keeper) cards = [keeper].concat(cards.filter(function (c) { return c !== keeper; }));
      var kpath = keeper ? keeper.getAttribute('data-path') : null;
      var kdigest = keeper ? (keeper.getAttribute('data-digest') || null) : null;
      cards.forEach(function (c) {
        var path = c.getAttribute('data-path');
        var box = c.querySelector('input.pick');
        var act = 'keep', reason = 'not selected';
        if (c === keeper) reason = 'keeper';
        else if (box.hasAttribute('data-archive')) reason = 'inside an archive';
        else if (box.checked && keeper) {
          act = kind;
          reason = 'copy of the keeper (' + c.getAttribute('data-method') + ', ' +
            (100 * Number(c.getAttribute('data-similarity'))).toFixed(1) + '%)';
        }
        actions.push({
          action: act, path: path, digest: c.getAttribute('data-digest') || null,
          keeper: kpath, keeper_digest: kdigest,
          target: act === 'move' ? dest + '/' + relative(path) : null,
          group: n, reason: reason
        });
      });
    });
    return { format: 'lookalike-plan', version: 1, created: new Date().toISOString(),
      roots: data.roots, actions: actions };
  }
  var msg = document.getElementById('plan-msg');
  document.getElementById('plan-action').addEventListener('change', function (e) {
    document.getElementById('plan-dest').classList.toggle('hidden', e.target.value !== 'move');
  });
  document.getElementById('export-plan').addEventListener('click', function () {
    var p = plan();
    if (!p) { msg.textContent = msg.getAttribute('data-need-destination'); return; }
    var blob = new Blob([JSON.stringify(p, null, 1)], { type: 'application/json' });
    var a = document.createElement('a');
    var stamp = p.created.replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    a.href = URL.createObjectURL(blob);
    a.download = 'lookalike-plan-' + stamp + '.json';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
    var n = p.actions.filter(function (x) { return x.action !== 'keep'; }).length;
    msg.textContent = msg.getAttribute('data-exported').replace('{n}', n);
  });
})();
"""


def _l(key: str, lang: str, **fmt: object) -> str:
    """A label as markup: one or both languages, each in a span the language switch hides."""
    en, zh = (escape(s.format(**fmt)) for s in _LABELS[key])
    if lang == "en":
        return en
    if lang == "zh":
        return zh
    return f'<span class="en">{en}</span> <span class="zh" lang="zh-CN">{zh}</span>'


def _both(en: str, zh: str, lang: str) -> str:
    """Text in one or both languages, as :func:`_l` shows labels."""
    if lang == "en":
        return escape(en)
    if lang == "zh":
        return escape(zh)
    return f'<span class="en">{escape(en)}</span> <span class="zh" lang="zh-CN">{escape(zh)}</span>'


def _file_href(path: str) -> str | None:
    """A file:// link to an absolute local path (opens the original), else None."""
    try:
        p = PurePath(path)
        return Path(path).as_uri() if p.is_absolute() and os.path.exists(path) else None
    except (ValueError, OSError):
        return None


def _card(
    member: Member,
    group: Group,
    keeper: bool,
    thumb: Thumbnail | None,
    lang: str,
    number: int = 0,
    digest: str | None = None,
) -> str:
    name, path = escape(file_name(member.path)), escape(member.path)
    if thumb:
        uri = "data:image/jpeg;base64," + base64.b64encode(thumb.data).decode("ascii")
        image = (
            f'<img src="{uri}" alt="{name}" width="{thumb.width}" '
            f'height="{thumb.height}" loading="lazy">'
        )
    else:
        image = f'<span class="nopreview">{_l("no_preview", lang)}</span>'
    width, height = member.width, member.height
    if not (width and height) and thumb:
        width, height = thumb.source_width, thumb.source_height
    dims = f"{width} × {height}" if width and height else "–"
    href = _file_href(member.path)
    title = f'<a href="{escape(href)}" title="{path}">{name}</a>' if href else name
    sim = max(0.0, min(1.0, member.similarity))
    rows = [
        ("similarity", f"<b>{percent(member.similarity)}</b>"),
        *(
            [("relation", _both(member.relation.words("en"), member.relation.words("zh"), lang))]
            if member.relation is not None
            else []
        ),
        ("method", f"<code>{escape(member.method)}</code>"),
        ("dimensions", dims),
        ("size", escape(human_size(member.bytes)) if member.bytes else "–"),
    ]
    archive = MEMBER_SEP in member.path
    box = "".join(
        (
            '<input type="checkbox" class="pick"',
            " checked" if not keeper and not archive else "",
            " disabled" if keeper or archive else "",
            " data-archive" if archive else "",
            ">",
        )
    )
    radio = (
        f'<input type="radio" class="keep-radio" name="keep-g{number}"'
        f"{' checked' if keeper else ''}>"
    )
    picks = (
        f'<div class="picks"><label>{box}{_l("select", lang)}</label>'
        f"<label>{radio}{_l('keep_this', lang)}</label></div>"
    )
    parts = [
        f'<figure class="card{" keep" if keeper else ""}" style="margin:0" data-path="{path}"'
        f' data-digest="{escape(digest or "")}" data-method="{escape(member.method)}"'
        f' data-similarity="{member.similarity:.4f}" data-was-keeper="{1 if keeper else 0}">',
        f'<span class="badge">{_l("keep", lang)}</span>' if keeper else "",
        f'<div class="thumb">{image}</div>',
        f'<div class="name">{title}</div><div class="path">{path}</div>',
        "<dl>"
        + "".join(f'<dt class="label">{_l(k, lang)}</dt><dd>{v}</dd>' for k, v in rows)
        + "</dl>",
        f'<div class="meter"><span style="width:{sim * 100:.1f}%"></span></div>',
        picks,
        f'<div class="why">{_l("keeper", lang)}: {escape(group.reason)}</div>' if keeper else "",
        "</figure>",
    ]
    return "".join(parts)


def render_html(
    report: DuplicateReport,
    *,
    lang: str = "both",
    title: str | None = None,
    thumb_side: int = THUMB_SIDE,
    roots: list[str] | None = None,
) -> str:
    """The report as one HTML document (a string); see :func:`write_html`.

    ``roots``: the scanned paths, written into exported plans (and used for the relative
    paths under a move's destination); by default the folder that holds every member.
    """
    check_lang(lang)
    members = member_rows(report)
    thumbs = make_thumbnails([r.member.path for r in members], thumb_side)
    thumb_of = {r.member.path: t for r, t in zip(members, thumbs, strict=True)}
    totals = report_totals(report)
    doc_lang = "zh-CN" if lang == "zh" else "en"
    heading = escape(title) if title else _l("title", lang)

    out = [
        "<!DOCTYPE html>",
        f'<html lang="{doc_lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title or _plain('title', lang))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{heading}</h1>",
        '<div class="summary">',
    ]
    for key in ("scanned", "groups", "copies", "reclaim", "errors"):
        value = human_size(totals[key]) if key == "reclaim" else str(totals[key])
        bad = " bad" if key == "errors" and totals[key] else ""
        out.append(f'<div class="stat{bad}"><b>{escape(value)}</b>{_l(key, lang)}</div>')
    out.append("</div>")

    out.append(f'<h2>{_l("groups", lang)}</h2><div class="toolbar">')
    out.append(
        f'<input id="filter" type="search" placeholder="{escape(_plain("filter", lang))}"'
        f' aria-label="{escape(_plain("filter", lang))}">'
    )
    if lang == "both":
        out.append(
            f'<span class="label">{_l("language", lang)}:</span>'
            '<button data-lang="both" class="on">EN + 中文</button>'
            '<button data-lang="en">EN</button><button data-lang="zh">中文</button>'
        )
    out.append("</div>")
    out.append(_plan_bar(report, roots, lang))

    if not report.groups:
        out.append(f'<p class="empty">{_l("no_groups", lang)}</p>')
    for n, group in enumerate(report.groups, 1):
        ordered = ordered_members(group)
        paths = escape(" ".join(m.path for m in ordered).lower())
        out.append(f'<section class="group" id="g{n}" data-group="{n}" data-paths="{paths}">')
        out.append(
            f"<h3>{_l('group_n', lang, n=n)}"
            f'<span class="count">{_l("images_n", lang, n=len(ordered))}</span></h3>'
        )
        out.append('<div class="members">')
        for k, m in enumerate(ordered):
            keeper = k == 0 and m.path == group.keep
            digest = report.digests.get(m.path)
            out.append(_card(m, group, keeper, thumb_of.get(m.path), lang, n, digest))
        out.append("</div></section>")

    out.append(f"<h2>{_l('errors', lang)} ({len(report.errors)})</h2>")
    if report.errors:
        out.append(
            f'<table class="errors"><thead><tr><th>{_l("path", lang)}</th>'
            f"<th>{_l('reason', lang)}</th></tr></thead><tbody>"
        )
        out.extend(
            f'<tr><td class="p">{escape(e.path)}</td><td>{escape(e.reason)}</td></tr>'
            for e in report.errors
        )
        out.append("</tbody></table>")
    else:
        out.append('<p class="empty">–</p>')

    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    out.append(f"<footer>{_l('generated', lang)} · {stamp}</footer>")
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out)


def _default_roots(report: DuplicateReport) -> list[str]:
    """The folder holding every member (the scanned roots are not in the report)."""
    folders = [
        os.path.dirname(m.path.split(MEMBER_SEP)[0]) for g in report.groups for m in g.members
    ]
    try:
        return [os.path.commonpath(folders)] if folders else []
    except ValueError:  # mixed drives or relative and absolute paths
        return sorted(set(folders))


def _plan_bar(report: DuplicateReport, roots: list[str] | None, lang: str) -> str:
    """The selection's toolbar (action, destination, export) and its data for the script."""
    given = [os.path.abspath(r) for r in roots] if roots else _default_roots(report)
    data = {"roots": given, "root_dirs": scan_roots(given) if roots else given}
    payload = escape(json.dumps(data, ensure_ascii=False))  # an attribute: escaped
    options = "".join(
        f'<option value="{k}">{escape(_plain("action_" + k, lang))}</option>'
        for k in ("move", "trash", "delete")
    )
    return (
        f'<div class="plan" id="plan-bar" data-plan="{payload}"><b>{_l("selection", lang)}</b>'
        f'<select id="plan-action" aria-label="{escape(_plain("selection", lang))}">{options}'
        "</select>"
        f'<input id="plan-dest" type="text" placeholder="{escape(_plain("destination", lang))}"'
        f' aria-label="{escape(_plain("destination", lang))}">'
        f'<button type="button" id="export-plan">{_l("export_plan", lang)}</button>'
        f'<span id="plan-msg" data-need-destination="{escape(_plain("need_destination", lang))}"'
        f' data-exported="{escape(_plain("exported", lang))}">{_l("plan_hint", lang)}</span>'
        "</div>"
    )


def _plain(key: str, lang: str) -> str:
    """A label as plain text (for attributes and the window title)."""
    en, zh = _LABELS[key]
    return {"en": en, "zh": zh}.get(lang, f"{en} {zh}")


def write_html(
    report: DuplicateReport,
    path: str | os.PathLike[str],
    *,
    lang: str = "both",
    title: str | None = None,
    roots: list[str] | None = None,
) -> None:
    """Write the duplicate report as one self-contained HTML file (UTF-8, no network needed).

    It shows the summary, every group side by side (thumbnail, name, path, dimensions,
    size, similarity, deciding method, a "keep" badge with the reason on the suggested
    keeper; thumbnails enlarge on hover), then the errors. ``lang``: "en", "zh" or "both"
    (labels side by side, with a switch in the page). Each copy has a checkbox (preselected:
    every member but the keeper) and each group a keep choice; "export plan" downloads them
    as a ``lookalike-plan`` file. ``roots``: the scanned paths named in that plan.
    """
    text = render_html(report, lang=lang, title=title, roots=roots)
    Path(path).write_text(text, encoding="utf-8")
