"""The cluster report: one self-contained HTML page of thumbnails per cluster, and a CSV.

Like the duplicate report (:mod:`lookalike.reports.html`): thumbnails are base64 JPEG data
URIs made by :func:`~lookalike.reports.thumbnails.make_thumbnails`, every label comes from
:mod:`lookalike.reports.labels` in English, Chinese or both, every path and reason goes
through :func:`html.escape`, and files are written atomically. The CSV has one row per
image: ``path,cluster,representative`` (cluster empty for noise; representative is the
picture whose descriptor placed it, itself or the keeper of its duplicate group).
"""

from __future__ import annotations

import base64
import csv
import os
from datetime import datetime
from html import escape

from lookalike.cluster import ClusterReport
from lookalike.reports.labels import LABELS, check_lang, file_name
from lookalike.reports.thumbnails import Thumbnail, make_thumbnails
from lookalike.store.atomic import atomic_write

#: Longest side of the embedded thumbnails.
THUMB_SIDE = 160
#: Thumbnails shown per cluster, at most (the CSV and JSON list every member).
SHOWN = 60

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{margin:0 0 8px}.summary{color:#57606a;margin-bottom:16px}
section{border:1px solid #d0d7de;border-radius:8px;margin:16px 0;padding:12px}
h2{font-size:16px;margin:0 0 8px}.count{color:#57606a;font-weight:normal;margin-left:8px}
.grid{display:flex;flex-wrap:wrap;gap:8px}
figure{margin:0;width:164px;font-size:12px}
figure img{max-width:160px;max-height:160px;display:block;border-radius:4px}
figure.copy img{opacity:.8;outline:2px dashed #bf8700}
figcaption{word-break:break-all;color:#57606a}
.nopreview{display:block;width:160px;height:90px;background:#f6f8fa;color:#57606a;
text-align:center;line-height:90px}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
footer{color:#57606a;margin-top:24px;font-size:12px}
"""


def _l(key: str, lang: str, **fmt: object) -> str:
    en, zh = (escape(s.format(**fmt)) for s in LABELS[key])
    return {"en": en, "zh": zh}.get(lang, f'{en} <span lang="zh-CN">{zh}</span>')


def _figure(path: str, thumb: Thumbnail | None, copy_of: str | None, lang: str) -> str:
    name = escape(file_name(path))
    if thumb:
        uri = "data:image/jpeg;base64," + base64.b64encode(thumb.data).decode("ascii")
        image = f'<img src="{uri}" alt="{name}" width="{thumb.width}" height="{thumb.height}">'
    else:
        image = f'<span class="nopreview">{_l("no_preview", lang)}</span>'
    note = f"<br>{_l('copy_of', lang, name=file_name(copy_of))}" if copy_of is not None else ""
    cls = ' class="copy"' if copy_of is not None else ""
    return (
        f'<figure{cls} title="{escape(path)}">{image}<figcaption>{name}{note}</figcaption></figure>'
    )


def render_cluster_html(report: ClusterReport, *, lang: str = "both") -> str:
    """The cluster report as one HTML document (a string)."""
    check_lang(lang)
    shown: list[tuple[str, str | None]] = []
    for c in report.clusters:
        copy_of = {p: r for r, ps in c.copies.items() for p in ps}
        shown += [(p, copy_of.get(p)) for p in c.members[:SHOWN]]
    shown += [(p, None) for p in report.noise[:SHOWN]]
    thumbs = make_thumbnails([p for p, _ in shown], THUMB_SIDE)
    thumb_of = {p: t for (p, _), t in zip(shown, thumbs, strict=True)}
    doc_lang = "zh-CN" if lang == "zh" else "en"
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{doc_lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(LABELS['cluster_title'][0])}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_l('cluster_title', lang)}</h1>",
        '<div class="summary">',
        f"{_l('images_n', lang, n=report.images)} · "
        f"{_l('clusters_n', lang, n=len(report.clusters))} · "
        f"{_l('descriptor', lang)}: <code>{escape(report.descriptor)}</code> · "
        f"{_l('representatives_n', lang, n=report.representatives)} · k = {report.k}",
        "</div>",
    ]
    for c in report.clusters:
        copy_of = {p: r for r, ps in c.copies.items() for p in ps}
        out.append(f'<section id="c{c.id}"><h2>{_l("cluster_n", lang, n=c.id)}')
        out.append(f'<span class="count">{_l("images_n", lang, n=len(c.members))}</span></h2>')
        out.append('<div class="grid">')
        out += [_figure(p, thumb_of.get(p), copy_of.get(p), lang) for p in c.members[:SHOWN]]
        out.append("</div></section>")
    out.append(f'<section id="noise"><h2>{_l("noise", lang)}')
    out.append(f'<span class="count">{_l("images_n", lang, n=len(report.noise))}</span></h2>')
    out.append('<div class="grid">')
    out += [_figure(p, thumb_of.get(p), None, lang) for p in report.noise[:SHOWN]]
    out.append("</div></section>")
    out.append(f"<h2>{_l('errors', lang)} ({len(report.failures)})</h2>")
    if report.failures:
        out.append(
            f"<table><thead><tr><th>{_l('path', lang)}</th><th>{_l('reason', lang)}</th>"
            "</tr></thead><tbody>"
        )
        out += [
            f"<tr><td>{escape(f.path)}</td><td>{escape(f.reason)}</td></tr>"
            for f in report.failures
        ]
        out.append("</tbody></table>")
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    out.append(f"<footer>{_l('generated', lang)} · {stamp}</footer></body></html>")
    return "\n".join(out)


def write_cluster_html(
    report: ClusterReport, path: str | os.PathLike[str], *, lang: str = "both"
) -> None:
    """Write the cluster report as one self-contained HTML file (UTF-8)."""
    text = render_cluster_html(report, lang=lang)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def write_cluster_csv(report: ClusterReport, path: str | os.PathLike[str]) -> None:
    """One row per image: path, cluster id (empty for noise), representative."""
    rep_of: dict[str, str] = {}
    for c in report.clusters:
        for p in c.members:
            rep_of[p] = p
        for r, ps in c.copies.items():
            rep_of.update(dict.fromkeys(ps, r))
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "cluster", "representative"])
        for p, cid in report.assignments():
            w.writerow([p, "" if cid is None else cid, rep_of.get(p, p)])
