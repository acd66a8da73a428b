"""Unit tests for export_onnx.py's checks that need no torch: the graph shapes taken from the manifest and
the in-graph enlargement (graphUpscale) check, on small ONNX graphs from make_fixture.py.

  /usr/bin/python3 -m unittest models/codetr/export/test_export_helpers.py   (run by verify_helpers.test.ts)
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export_onnx import backbone_size, check_upscale, export_shapes, graph_upscale_of  # noqa: E402
from make_fixture import bucket_graph, upscale_graph  # noqa: E402

with open(os.path.join(HERE, "..", "manifest.json")) as f:
    MANIFEST = json.load(f)


class ShapesTest(unittest.TestCase):
    def test_traces_host_buckets_and_the_backbone_sees_mmdets_large_scale(self):
        self.assertEqual(graph_upscale_of(MANIFEST), 1.6)
        self.assertEqual(len(export_shapes(MANIFEST, None)), 4)  # 4 buckets x batch 1..maxBatch (1)
        shapes = export_shapes(MANIFEST, [1, 2])
        self.assertEqual(shapes[:2], [(1, 720, 1280), (2, 720, 1280)])
        self.assertEqual(len(shapes), 8)
        big = sorted({backbone_size(h, w, 1.6) for _, h, w in shapes})
        self.assertEqual(big, [(1152, 2048), (1280, 2048), (2048, 1152), (2048, 1280)])

    def test_refuses_a_backbone_size_that_is_not_whole_or_not_a_multiple_of_32(self):
        with self.assertRaises(SystemExit):
            backbone_size(721, 1280, 1.6)  # 1153.6
        with self.assertRaises(SystemExit):
            backbone_size(730, 1280, 1.6)  # 1168 = 36.5 x 32

    def test_buckets_replace_the_manifests(self):
        self.assertEqual(export_shapes(MANIFEST, [2], "800x1280"), [(2, 800, 1280)])
        # a team's own bucket: the generated manifest (make-manifest.ts) lists it
        self.assertEqual(export_shapes(MANIFEST, [1], "640x640"), [(1, 640, 640)])

    def test_manifest_without_graph_upscale_means_1(self):
        self.assertEqual(graph_upscale_of({"preprocess": {"buckets": [[480, 640]]}}), 1.0)


class CheckUpscaleTest(unittest.TestCase):
    def test_accepts_the_bilinear_half_pixel_resize_that_f_interpolate_exports(self):
        check_upscale(upscale_graph(1, 20, 40, 1.6), 1.6)

    def test_refuses_a_graph_without_it_or_with_a_nearest_resize(self):
        with self.assertRaises(SystemExit):
            check_upscale(bucket_graph(1, 24, 32), 1.6)
        with self.assertRaises(SystemExit):
            check_upscale(upscale_graph(1, 20, 40, 1.6, mode="nearest"), 1.6)

    def test_needs_nothing_without_upscale(self):
        check_upscale(bucket_graph(1, 24, 32), 1.0)


if __name__ == "__main__":
    unittest.main()
