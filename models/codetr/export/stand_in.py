#!/usr/bin/env python3
"""Writes a stand-in module for compiled code that is not there (mmcv's _ext, pycocotools' _mask, shapely):
importing it works and every attribute is a function that raises, naming what is missing. mmcv's
ext_loader.load_ext only checks hasattr(), and mmdet imports these at module level without calling them on
the export/profile path.

  stand_in.py PATH WHAT [HINT]     e.g. stand_in.py mmcv/_ext.py "mmcv compiled op" "build_mmcv_ops.sh"
"""
import os
import sys

BODY = '''"""Stand-in for {what} (models/codetr/export/stand_in.py): any call raises."""
def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    def _missing(*args, **kwargs):
        raise NotImplementedError(f"{what} stand-in: {{name!r}} is not available ({hint})")
    return _missing
'''


def write(path, what, hint="not built on this machine"):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(BODY.format(what=what, hint=hint))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    write(*sys.argv[1:])
