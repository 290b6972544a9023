"""The duplicate report as one self-contained HTML file.

Everything is inline: thumbnails as base64 JPEG data URIs, the CSS, and a few lines of
plain JS (a path filter and, for bilingual reports, a language switch). The file works
opened from disk, offline, and can be mailed or archived as it is. Built with the
standard library; every path and reason goes through :func:`html.escape`, so a file
named ``<script>.jpg`` is shown, never run.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from html import escape
from pathlib import Path, PurePath

from lookalike.dupes.records import DuplicateReport, Group, Member
from lookalike.reports.export import member_rows, ordered_members, report_totals
from lookalike.reports.labels import LABELS, check_lang, file_name, human_size, percent
from lookalike.reports.thumbnails import Thumbnail, make_thumbnails

#: Longest side of the embedded thumbnails: shown at 160 px, sharp when enlarged on hover.
THUMB_SIDE = 256

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
"""

_JS = """
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
})();
"""


def _l(key: str, lang: str, **fmt: object) -> str:
    """A label as markup: one or both languages, each in a span the language switch hides."""
    en, zh = (escape(s.format(**fmt)) for s in LABELS[key])
    if lang == "en":
        return en
    if lang == "zh":
        return zh
    return f'<span class="en">{en}</span> <span class="zh" lang="zh-CN">{zh}</span>'


def _file_href(path: str) -> str | None:
    """A file:// link to an absolute local path (opens the original), else None."""
    try:
        p = PurePath(path)
        return Path(path).as_uri() if p.is_absolute() and os.path.exists(path) else None
    except (ValueError, OSError):
        return None


def _card(member: Member, group: Group, keeper: bool, thumb: Thumbnail | None, lang: str) -> str:
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
        ("method", f"<code>{escape(member.method)}</code>"),
        ("dimensions", dims),
        ("size", escape(human_size(member.bytes)) if member.bytes else "–"),
    ]
    parts = [
        f'<figure class="card{" keep" if keeper else ""}" style="margin:0">',
        f'<span class="badge">{_l("keep", lang)}</span>' if keeper else "",
        f'<div class="thumb">{image}</div>',
        f'<div class="name">{title}</div><div class="path">{path}</div>',
        "<dl>"
        + "".join(f'<dt class="label">{_l(k, lang)}</dt><dd>{v}</dd>' for k, v in rows)
        + "</dl>",
        f'<div class="meter"><span style="width:{sim * 100:.1f}%"></span></div>',
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
) -> str:
    """The report as one HTML document (a string); see :func:`write_html`."""
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

    if not report.groups:
        out.append(f'<p class="empty">{_l("no_groups", lang)}</p>')
    for n, group in enumerate(report.groups, 1):
        ordered = ordered_members(group)
        paths = escape(" ".join(m.path for m in ordered).lower())
        out.append(f'<section class="group" id="g{n}" data-paths="{paths}">')
        out.append(
            f"<h3>{_l('group_n', lang, n=n)}"
            f'<span class="count">{_l("images_n", lang, n=len(ordered))}</span></h3>'
        )
        out.append('<div class="members">')
        for k, m in enumerate(ordered):
            keeper = k == 0 and m.path == group.keep
            out.append(_card(m, group, keeper, thumb_of.get(m.path), lang))
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


def _plain(key: str, lang: str) -> str:
    """A label as plain text (for attributes and the window title)."""
    en, zh = LABELS[key]
    return {"en": en, "zh": zh}.get(lang, f"{en} {zh}")


def write_html(
    report: DuplicateReport,
    path: str | os.PathLike[str],
    *,
    lang: str = "both",
    title: str | None = None,
) -> None:
    """Write the duplicate report as one self-contained HTML file (UTF-8, no network needed).

    It shows the summary, every group side by side (thumbnail, name, path, dimensions,
    size, similarity, deciding method, a "keep" badge with the reason on the suggested
    keeper; thumbnails enlarge on hover), then the errors. ``lang``: "en", "zh" or "both"
    (labels side by side, with a switch in the page).
    """
    text = render_html(report, lang=lang, title=title)
    Path(path).write_text(text, encoding="utf-8")
