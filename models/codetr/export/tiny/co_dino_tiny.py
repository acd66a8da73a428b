# A tiny Co-DINO for checking the "your own model" export path in minutes on a CPU, with random weights:
# MMDetection's own R50 Co-DINO config (projects/CO-DETR) with a ResNet-18, one encoder and one decoder layer,
# 30 queries and three classes of its own, named in `metainfo` as a fine-tuning config names them.
#   CONFIG=models/codetr/export/tiny/co_dino_tiny.py SHAPES="1x320x480 2x320x480" MEMORY=1GiB NAME=tiny \
#     CODETR_ENV=... OUT=/tmp/tiny models/codetr/export/run_export.sh
# MMDET_DIR comes from the environment (run_export.sh has it): mmengine substitutes it into the base path.
_base_ = '{{$MMDET_DIR:.}}/projects/CO-DETR/configs/codino/co_dino_5scale_r50_lsj_8xb2_1x_coco.py'

metainfo = dict(classes=('helmet', 'vest', 'person'))
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    query_head=dict(
        num_query=30,
        num_classes=3,
        transformer=dict(encoder=dict(num_layers=1), decoder=dict(num_layers=1))))
