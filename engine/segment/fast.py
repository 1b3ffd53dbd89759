"""What makes a prompt cheap once the frame's embedding is there, without changing what the model computes.

Measured on the 2-core CPU (benchmarks/bench_segment.py, profile in the issue 26 report): a prompt is the
prompt encoder plus the mask decoder's two-way transformer over the 64x64 (SAM 3: 72x72) image tokens, a
few GFLOP in many small operations. Three things cost more than they need:
- threads: two intra-op threads on a shared two-core machine (or beside the app's own embedding lane) wait for
  each other at every operation; one thread was 2-6x faster per prompt. `prompt_threads` runs a prompt on one.
- the image-wide positional embedding (sin/cos over every token) was recomputed per prompt; it depends only on
  the weights, so `FastPrompts` computes it once.
- the first decoder layer projects the image tokens (keys, values, and the image-to-token queries) before any
  prompt enters them; with no mask prompt those inputs are the same for every click on a frame.
  `FastPrompts` remembers the last input and output of those three projections and reuses the output when the
  input is equal element for element (a mask prompt changes the input, so it is computed afresh).
Results are the model's own, bit for bit up to the order of float sums.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

PROMPT_THREADS = 1  # CPU intra-op threads for one prompt (see above)


@contextmanager
def prompt_threads(device: str, n: int | None = PROMPT_THREADS):
    """Run the enclosed prompt on `n` CPU threads (nothing changes on CUDA or with n None), restoring the count."""
    import torch

    old = torch.get_num_threads()
    if n is None or str(device).startswith("cuda") or old <= n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class _MemoProjection:
    """A linear layer's forward that returns its previous output for an input equal to the previous one."""

    def __init__(self, linear) -> None:
        self.linear = linear
        self.last_in = None
        self.last_out = None
        self.hits = 0

    def __call__(self, x):
        import torch
        import torch.nn.functional as F

        last = self.last_in
        if last is not None and last.shape == x.shape and last.dtype == x.dtype and last.device == x.device \
                and torch.equal(last, x):
            self.hits += 1
            return self.last_out
        out = F.linear(x, self.linear.weight, self.linear.bias)
        self.last_in, self.last_out = x.detach().clone(), out.detach()
        return out

    def forget(self) -> None:
        self.last_in = self.last_out = None


class FastPrompts:
    """Installs the cached positional embedding and the first layer's remembered projections on a loaded
    SAM / SAM 2 / SAM 3 tracker model (its state dict is unchanged); `lock` serialises prompts on the model."""

    def __init__(self, model) -> None:
        """`model` None: nothing installed (the plain forward)."""
        import torch

        self.lock = threading.Lock()
        self.memos: list[_MemoProjection] = []
        if model is None:
            return
        pos = getattr(model, "get_image_wide_positional_embeddings", None)
        if pos is not None:
            with torch.inference_mode():
                cached = pos()
            model.get_image_wide_positional_embeddings = lambda: cached
        layers = getattr(getattr(getattr(model, "mask_decoder", None), "transformer", None), "layers", None)
        if layers:
            first = layers[0]
            for attn, names in (("cross_attn_token_to_image", ("k_proj", "v_proj")),
                                ("cross_attn_image_to_token", ("q_proj",))):
                for name in names:
                    linear = getattr(getattr(first, attn, None), name, None)
                    if isinstance(linear, torch.nn.Linear):
                        memo = _MemoProjection(linear)
                        linear.forward = memo
                        self.memos.append(memo)

    @property
    def reused(self) -> int:
        """How many projections were reused so far (a test's and a benchmark's check)."""
        return sum(m.hits for m in self.memos)

    def forget(self) -> None:
        for memo in self.memos:
            memo.forget()
