"""Tiny random SAM, SAM 2 and SAM 3 tracker folders, saved the way real folders are (save_pretrained of the
model, and of the processor where the processor saves without torchvision: SAM 2 / SAM 3 image processors
need torchvision, so their processor_config.json is written with the fields those processors save)."""
from __future__ import annotations

import json
from pathlib import Path

SIZE = {"sam": 128, "sam2": 128, "sam3_tracker": 112, "sam3": 112}
_DECODER = dict(hidden_size=32, mlp_dim=64, num_hidden_layers=2, num_attention_heads=2, iou_head_hidden_dim=32)


_SAM3_VIT = dict(model_type="sam3_vit_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=2, image_size=112, patch_size=14, window_size=4, global_attn_indexes=[1],
                 pretrain_image_size=56)
_VOCAB = {"<|startoftext|>": 0, "<|endoftext|>": 1}
for _c in "abcdefghijklmnopqrstuvwxyz":
    _VOCAB[_c] = len(_VOCAB)
for _c in "abcdefghijklmnopqrstuvwxyz":
    _VOCAB[_c + "</w>"] = len(_VOCAB)


def tiny_config(family: str):
    import transformers

    if family == "sam":
        return transformers.SamConfig(
            vision_config=dict(hidden_size=32, output_channels=32, num_hidden_layers=2, num_attention_heads=2,
                               image_size=128, patch_size=16, window_size=4, global_attn_indexes=[1], mlp_dim=64,
                               num_pos_feats=16),
            prompt_encoder_config=dict(hidden_size=32, image_size=128, patch_size=16, image_embedding_size=8,
                                       mask_input_channels=4),
            mask_decoder_config=_DECODER)
    if family == "sam2":
        hiera = dict(model_type="sam2_hiera_det_model", hidden_size=16, num_attention_heads=1, image_size=[128, 128],
                     blocks_per_stage=[1, 1, 2, 1], embed_dim_per_stage=[16, 32, 64, 128],
                     num_attention_heads_per_stage=[1, 1, 2, 2], window_size_per_stage=[4, 4, 4, 2],
                     global_attention_blocks=[3], window_positional_embedding_background_size=[4, 4])
        return transformers.Sam2Config(
            vision_config=dict(backbone_config=hiera, backbone_channel_list=[128, 64, 32, 16],
                               backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]], fpn_hidden_size=32),
            prompt_encoder_config=dict(hidden_size=32, image_size=128, patch_size=16, mask_input_channels=4),
            mask_decoder_config=_DECODER)
    if family == "sam3":
        small = dict(hidden_size=32, num_layers=1, num_attention_heads=2, intermediate_size=64)
        return transformers.Sam3Config(
            vision_config=dict(backbone_config=_SAM3_VIT, fpn_hidden_size=32,
                               backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]]),
            text_config=dict(model_type="clip_text_model", vocab_size=len(_VOCAB), hidden_size=32,
                             intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                             max_position_embeddings=32, projection_dim=32, bos_token_id=0, eos_token_id=1,
                             pad_token_id=1),
            geometry_encoder_config=small, detr_encoder_config=small, detr_decoder_config=dict(small, num_queries=8),
            mask_decoder_config=dict(hidden_size=32, num_attention_heads=2))
    vit = dict(model_type="sam3_vit_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
               num_attention_heads=2, image_size=112, patch_size=14, window_size=4, global_attn_indexes=[1],
               pretrain_image_size=56)
    return transformers.Sam3TrackerConfig(
        vision_config=dict(model_type="sam3_vision_model", backbone_config=vit, fpn_hidden_size=32,
                           backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]]),
        prompt_encoder_config=dict(hidden_size=32, image_size=112, patch_size=14, mask_input_channels=4),
        mask_decoder_config=_DECODER)


def make_tiny_folder(root: Path, family: str, seed: int = 0) -> Path:
    """Save a tiny random model of `family` and its processor config into `root` (created)."""
    import torch

    from engine.segment.folder import model_class

    torch.manual_seed(seed)
    model = model_class(family)(tiny_config(family)).eval()
    root = Path(root)
    model.save_pretrained(root)
    size = SIZE[family]
    if family == "sam":
        from transformers import SamImageProcessorPil, SamProcessor

        proc = SamImageProcessorPil(size={"longest_edge": size}, pad_size={"height": size, "width": size},
                                    mask_size={"longest_edge": size // 4},
                                    mask_pad_size={"height": size // 4, "width": size // 4})
        SamProcessor(image_processor=proc).save_pretrained(root)
    else:
        kind = {"sam2": "Sam2", "sam3_tracker": "Sam3Tracker", "sam3": "Sam3"}[family]
        image_processor = {
            "image_processor_type": "Sam2ImageProcessorFast", "do_resize": True, "do_rescale": True,
            "do_normalize": True, "rescale_factor": 1 / 255, "resample": 2,
            "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
            "size": {"height": size, "width": size}, "mask_size": {"height": size // 4, "width": size // 4}}
        (root / "processor_config.json").write_text(json.dumps(
            {"image_processor": image_processor, "processor_class": f"{kind}Processor"}, indent=2))
    if family == "sam3":  # the text tokenizer a Sam3Processor saves beside the image processor
        from transformers import CLIPTokenizer

        CLIPTokenizer(vocab=dict(_VOCAB), merges=[]).save_pretrained(root)
    return root


def tiny_video_config():
    """A tiny SAM 2 video model (memory encoder, memory attention). Its hidden size is twice the memory size, as in
    the real models (256 / 64): transformers splits the object pointers by that ratio."""
    import transformers

    sam2 = tiny_config("sam2")
    vision = sam2.vision_config.to_dict()
    vision["fpn_hidden_size"] = 128
    decoder = dict(_DECODER, hidden_size=128)
    return transformers.Sam2VideoConfig(
        vision_config=vision, prompt_encoder_config=dict(hidden_size=128, image_size=128, patch_size=16,
                                                         mask_input_channels=4),
        mask_decoder_config=decoder, image_size=128, num_maskmem=3, memory_attention_hidden_size=128,
        memory_attention_num_layers=1, memory_attention_feed_forward_hidden_size=64, memory_encoder_hidden_size=128,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=128, memory_fuser_embed_dim=128,
        memory_fuser_intermediate_dim=64, memory_attention_rope_feat_sizes=[8, 8])


def make_tiny_video_folder(root: Path, seed: int = 0) -> Path:
    """A tiny random SAM 2 folder with the video model, laid out as the published SAM 2.1 folders are: the model's
    save_pretrained, preprocessor_config.json (the image processor) and processor_config.json (the video
    processor's own fields; Sam2VideoProcessor itself needs torchvision to be built)."""
    import torch
    import transformers

    torch.manual_seed(seed)
    root = Path(root)
    transformers.Sam2VideoModel(tiny_video_config()).eval().save_pretrained(root)
    size = SIZE["sam2"]
    (root / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "Sam2ImageProcessorFast", "do_resize": True, "do_rescale": True, "do_normalize": True,
        "rescale_factor": 1 / 255, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
        "size": {"height": size, "width": size}, "mask_size": {"height": size // 4, "width": size // 4}}, indent=2))
    (root / "processor_config.json").write_text(json.dumps(
        {"point_pad_value": -10, "processor_class": "Sam2VideoProcessor", "target_size": size}, indent=2))
    return root
