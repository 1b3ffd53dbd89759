"""The pixel-MLP ensemble: small classifiers on per-pixel diffusion features.

Each member is Linear-ReLU-BatchNorm, Linear-ReLU-BatchNorm, Linear (the reference's pixel classifier),
trained with Adam on a class-balanced pixel sample, with early stopping on a held-out share of the
pixels (the best weights are kept). Members differ by initialisation and batch order.

Inputs are standardised per channel with the mean and standard deviation of the training pixels
(stored in the ensemble as `input_mean` / `input_std`): decoder activations and pixel colours live on
very different scales, and standardising them measured better on the phantom sample.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.jobs import JobContext

from .uncertainty import jensen_shannon, soft_vote


@dataclass(frozen=True)
class EnsembleSettings:
    """Training settings of the ensemble (the reference's 256/128 hidden units; 5 members and 15 epochs, not
    the reference's 10 and 30, keep a 960x540 frame near 1 s on a CPU: docs/adr/0011)."""

    members: int = 5
    hidden: tuple[int, ...] = (256, 128)
    batch_size: int = 1024
    lr: float = 1e-3
    max_epochs: int = 15
    patience: int = 3
    val_fraction: float = 0.1
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EnsembleSettings":
        d = dict(d)
        if "hidden" in d:
            d["hidden"] = tuple(int(h) for h in d["hidden"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class PixelMLP(nn.Sequential):
    """One member: (N, C) features -> (N, K) logits."""

    def __init__(self, in_channels: int, num_classes: int, hidden: tuple[int, ...] = (256, 128)):
        layers: list[nn.Module] = []
        prev = in_channels
        for h in hidden:
            layers += [nn.Linear(prev, h), nn.ReLU(), nn.BatchNorm1d(h)]
            prev = h
        layers.append(nn.Linear(prev, num_classes))
        super().__init__(*layers)


class PixelEnsemble(nn.Module):
    """M pixel MLPs; `member_probs(x)` -> (M, N, K) softmax probabilities."""

    def __init__(self, in_channels: int, num_classes: int, members: int = 10,
                 hidden: tuple[int, ...] = (256, 128)):
        super().__init__()
        if members < 1:
            raise ValueError("an ensemble needs at least one member")
        self.in_channels = int(in_channels)
        self.num_classes = int(num_classes)
        self.hidden = tuple(int(h) for h in hidden)
        self.members = nn.ModuleList(PixelMLP(in_channels, num_classes, self.hidden) for _ in range(members))
        self.register_buffer("input_mean", torch.zeros(self.in_channels))
        self.register_buffer("input_std", torch.ones(self.in_channels))

    @property
    def num_members(self) -> int:
        return len(self.members)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) float16/float32 -> float32 standardised with the training pixels' statistics."""
        return (x.float() - self.input_mean) / self.input_std

    @torch.no_grad()
    def fit_standardization(self, x: torch.Tensor, chunk: int = 65536) -> None:
        """Set `input_mean` / `input_std` from (N, C) training pixels (float64 sums, chunked: no float32 copy)."""
        s = torch.zeros(x.shape[1], dtype=torch.float64)
        s2 = torch.zeros(x.shape[1], dtype=torch.float64)
        for i in range(0, x.shape[0], chunk):
            part = x[i:i + chunk].double()
            s += part.sum(0)
            s2 += (part * part).sum(0)
        n = max(1, x.shape[0])
        mean = s / n
        var = (s2 / n - mean * mean).clamp_min(0)
        self.input_mean.copy_(mean.float())
        self.input_std.copy_(var.sqrt().float().clamp_min(1e-3))

    @torch.no_grad()
    def member_probs(self, x: torch.Tensor) -> torch.Tensor:
        x = self.standardize(x)
        return torch.stack([F.softmax(m(x), dim=-1) for m in self.members])

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 16384) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C) -> (mean probabilities (N, K), Jensen-Shannon uncertainty (N,)), in chunks."""
        self.eval()
        probs, unc = [], []
        for s in range(0, x.shape[0], chunk):
            mp = self.member_probs(x[s:s + chunk])
            probs.append(soft_vote(mp))
            unc.append(jensen_shannon(mp))
        if not probs:
            return torch.zeros((0, self.num_classes)), torch.zeros(0)
        return torch.cat(probs), torch.cat(unc)

    kind = "pixel-mlp"

    def predict_map(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(C, H, W) -> (probabilities (K, H, W), Jensen-Shannon uncertainty (H, W))."""
        c, h, w = features.shape
        probs, unc = self.predict(features.reshape(c, -1).T)
        return probs.T.reshape(-1, h, w), unc.reshape(h, w)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x.float()


def _val_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, prep=_identity) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            total += float(F.cross_entropy(model(prep(x[s:s + batch])), y[s:s + batch], reduction="sum"))
    return total / max(1, x.shape[0])


def train_member(model: PixelMLP, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor,
                 settings: EnsembleSettings, seed: int, ctx: JobContext, prep=_identity) -> dict:
    """Adam with early stopping on the validation loss; the best state is restored. Returns a history.

    `prep` turns a batch of stored features into the member's float32 input (the ensemble's
    standardisation)."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    best, best_state, bad, epochs = math.inf, None, 0, 0
    n = x.shape[0]
    bs = max(2, settings.batch_size)
    for epoch in range(settings.max_epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, bs):
            ctx.check()
            idx = order[s:s + bs]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            loss = F.cross_entropy(model(prep(x.index_select(0, idx))), y.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        epochs = epoch + 1
        if xv.shape[0] == 0:
            continue
        vl = _val_loss(model, xv, yv, 8192, prep)
        ctx.report((epoch + 1) / settings.max_epochs, f"epoch {epoch + 1} val loss {vl:.4f}")
        if vl < best - 1e-4:
            best, best_state, bad = vl, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= settings.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return {"epochs": epochs, "best_val_loss": None if best is math.inf else best}


def train_ensemble(x: torch.Tensor, y: torch.Tensor, num_classes: int,
                   settings: EnsembleSettings | None = None, ctx: JobContext | None = None
                   ) -> tuple[PixelEnsemble, list[dict]]:
    """Train an ensemble on (N, C) float16/float32 features and (N,) int64 class IDs.

    A `val_fraction` share of the pixels (same for every member) is held out for early stopping.
    """
    settings = settings or EnsembleSettings()
    ctx = ctx or JobContext()
    if x.shape[0] != y.shape[0] or x.ndim != 2:
        raise ValueError(f"features (N, C) and labels (N,) must match, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] < 2:
        raise ValueError("need at least two labelled pixels to train")
    if int(y.max()) >= num_classes or int(y.min()) < 0:
        raise ValueError(f"labels must be class IDs 0..{num_classes - 1}")
    torch.manual_seed(settings.seed)
    ens = PixelEnsemble(x.shape[1], num_classes, settings.members, settings.hidden)
    gen = torch.Generator().manual_seed(settings.seed)
    perm = torch.randperm(x.shape[0], generator=gen)
    n_val = int(round(settings.val_fraction * x.shape[0])) if x.shape[0] >= 20 else 0
    vi, ti = perm[:n_val], perm[n_val:]
    xt, yt, xv, yv = x.index_select(0, ti), y.index_select(0, ti), x.index_select(0, vi), y.index_select(0, vi)
    ens.fit_standardization(xt)
    history = []
    m_count = ens.num_members
    for i, member in enumerate(ens.members):
        torch.manual_seed(settings.seed * 1000 + i)
        for layer in member:  # a fresh, member-specific initialisation
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
        sub = ctx.sub(i / m_count, (i + 1) / m_count)
        h = train_member(member, xt, yt, xv, yv, settings, settings.seed * 1000 + i, sub, ens.standardize)
        history.append(h)
        ctx.report((i + 1) / m_count, f"member {i + 1}/{m_count} done after {h['epochs']} epochs")
    ens.eval()
    return ens, history
