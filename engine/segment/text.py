"""SAM 3 finding by name: a class name (and the user's synonyms) as a text prompt, every instance the model
finds as a mask at the frame's size with its score.

A `sam3` folder (transformers' `Sam3Model`: detector with a CLIP text encoder) also holds its tokenizer
(`tokenizer.json`), loaded with the CLIP tokenizer class itself (never a class a folder names). The image
embedding is made once per frame (`embed`) as for the click models; each phrase then costs one decoder pass.
"""
from __future__ import annotations


import numpy as np

from engine.segment.folder import SegmentFolder, SegmentFolderError
from engine.segment.model import Candidates, Embedding, embed_with
from engine.segment.prep import Prep

FIND_THRESHOLD = 0.3  # the score (detection x presence) an instance needs, as Sam3Processor's default


class TextSegmentModel:
    """A loaded SAM 3 detector: `embed(image)`, then `find(embedding, phrases)`."""

    def __init__(self, folder: SegmentFolder, model, device: str) -> None:
        from transformers import CLIPTokenizer

        self.folder, self.model, self.device = folder, model, device
        self.dtype = next(model.parameters()).dtype
        backbone = (folder.config.get("vision_config") or {}).get("backbone_config") or {}
        size = int(backbone.get("image_size", 1008))
        text = folder.config.get("text_config") or {}
        self.max_tokens = min(32, int(text.get("max_position_embeddings", 32)))
        try:
            self.prep = Prep.from_processor(folder.processor, size)
            self.tokenizer = CLIPTokenizer.from_pretrained(str(folder.path), local_files_only=True)
        except (ValueError, OSError, TypeError, KeyError) as exc:
            raise SegmentFolderError(f"{folder.path}: {str(exc).splitlines()[0][:160] if str(exc) else exc!r}") from None

    @property
    def name(self) -> str:
        return f"{self.folder.family_name} ({self.folder.path.name})"

    def embed(self, image: np.ndarray, between=None) -> Embedding:
        return embed_with(self, image, lambda pixels: self.model.get_vision_features(pixel_values=pixels), between)

    def predict(self, embedding: Embedding, prompt) -> Candidates:
        raise ValueError(f"{self.name} finds structures by name (Find…, --text); clicks and boxes need a SAM, "
                         "SAM 2 or SAM 3 tracker folder")

    def find(self, embedding: Embedding, phrases: list[str], threshold: float = FIND_THRESHOLD) -> Candidates:
        """Every instance any phrase finds (score >= threshold), best first, masks at the frame's size."""
        import torch

        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"the score threshold should be between 0 and 1, got {threshold}")
        phrases = [p.strip() for p in phrases if p and p.strip()]
        if not phrases:
            raise ValueError("give a class name (or a synonym) to find")
        masks, scores = [], []
        for phrase in phrases:
            tokens = self.tokenizer([phrase.lower()], padding="max_length", max_length=self.max_tokens,
                                    truncation=True, return_tensors="pt")
            with torch.inference_mode():
                out = self.model(vision_embeds=embedding.tensors, input_ids=tokens["input_ids"].to(self.device),
                                 attention_mask=tokens["attention_mask"].to(self.device))
            score = out.pred_logits[0].float().sigmoid()
            if out.presence_logits is not None:
                score = score * out.presence_logits[0].float().sigmoid()
            keep = torch.nonzero(score >= threshold).flatten().tolist()
            if keep:
                low = out.pred_masks[0, keep].float().cpu().numpy()
                masks.append(self.prep.masks_to_frame(low, embedding.height, embedding.width) > 0)
                scores.append(score[keep].cpu().numpy())
        if not masks:
            return Candidates(np.zeros((0, embedding.height, embedding.width), bool), np.zeros(0, np.float32))
        all_masks, all_scores = np.concatenate(masks), np.concatenate(scores).astype(np.float32)
        order = np.argsort(-all_scores, kind="stable")
        return Candidates(all_masks[order], all_scores[order])


def union(found: Candidates, shape: tuple[int, int]) -> np.ndarray:
    """One HxW bool mask: every instance found."""
    return found.masks.any(axis=0) if len(found) else np.zeros(shape, bool)

__all__ = ["TextSegmentModel", "FIND_THRESHOLD", "union"]
