"""The exportable Co-DINO: uint8 NHWC pixels in, the last decoder layer's raw heads out.

Shared by export_onnx.py and verify_onnx.py. Written against MMDetection 3.x's `projects/CO-DETR`
(classes CoDETR, CoDINOHead, CoDinoTransformer; mmcv 2.x). NOT RUN in the gpumux workplace (no GPU, no PyPI,
no torch): every call into MMDetection below is taken from reading its source, and says where it comes from.
The Sense-X/Co-DETR repository (MMDetection 2.25, mmcv-full 1.x) has the same head and transformer code;
its image metas carry a 3-tuple `img_shape` and its Swin is `SwinTransformerV1(use_checkpoint=...)`.
"""
import torch
import torch.nn.functional as F
from torch import nn

MEAN = (123.675, 116.28, 103.53)  # mmdet's ImageNet mean/std in 0..255 RGB (the config's data_preprocessor)
STD = (58.395, 57.12, 57.375)


# ---------------------------------------------------------------------------------------------------------
# Multi-scale deformable attention without custom ops.
#
# mmcv's MultiScaleDeformableAttention.forward calls MultiScaleDeformableAttnFunction.apply (CUDA kernel,
# exported as the custom op mmcv::MMCVMultiScaleDeformableAttention) whenever `value.is_cuda`, and the pure
# PyTorch multi_scale_deformable_attn_pytorch otherwise. onnxruntime-node cannot load custom-op libraries, so
# the module-level name is replaced for the export: forward() looks it up at call time.
# ---------------------------------------------------------------------------------------------------------


def msda_lowmem(value, value_spatial_shapes, sampling_locations, attention_weights):
    """Same maths as mmcv's multi_scale_deformable_attn_pytorch, summed level by level.

    The reference stacks every level's samples, [N*heads, head_dim, queries, levels*points], before weighting
    them. In Co-DINO's encoder the queries are every token of all 5 levels (stride 4 to 64): ~196 k for a
    2048x1152 input, so that stack is 8*32*196k*20 floats = 4 GB per image, and the weighted copy another 4 GB,
    per encoder layer. Weighting and summing each level as it is sampled keeps one level (~0.8 GB) alive.
    Only the float summation order differs from the reference (verify_onnx.py measures the difference).
    """
    bs, _, num_heads, head_dim = value.shape
    _, num_queries, _, num_levels, num_points, _ = sampling_locations.shape
    # Static export: the level shapes are constants of this bucket's graph (see export_onnx.py).
    shapes = [(int(h), int(w)) for h, w in value_spatial_shapes]
    value_list = value.split([h * w for h, w in shapes], dim=1)
    grids = 2 * sampling_locations - 1
    weights = attention_weights.transpose(1, 2).reshape(bs * num_heads, 1, num_queries, num_levels, num_points)
    output = None
    for level, (h, w) in enumerate(shapes):
        value_l = value_list[level].flatten(2).transpose(1, 2).reshape(bs * num_heads, head_dim, h, w)
        grid_l = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        # -> [N*heads, head_dim, queries, points]; opset >= 16 exports this as ONNX GridSample
        sampled = F.grid_sample(value_l, grid_l, mode="bilinear", padding_mode="zeros", align_corners=False)
        contribution = (sampled * weights[..., level, :]).sum(-1)
        output = contribution if output is None else output + contribution
    return output.view(bs, num_heads * head_dim, num_queries).transpose(1, 2).contiguous()


def patch_msda(mode):
    """Routes mmcv's MultiScaleDeformableAttention through a pure-PyTorch path; returns an undo function.

    mode: "reference" (mmcv's own multi_scale_deformable_attn_pytorch) or "lowmem" (msda_lowmem above).
    mmcv 2.1's forward calls MultiScaleDeformableAttnFunction.apply only for CUDA (and MLU) tensors and the
    module-level multi_scale_deformable_attn_pytorch otherwise, so both names are replaced: patching only the
    Function left a CPU export on mmcv's reference path (2x the memory). The undo function's `calls` counts
    how often the chosen path ran, so a caller can check that the patch took effect.
    """
    import mmcv.ops.multi_scale_deform_attn as msda_module  # mmcv 1.x and 2.x keep this module path

    original_function = msda_module.MultiScaleDeformableAttnFunction
    original_pytorch = msda_module.multi_scale_deformable_attn_pytorch
    chosen = original_pytorch if mode == "reference" else msda_lowmem
    calls = [0]

    def fallback(value, spatial_shapes, sampling_locations, attention_weights):
        calls[0] += 1
        return chosen(value, spatial_shapes, sampling_locations, attention_weights)

    class PytorchMSDA:
        """Stands in for the autograd Function: same apply() signature, no custom op, no symbolic()."""

        @staticmethod
        def apply(value, spatial_shapes, level_start_index, sampling_locations, attention_weights, im2col_step):
            del level_start_index, im2col_step  # only the CUDA kernel needs them
            return fallback(value, spatial_shapes, sampling_locations, attention_weights)

    msda_module.MultiScaleDeformableAttnFunction = PytorchMSDA
    msda_module.multi_scale_deformable_attn_pytorch = fallback

    def undo():
        msda_module.MultiScaleDeformableAttnFunction = original_function
        msda_module.multi_scale_deformable_attn_pytorch = original_pytorch

    undo.calls = lambda: calls[0]
    return undo


# ---------------------------------------------------------------------------------------------------------
# The wrapper
# ---------------------------------------------------------------------------------------------------------


class CoDinoOnnx(nn.Module):
    """images uint8 [N,H,W,3] RGB -> pred_logits [N,900,80] (pre-sigmoid), pred_boxes [N,900,4] (cxcywh, 0..1).

    graph_upscale (the manifest's preprocess.graphUpscale, 1.6 for gpumux's Co-DETR): `images` arrive at the
    host bucket (e.g. 720x1280, a 1280x720 camera frame copied as is) and the graph enlarges them bilinearly
    (F.interpolate, align_corners=False: ONNX Resize linear / pytorch_half_pixel) to the backbone's size
    (1152x2048, mmdet's Large test scale) before normalising, on the GPU. mmdet resizes the original image with
    cv2.resize(INTER_LINEAR) straight to that size: the same half-pixel bilinear sampling, but cv2 computes
    uint8 with 11-bit fixed-point weights and rounds to uint8, while this stays float (within ~0.5-1 grey
    level, < 0.02 after normalisation). Frames larger than the host scale are shrunk on the host first (1920x1080
    -> 1280x720 -> 2048x1152 here, vs 1920x1080 -> 2048x1152 in mmdet), so they lose the detail between.
    pred_boxes are normalised, hence the same relative to the host bucket and to the enlarged input; with
    with_mask, img_masks arrive at the host bucket too and are enlarged (nearest) where pixels are zeroed.

    Re-implements CoDINOHead.forward's inference part instead of calling it, because that forward builds the
    padding masks from `img_metas` (Python ints: batch_input_shape, img_shape) and returns every decoder layer
    plus the encoder's feature maps for the auxiliary heads; the export needs neither.

    Padding (with_mask=False, the gpumux manifest): every pixel of the input counts as image. Masks are all
    False, valid ratios are 1, and pred_boxes are normalised to the whole padded input — which is what the
    manifest's `cxcywh` contract says. mmdet itself would mask the padded strip; see README.md for what that
    changes and when it matters (not at all for 16:9 frames, which fill the 2048x1152 bucket exactly).

    with_mask=True adds an input `img_masks` uint8 [N,H,W] (1 = padding; gpumux's replica fills it when the
    manifest declares `inputs.mask`) and reproduces mmdet: padded pixels are zeroed after normalisation (mmdet
    pads the normalised batch with 0) and the masks reach the transformer. The model then predicts boxes
    normalised to each image's valid region (mmdet's predict_by_feat multiplies by img_shape, not the padded
    shape); the graph rescales them by the valid ratios so that the output contract stays "normalised to the
    padded input" in both variants.
    """

    def __init__(self, detector, with_mask=False, graph_upscale=1.0, mean=MEAN, std=STD):
        super().__init__()
        if graph_upscale < 1:
            raise ValueError(f"graph_upscale must be >= 1, got {graph_upscale}")
        self.detector = detector
        self.head = detector.query_head
        self.with_mask = with_mask
        self.graph_upscale = float(graph_upscale)
        # the config's data_preprocessor mean/std (export_onnx.head_facts), in the model's channel order
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, images, img_masks=None):
        x = images.permute(0, 3, 1, 2).to(torch.float32)
        if self.graph_upscale != 1.0:
            # before normalising, as mmdet resizes pixels before its data_preprocessor normalises them
            x = F.interpolate(x, scale_factor=self.graph_upscale, mode="bilinear", align_corners=False)
        x = (x - self.mean) / self.std
        pad = None
        if self.with_mask:
            pad = img_masks.to(torch.float32).unsqueeze(1)  # [N,1,h,w] at the host bucket
            # nearest keeps it binary; the transformer's per-level masks and the valid ratios below are taken
            # from `pad` itself (a nearest resize to each level gives the same cells from either size)
            pad_full = pad if self.graph_upscale == 1.0 else F.interpolate(pad, size=x.shape[-2:], mode="nearest")
            x = x * (1.0 - pad_full)
        # CoDETR.extract_feat: Swin-L backbone (4 levels) + ChannelMapper neck (num_outs=5: strides 4..64)
        feats = self.detector.extract_feat(x)
        logits, boxes = self.decode(list(feats), pad)
        if pad is not None:
            # valid region is the top-left corner: its height from column 0, its width from row 0
            valid = 1.0 - pad[:, 0]
            ratio_h = valid[:, :, 0].sum(1) / pad.shape[2]
            ratio_w = valid[:, 0, :].sum(1) / pad.shape[3]
            scale = torch.stack([ratio_w, ratio_h, ratio_w, ratio_h], -1)[:, None, :]  # cx, cy, w, h
            boxes = boxes * scale
        return logits, boxes

    def decode(self, feats, pad):
        head = self.head
        masks, pos_embeds = [], []
        for feat in feats:
            if pad is None:
                mask = torch.zeros_like(feat[:, 0], dtype=torch.bool)
            else:
                # as CoDINOHead.forward: nearest-neighbour resize of the image mask to each level
                mask = F.interpolate(pad, size=feat.shape[-2:]).squeeze(1).to(torch.bool)
            masks.append(mask)
            pos_embeds.append(head.positional_encoding(mask))  # SinePositionalEncoding(mask)

        # CoDinoTransformer.forward(mlvl_feats, mlvl_masks, query_embed, mlvl_pos_embeds, dn_label_query,
        #                           dn_bbox_query, attn_mask, reg_branches=, cls_branches=)
        # -> inter_states [layers, queries, N, C], inter_references, topk_score, topk_anchor, memory
        hs, inter_references, _, _, _ = head.transformer(
            feats,
            masks,
            None,
            pos_embeds,
            None,  # no denoising queries at inference: exactly num_query (900) queries
            None,
            None,
            reg_branches=head.reg_branches,
            cls_branches=head.cls_branches,
        )
        hs = hs.permute(0, 2, 1, 3)  # [layers, N, queries, C], as CoDINOHead.forward
        # The head loops `for lvl in range(hs.shape[0])` and predict() keeps the last layer. A Python int from
        # the config, not hs.shape[0], indexes the ModuleLists (a traced size would be a tensor).
        last = head.transformer.decoder.num_layers - 1
        reference = _inverse_sigmoid(inter_references[last], eps=1e-3)
        logits = head.cls_branches[last](hs[last])
        tmp = head.reg_branches[last](hs[last])
        if reference.shape[-1] == 4:
            tmp = tmp + reference
        else:
            tmp = torch.cat([tmp[..., :2] + reference, tmp[..., 2:]], -1)
        return logits, tmp.sigmoid()


def _inverse_sigmoid(x, eps=1e-5):
    """mmdet.models.layers.transformer.inverse_sigmoid, inlined so both mmdet 2.x and 3.x work."""
    x = x.clamp(min=0, max=1)
    x1 = x.clamp(min=eps)
    x2 = (1 - x).clamp(min=eps)
    return torch.log(x1 / x2)


def load_detector(config, checkpoint, device, random_init=None):
    """Builds the detector from an MMDetection 3.x config with gradient checkpointing off (export needs a
    plain forward; checkpoint_wrapper/with_cp would otherwise wrap the Swin blocks and 6 encoder layers).

    random_init: instead of a checkpoint, the model's own init_weights() under this torch seed (an
    architecture check without the 946 MB download; the same seed gives the same weights in every process).
    """
    from mmengine.config import Config
    from mmdet.apis import init_detector

    if (checkpoint is None) == (random_init is None):
        raise ValueError("load_detector needs exactly one of checkpoint and random_init")
    cfg = Config.fromfile(config)  # runs the config's custom_imports (projects.CO-DETR.codetr)
    cfg.model.backbone.with_cp = False
    encoder = cfg.model.query_head.transformer.encoder
    if "with_cp" in encoder:
        encoder.with_cp = -1  # DetrTransformerEncoder: wraps the first with_cp layers when > 0
    if random_init is not None:
        torch.manual_seed(random_init)  # module construction draws from the RNG too
        cfg.model.backbone.init_cfg = None  # no pretrained-backbone download
    detector = init_detector(cfg, checkpoint, device=device)
    if random_init is not None:
        torch.manual_seed(random_init)
        detector.init_weights()
    detector.eval()
    return detector
