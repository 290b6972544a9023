"""``lookalike train PATH...``: train or fine-tune the copy-detection model on your own images."""

from __future__ import annotations

import argparse
import os
import sys

from lookalike.cli.arguments import add_jobs, positive
from lookalike.cli.output import error
from lookalike.errors import LookalikeError, require


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train",
        help="train the embed model on your images (self-supervised) / 训练嵌入模型",
        description="Self-supervised training of the copy-detection CNN on the images under "
        "PATH (no labels): two edited views of each picture (crops, pastes, borders, "
        "rotations, JPEG, colour) must match each other and no other picture. Starts from "
        "the shipped model unless --init scratch; mixes in drawn pictures (dead leaves, "
        "charts). Writes DIR/model.onnx (use it with --model), DIR/weights.npz and "
        "DIR/recipe.json. Needs torch: pip install 'lookalike[train]'. Uses the GPU "
        "when torch sees one. 用自己的图片自监督训练（无需标注），输出 ONNX 模型。",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="folders or files of images")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the model")
    p.add_argument("--steps", type=positive, default=2000, help="training steps (default 2000)")
    p.add_argument(
        "--minutes", type=float, default=0.0, help="stop after this much time (0: no limit)"
    )
    p.add_argument("--batch", type=positive, default=128, help="pictures per step (default 128)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--device", default="auto", help="auto (GPU if any), cpu, cuda, cuda:N")
    p.add_argument(
        "--init",
        default="default",
        metavar="default|scratch|FILE.npz",
        help="start from the shipped model (default), from nothing, or from weights.npz",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--charts", type=int, default=4000, help="charts and text pages drawn for the mix"
    )
    add_jobs(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lookalike.models import default_weights
    from lookalike.training.data import image_paths, load_store
    from lookalike.training.loop import TrainConfig, train

    try:  # before any picture is read
        require("torch", "train")
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        print(f"lookalike: --out {args.out}: not a folder", file=sys.stderr)
        return 2
    init = {"default": default_weights(), "scratch": ""}.get(args.init, args.init)
    if init and not os.path.isfile(init):
        print(f"lookalike: --init {init}: no such weights file", file=sys.stderr)
        return 2
    paths, failures = image_paths(args.paths)
    for failure in failures:
        error(failure.path, failure.reason)
    print(f"reading {len(paths)} images 读取图片…", file=sys.stderr)
    store = load_store(paths, jobs=args.jobs or None)
    for failure in store.failures:
        error(failure.path, failure.reason)
    fine_tune = bool(init)
    config = TrainConfig(
        out=args.out,
        steps=args.steps,
        minutes=args.minutes,
        batch=args.batch,
        lr=args.lr if args.lr is not None else (5e-4 if fine_tune else 2e-3),
        warmup=min(200, max(1, args.steps // 10)),
        store_share=0.65 if len(store.paths) else 0.0,
        charts=args.charts,
        seed=args.seed,
        device=args.device,
        init=init,
        log_every=max(1, min(50, args.steps // 20)),
        jobs=args.jobs,
    )
    try:
        result = train(config, store, log=lambda line: print(line, file=sys.stderr))
    except LookalikeError as exc:
        print(f"lookalike: {exc}", file=sys.stderr)
        return 2
    with open(os.path.join(args.out, "data.tsv"), "w", encoding="utf-8") as fh:
        fh.write("path\tsha256\n")
        for path, digest in zip(store.paths, store.digests, strict=True):
            fh.write(f"{path}\t{digest}\n")
    print(
        f"{result.steps} steps in {result.seconds:.0f} s on {result.device}, loss "
        f"{result.loss:.3f}; model 模型: {result.onnx}\n"
        f"use it: lookalike dupes PATH --model {result.onnx}"
    )
    return 1 if failures or store.failures else 0
