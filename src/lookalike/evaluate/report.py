"""Present an evaluation: the terminal table, a markdown report and PNG plots.

Plots need matplotlib (the ``eval`` extra); without it they are skipped with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def summary_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the per-method summary (µAP, recall@p99, by family, cost)."""
    fams = list(dict.fromkeys(f for r in report["methods"].values() for f in r.get("families", {})))
    headers = ["method", "µAP", "R@P99", "thr@P99", "AUC"]
    for f in fams:
        headers += [f"µAP {f}", f"R@P99 {f}"]
    headers += ["P/R at default", "ms/img", "scored"]
    rows = []
    for name, r in report["methods"].items():
        row = [name, _f(r["uap"]), _f(r["recall_at_p99"]), _f(r["threshold_at_p99"]), _f(r["auc"])]
        for f in fams:
            sub = r["families"].get(f, {})
            row += [_f(sub.get("uap")), _f(sub.get("recall_at_p99"))]
        d = r.get("at_default")
        row.append(f"{d['precision']:.3f}/{d['recall']:.3f}" if d else "-")
        row.append(_f(r.get("ms_per_image"), 1) if r["kind"] != "cascade" else "-")
        row.append(r["scoring"])
        rows.append(row)
    return headers, rows


def attack_rows(
    report: dict[str, Any], key: str = "per_attack", value: str = "recall"
) -> tuple[list[str], list[list[str]]]:
    """Recall per attack (rows) and method (columns): ``value`` "recall" at each method's
    global P99 threshold, "recall_at_default" at its default "similar" threshold."""
    names = list(report["methods"])
    attacks = list(dict.fromkeys(a for r in report["methods"].values() for a in r[key]))
    rows = [
        [a, *(_f(report["methods"][n][key].get(a, {}).get(value), 2) for n in names)]
        for a in attacks
    ]
    return [key.removeprefix("per_"), *names], rows


def engine_candidate_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The engine's candidate recall per attack (rows), without and with the region codes,
    then what the engine reaches through chains of candidates between copies of one
    picture, and the candidates per image (the last row); no rows when not measured."""
    ec = report.get("engine_candidates")
    if not ec:
        return ["attack"], []
    labels = [k for k in ("without_regions", "engine") if k in ec]
    reach = "engine" if "reachable_per_attack" in ec.get("engine", {}) else None
    attacks = list(dict.fromkeys(a for k in labels for a in ec[k]["per_attack"]))
    rows = [
        [
            a,
            *(_f(ec[k]["per_attack"].get(a), 3) for k in labels),
            *([_f(ec[reach]["reachable_per_attack"].get(a), 3)] if reach else []),
        ]
        for a in attacks
    ]
    rows.append(
        [
            "all",
            *(_f(ec[k]["recall"], 3) for k in labels),
            *([_f(ec[reach]["reachable"], 3)] if reach else []),
        ]
    )
    rows.append(
        [
            "candidates per image",
            *(_f(ec[k]["candidates_per_image"], 1) for k in labels),
            *([""] if reach else []),
        ]
    )
    headers = [f"candidate recall, {k.replace('_', ' ')}" for k in labels]
    if reach:
        headers.append("reached through copies")
    return ["attack", *headers], rows


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(report: dict[str, Any], title: str = "Evaluation") -> str:
    """The whole report as markdown: summary, per attack, per severity, hard negatives."""
    parts = [
        f"# {title}",
        "",
        f"Benchmark `{report['benchmark']}`: {report['queries']} queries, "
        f"{report['references']} references, {report['positives']} ground-truth pairs; "
        f"shortlist for costly methods: top {report['candidates_per_shortlist']} per "
        f"shortlist method (recall of the shortlist: {_f(report['candidate_recall'])}); "
        f"{report['seconds']:.0f} s.",
        "",
        "## Summary",
        "",
        markdown_table(*summary_rows(report)),
        "",
        "## Recall per attack at each method's P99 threshold",
        "",
        markdown_table(*attack_rows(report)),
        "",
        "## Recall per attack at each method's default threshold (its own verdict)",
        "",
        markdown_table(*attack_rows(report, value="recall_at_default")),
        "",
        "## Recall per severity at each method's P99 threshold",
        "",
        markdown_table(*attack_rows(report, "per_severity")),
    ]
    headers, rows = engine_candidate_rows(report)
    if rows:
        parts += [
            "",
            "## Candidate recall of the matching engine (before verification)",
            "",
            "The share of ground-truth pairs `lookalike.match.engine.candidate_pairs` proposes "
            "over all the images at once (as `dupes`), without and with the region codes.",
            "",
            markdown_table(headers, rows),
        ]
    hard = {n: r["hard_negatives"] for n, r in report["methods"].items() if "hard_negatives" in r}
    if hard:
        parts += [
            "",
            "## Hard negatives (look-alikes that are not copies)",
            "",
            markdown_table(
                ["method", "pairs", "max similarity", "above P99 thr", "above default"],
                [
                    [
                        n,
                        str(h["n"]),
                        _f(h["max_similarity"]),
                        str(
                            h["above_p99_threshold"]
                            if h["above_p99_threshold"] is not None
                            else "-"
                        ),
                        str(h["above_default"]),
                    ]
                    for n, h in hard.items()
                ],
            ),
        ]
    if report.get("skipped"):
        parts += [
            "",
            "Skipped methods: " + "; ".join(f"{k} ({v})" for k, v in report["skipped"].items()),
        ]
    return "\n".join(parts) + "\n"


def plots(report: dict[str, Any], out: Path) -> list[Path] | str:
    """Precision-recall curves and a recall-per-attack heat map as PNGs in ``out``;
    a note (str) instead when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install 'lookalike[eval]'): plots skipped"
    written = []
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, (p, r) in report["_curves"].items():
        if len(p):
            ax.plot(r, p, label=f"{name} (µAP {report['methods'][name]['uap']:.2f})",
                    lw=2.5 if name == "cascade" else 1.2)  # fmt: skip
    ax.axhline(0.99, color="grey", ls=":", lw=1)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01),
           title="Precision-recall, all queries pooled")  # fmt: skip
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path = out / "pr_curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    headers, rows = attack_rows(report)
    data = np.array([[np.nan if c == "-" else float(c) for c in row[1:]] for row in rows])
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(headers), 0.6 + 0.35 * len(rows)))
    im = ax.imshow(data, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(headers) - 1), headers[1:], rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    for (i, j), v in np.ndenumerate(data):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if v > 0.6 else "white")  # fmt: skip
    fig.colorbar(im, ax=ax, label="recall at the method's P99 threshold")
    ax.set_title("Recall per attack")
    fig.tight_layout()
    path = out / "recall_per_attack.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written
