"""Unit tests for verify_onnx.py's numpy helpers (the parts that decide pass/fail); runs without torch.

  /usr/bin/python3 -m unittest models/codetr/export/test_verify_helpers.py   (also run by merge_buckets.test.ts)
"""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_onnx import decode, iou, match  # noqa: E402


def logits_for(scores):
    """Inverse sigmoid of the wanted scores."""
    s = np.asarray(scores, dtype=np.float64)
    return np.log(s / (1 - s))


class DecodeTest(unittest.TestCase):
    def test_sigmoid_top_k_and_cxcywh_to_pixels(self):
        logits = logits_for([[0.1, 0.9], [0.8, 0.05], [0.2, 0.3]])  # 3 queries x 2 classes
        boxes = np.array([[0.5, 0.5, 0.2, 0.4], [0.25, 0.25, 0.1, 0.1], [0.9, 0.9, 0.1, 0.1]])
        xyxy, scores, labels = decode(logits, boxes, height=100, width=200, top_k=300, threshold=0.5)
        np.testing.assert_allclose(scores, [0.9, 0.8])
        self.assertEqual(labels.tolist(), [1, 0])
        np.testing.assert_allclose(xyxy[0], [80, 30, 120, 70])  # cx 100, cy 50, w 40, h 40
        np.testing.assert_allclose(xyxy[1], [40, 20, 60, 30])

    def test_top_k_limits_before_threshold(self):
        logits = logits_for([[0.9, 0.8, 0.7]])
        _, scores, _ = decode(logits, np.array([[0.5, 0.5, 0.1, 0.1]]), 10, 10, top_k=2, threshold=0.0)
        np.testing.assert_allclose(scores, [0.9, 0.8])


class MatchTest(unittest.TestCase):
    box = np.array([[10.0, 10.0, 50.0, 50.0]])

    def test_identical_detections_match(self):
        dets = (self.box, np.array([0.9]), np.array([3]))
        self.assertEqual(match(dets, dets), (1, 0, 0))

    def test_label_score_or_box_differences_do_not_match(self):
        base = (self.box, np.array([0.9]), np.array([3]))
        for other in [
            (self.box, np.array([0.9]), np.array([4])),  # another class
            (self.box, np.array([0.85]), np.array([3])),  # score off by 0.05
            (self.box + np.array([[8, 0, 8, 0]]), np.array([0.9]), np.array([3])),  # IoU 0.67
        ]:
            self.assertEqual(match(base, other), (0, 1, 1))

    def test_iou(self):
        self.assertAlmostEqual(iou([0, 0, 10, 10], [5, 0, 15, 10]), 50 / 150)
        self.assertEqual(iou([0, 0, 1, 1], [2, 2, 3, 3]), 0.0)


if __name__ == "__main__":
    unittest.main()
