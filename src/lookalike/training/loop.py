"""The training loop: two edited views of each picture, InfoNCE + KoLeo, AdamW, cosine decay.

``train(TrainConfig(...), store)`` runs on the GPU when torch sees one (bfloat16
autocast), else on the CPU, for ``steps`` steps or ``minutes`` of wall time, whichever
ends first (the learning-rate schedule follows whichever is nearer its end). Each batch
mixes the store's pictures (laid over plain, drawn or other pictures' backgrounds where
they are transparent) with dead-leaves pictures and charts drawn by
:mod:`lookalike.training.synthetic`, in the shares the config names. Output: the ONNX
model, the weights (``.npz``, to fine-tune from) and ``recipe.json`` (config, data list
digest, steps run, loss).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lookalike.errors import UsageError, require
from lookalike.training import augment, network, synthetic
from lookalike.training.data import Store

EXTRA = "train"


@dataclass(frozen=True)
class TrainConfig:
    """What a run does; ``recipe.json`` records it."""

    out: str
    steps: int = 2000
    minutes: float = 0.0
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.05
    temperature: float = 0.05
    koleo: float = 1.0
    warmup: int = 200
    side: int = network.SIDE
    store_share: float = 0.65
    chart_share: float = 0.15
    charts: int = 4000
    seed: int = 0
    device: str = "auto"
    init: str = ""
    log_every: int = 50
    jobs: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult:
    """Where the model went and how the run ended."""

    onnx: str
    weights: str
    recipe: str
    steps: int
    seconds: float
    loss: float
    device: str


def _device(torch: Any, name: str) -> Any:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: torch sees no CUDA GPU")
    return torch.device(name)


def info_nce(z: Any, temperature: float) -> Any:
    """InfoNCE over 2B unit rows where rows i and i + B are views of one picture."""
    torch = require("torch", EXTRA)
    n = z.shape[0] // 2
    sim = (z @ z.T) / temperature
    sim = sim - torch.eye(2 * n, device=z.device, dtype=sim.dtype) * 1e4
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return torch.nn.functional.cross_entropy(sim.float(), target)


def koleo(z: Any) -> Any:
    """Kozachenko-Leonenko entropy estimate's loss (Sablayrolles et al. 2019): minus the mean
    log distance of each descriptor to its nearest other picture, so descriptors spread."""
    torch = require("torch", EXTRA)
    n = z.shape[0] // 2
    a = z[:n].float()
    d = torch.cdist(a, a)
    d = d + torch.eye(n, device=z.device) * 10
    return -torch.log(d.min(dim=1).values + 1e-4).mean()


class _Batches:
    """Draws batches of source pictures (N, 4, S, S) in [0, 1] on the device."""

    def __init__(self, torch: Any, cfg: TrainConfig, store: Store, device: Any, gen: Any) -> None:
        self.torch, self.cfg, self.device, self.gen = torch, cfg, device, gen
        s = store.pixels.shape[1] if len(store.pixels) else 256
        self.side = s
        self.store = torch.from_numpy(store.pixels).to(device).permute(0, 3, 1, 2).contiguous()
        charts = synthetic.charts(
            range(cfg.seed * 10**6, cfg.seed * 10**6 + cfg.charts), s, jobs=cfg.jobs
        )
        alpha = np.full((*charts.shape[:3], 1), 255, np.uint8)
        self.charts = (
            torch.from_numpy(np.concatenate([charts, alpha], axis=3)).to(device).permute(0, 3, 1, 2)
        )

    def _pick(self, pool: Any, k: int) -> Any:
        if k == 0 or len(pool) == 0:
            return pool[:0].float()
        idx = self.torch.randperm(len(pool), generator=self.gen, device=self.device)[:k]
        if len(idx) < k:  # a small store: draw with repeats rather than a short batch
            idx = self.torch.randint(0, len(pool), (k,), generator=self.gen, device=self.device)
        return pool[idx].float() / 255

    def __call__(self, n: int) -> Any:
        torch = self.torch
        n_store = round(n * self.cfg.store_share) if len(self.store) else 0
        n_chart = round(n * self.cfg.chart_share)
        n_leaves = n - n_store - n_chart
        leaves = synthetic.dead_leaves(n_leaves, self.side, self.gen, self.device)
        leaves = torch.cat([leaves, torch.ones_like(leaves[:, :1])], dim=1)
        return torch.cat(
            [self._pick(self.store, n_store), self._pick(self.charts, n_chart), leaves]
        )

    def backgrounds(self, n: int) -> Any:
        """Plain white, plain colour or drawn leaves, (n, 3, S, S)."""
        torch = self.torch
        kind = torch.rand(n, generator=self.gen, device=self.device).view(n, 1, 1, 1)
        plain = torch.rand(n, 3, 1, 1, generator=self.gen, device=self.device)
        plain = torch.where(kind < 0.5, torch.ones_like(plain), plain)
        # drawn small and enlarged: a background needs no fine detail, and it is cheaper
        leaves = synthetic.dead_leaves(n, self.side // 4, self.gen, self.device, shapes=16)
        leaves = torch.nn.functional.interpolate(
            leaves, size=(self.side, self.side), mode="bilinear"
        )
        return torch.where(kind < 0.8, plain.expand(n, 3, self.side, self.side), leaves)


def train(cfg: TrainConfig, store: Store, *, log: Callable[[str], None] = print) -> TrainResult:
    """Train (or fine-tune, ``cfg.init``) a copy-detection CNN; write it under ``cfg.out``."""
    torch = require("torch", EXTRA)
    if cfg.batch < 4 or cfg.steps < 1:
        raise UsageError("batch must be >= 4 and steps >= 1")
    device = _device(torch, cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)
    os.makedirs(cfg.out, exist_ok=True)
    net = network.build()
    if cfg.init:
        network.load_weights(net, cfg.init)
    net = net.to(device).to(memory_format=torch.channels_last)
    decay = [p for p in net.parameters() if p.ndim > 1]
    rest = [p for p in net.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0}],
        lr=cfg.lr,
    )
    batches = _Batches(torch, cfg, store, device, gen)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    start = time.monotonic()
    budget = cfg.minutes * 60
    step, loss_avg = 0, float("nan")
    net.train()
    while step < cfg.steps:
        elapsed = time.monotonic() - start
        progress = max(step / cfg.steps, elapsed / budget if budget else 0.0)
        if progress >= 1:
            break
        warm = min(1.0, (step + 1) / max(1, cfg.warmup))
        lr = cfg.lr * warm * 0.5 * (1 + math.cos(math.pi * progress))
        for group in opt.param_groups:
            group["lr"] = lr
        with torch.no_grad():
            src = batches(cfg.batch)
            n = len(src)
            # view 2 of a picture may sit on another picture of the batch (a paste)
            other = src[torch.roll(torch.arange(n, device=device), 1)][:, :3]
            fills = []
            for _ in range(2):
                bg = batches.backgrounds(n)
                use_other = (torch.rand(n, generator=gen, device=device) < 0.25).view(n, 1, 1, 1)
                fills.append(torch.where(use_other, other, bg))
            grow = torch.nn.functional.interpolate
            x = torch.cat(
                [
                    augment.views(
                        src,
                        batches.backgrounds(n),
                        grow(fills[i], size=(cfg.side, cfg.side), mode="bilinear", antialias=True),
                        cfg.side,
                        gen,
                    )
                    for i in range(2)
                ]
            ).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            z = net(x)
        z = z.float()
        loss = info_nce(z, cfg.temperature) + cfg.koleo * koleo(z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = float(loss.detach())
        loss_avg = value if math.isnan(loss_avg) else 0.98 * loss_avg + 0.02 * value
        if step % cfg.log_every == 0 or step == 1:
            log(
                f"step {step} loss {loss_avg:.3f} lr {lr:.2e} "
                f"{(time.monotonic() - start) / step:.3f} s/step"
            )
    seconds = time.monotonic() - start
    net.eval()
    onnx_path = os.path.join(cfg.out, "model.onnx")
    weights_path = os.path.join(cfg.out, "weights.npz")
    recipe_path = os.path.join(cfg.out, "recipe.json")
    network.save_weights(net, weights_path)
    network.export_onnx(net, onnx_path, cfg.side)
    recipe = {
        "config": asdict(cfg),
        "weights": network.weight_count(net),
        "steps_run": step,
        "seconds": round(seconds, 1),
        "final_loss": round(loss_avg, 4),
        "device": str(device),
        "torch": torch.__version__,
        "data": {"pictures": len(store.paths), "failures": len(store.failures)},
    }
    with open(recipe_path, "w", encoding="utf-8") as fh:
        json.dump(recipe, fh, indent=2, ensure_ascii=False)
    return TrainResult(onnx_path, weights_path, recipe_path, step, seconds, loss_avg, str(device))
