"""Train the seal Siamese network on generated seals, export it to ONNX, calibrate it.

    python -m lookalike.seals.train --out src/lookalike/seals/seal_siamese.onnx --seed 0

Needs torch (the ``deep`` extra); the rest of lookalike never does. Steps:

1. pre-render impressions of training designs (seeds 0 .. --designs - 1) with worker
   processes: --genuine impressions of each design and 2 impressions of one forgery of
   each kind, all as INPUT_SIZE ink maps (uint8);
2. train a small CNN (about 280 k weights) for --minutes of CPU time: batches of 32
   designs x (2 genuine + 2 impressions of one forgery), a logistic loss on the cosine
   of every pair in the batch; a forgery of a design is a different seal, and those
   pairs (the hard negatives) weigh --hard times more than pairs of other designs;
3. export to ONNX (input "ink" N x 1 x 96 x 96, output "descriptor" N x 128, L2-normalised);
4. calibrate: the EER thresholds of the Siamese score and of the baseline on validation
   designs (seeds from VALIDATION_SEEDS, never trained on), written to the JSON beside the
   model (the Siamese threshold is read from there; the baseline's is printed, to be put
   in baseline.THRESHOLD).
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.seals import baseline, siamese
from lookalike.seals.generate import (
    FORGERY_KINDS,
    VALIDATION_SEEDS,
    design,
    forgery,
    impression,
    trial_pairs,
)
from lookalike.seals.rates import equal_error_rate


def _render_design(job: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Ink maps (uint8) of one training design and kind indices (0 = genuine)."""
    seed, genuine = job
    rng = np.random.default_rng([seed, 2])
    seal = design(seed)
    seals = [seal] * genuine
    kinds = [0] * genuine
    for k, kind in enumerate(FORGERY_KINDS, start=1):
        fake = forgery(seal, rng, kind)
        seals += [fake, fake]
        kinds += [k, k]
    maps = [siamese.prepare(impression(s, rng))[0] for s in seals]
    return (np.stack(maps) * 255).round().astype(np.uint8), np.array(kinds, np.int16)


def render_training_set(designs: int, genuine: int, jobs: int) -> dict[str, np.ndarray]:
    """x (N, S, S) uint8, design (N), kind (N) for training seeds 0 .. designs - 1."""
    with Pool(jobs) as pool:
        parts = pool.map(_render_design, [(s, genuine) for s in range(designs)], chunksize=8)
    x = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    ids = np.concatenate([np.full(len(p[1]), i, np.int32) for i, p in enumerate(parts)])
    return {"x": x, "design": ids, "kind": kind}


def build_model() -> Any:
    """The descriptor network (torch): 6 conv layers, a 1x1 squeeze, a 128-d projection."""
    from torch import nn

    def block(cin: int, cout: int, k: int = 3) -> list[nn.Module]:
        return [
            nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        ]

    s = siamese.INPUT_SIZE // 16
    return nn.Sequential(
        *block(1, 16),
        nn.MaxPool2d(2),
        *block(16, 32),
        nn.MaxPool2d(2),
        *block(32, 48),
        *block(48, 48),
        nn.MaxPool2d(2),
        *block(48, 96),
        nn.MaxPool2d(2),
        *block(96, 96),
        *block(96, 24, 1),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(24 * s * s, 128),
    )


def _batch(
    data: dict[str, np.ndarray],
    index: dict[tuple[int, int], np.ndarray],
    rng: np.random.Generator,
    designs: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of a batch, their seal identity (design * 8 + kind) and design."""
    rows = []
    for d in rng.choice(designs, size=32, replace=False):
        rows += list(rng.choice(index[(int(d), 0)], size=2, replace=False))
        rows += list(index[(int(d), int(rng.integers(1, len(FORGERY_KINDS) + 1)))])
    r = np.array(rows)
    return r, data["design"][r] * 8 + data["kind"][r], data["design"][r]


def train(
    data: dict[str, np.ndarray], minutes: float, seed: int, hard: float, state: Path | None = None
) -> Any:
    """Train build_model() on the rendered set for ``minutes``; returns the model (eval).
    ``state``: a torch state file to start from when it exists, written at the end."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model()
    if state and state.exists():
        model.load_state_dict(torch.load(state))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    designs = int(data["design"].max()) + 1
    index: dict[tuple[int, int], np.ndarray] = {}
    for key in set(zip(data["design"].tolist(), data["kind"].tolist(), strict=True)):
        index[key] = np.flatnonzero((data["design"] == key[0]) & (data["kind"] == key[1]))
    start, step, budget = time.monotonic(), 0, minutes * 60
    while (elapsed := time.monotonic() - start) < budget:
        for group in opt.param_groups:  # cosine decay over the time budget
            group["lr"] = 2e-3 * 0.5 * (1 + np.cos(np.pi * elapsed / budget))
        rows, ident, dsg = _batch(data, index, rng, designs)
        x = torch.from_numpy(data["x"][rows].astype(np.float32) / 255)[:, None]
        x = x * torch.empty(len(rows), 1, 1, 1).uniform_(0.75, 1.25)  # ink strength
        z = F.normalize(model(x), dim=1)
        cos = z @ z.T
        same = torch.from_numpy(ident[:, None] == ident[None, :])
        near = torch.from_numpy(dsg[:, None] == dsg[None, :]) & ~same
        eye = torch.eye(len(rows), dtype=torch.bool)
        logit = 12 * (cos - 0.5)
        pos = F.softplus(-logit)[same & ~eye].mean()
        weight = torch.where(near, hard, 1.0)[~same]
        neg = (F.softplus(logit)[~same] * weight).sum() / weight.sum()
        loss = pos + neg
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(
                f"step {step} {elapsed / 60:.1f} min loss {loss.item():.4f} "
                f"pos {pos.item():.4f} neg {neg.item():.4f}",
                flush=True,
            )
        step += 1
    if state:
        torch.save(model.state_dict(), state)
    return model.eval()


def export(model: Any, out: Path) -> None:
    """Write the model as ONNX: input "ink" (N, 1, S, S), output "descriptor" (N, 128)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Normalised(nn.Module):  # type: ignore[misc]
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.normalize(self.inner(x), dim=1)

    s = siamese.INPUT_SIZE
    torch.onnx.export(
        Normalised(model),
        (torch.zeros(2, 1, s, s),),
        str(out),
        input_names=["ink"],
        output_names=["descriptor"],
        dynamic_axes={"ink": {0: "n"}, "descriptor": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )


def _val_scores(seed: int) -> list[tuple[str, float, float]]:
    """(kind, siamese score, baseline score) of one validation design's pairs."""
    return [(kind, siamese.score(a, b), baseline.score(a, b)) for a, b, kind in trial_pairs(seed)]


def calibrate(model: Path, designs: int, jobs: int) -> dict[str, Any]:
    """EER and threshold of both verifiers on validation designs; writes model's JSON."""
    siamese.MODEL = model  # the worker processes read the model being calibrated
    with Pool(jobs) as pool:
        parts = pool.map(_val_scores, range(VALIDATION_SEEDS, VALIDATION_SEEDS + designs))
    rows = [row for part in parts for row in part]
    same = np.array([k == "genuine" for k, _, _ in rows])
    s_eer, s_thr = equal_error_rate(np.array([r[1] for r in rows]), same)
    b_eer, b_thr = equal_error_rate(np.array([r[2] for r in rows]), same)
    info = {
        "threshold": round(s_thr, 4),
        "validation_eer": round(s_eer, 4),
        "baseline_threshold": round(b_thr, 4),
        "baseline_validation_eer": round(b_eer, 4),
        "validation_seeds": [VALIDATION_SEEDS, VALIDATION_SEEDS + designs - 1],
        "pairs": len(rows),
        "input_size": siamese.INPUT_SIZE,
        "score": "(1 + cosine of the L2-normalised descriptors) / 2",
    }
    model.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=siamese.MODEL)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--designs", type=int, default=1200, help="training designs")
    p.add_argument("--genuine", type=int, default=8, help="genuine impressions per design")
    p.add_argument("--minutes", type=float, default=20.0, help="training time")
    p.add_argument("--hard", type=float, default=3.0, help="weight of forgery negatives")
    p.add_argument("--val-designs", type=int, default=200)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--cache", type=Path, default=None, help="npz of the rendered set")
    p.add_argument("--state", type=Path, default=None, help="torch weights: start, end")
    p.add_argument("--calibrate-only", action="store_true")
    args = p.parse_args(argv)
    if not args.calibrate_only:
        if args.cache and args.cache.exists():
            data = dict(np.load(args.cache))
        else:
            t = time.monotonic()
            data = render_training_set(args.designs, args.genuine, args.jobs)
            print(f"rendered {len(data['x'])} impressions in {time.monotonic() - t:.0f} s")
            if args.cache:
                np.savez(args.cache, x=data["x"], design=data["design"], kind=data["kind"])
        model = train(data, args.minutes, args.seed, args.hard, args.state)
        export(model, args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    print(json.dumps(calibrate(args.out, args.val_designs, args.jobs), indent=2))


if __name__ == "__main__":
    main()
