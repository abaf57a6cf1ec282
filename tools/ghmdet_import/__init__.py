"""PyTorch RetinaNet checkpoints (torchvision, mmdetection v2) -> ghmdet model directories.

torch and numpy only: reading an mmdetection checkpoint needs neither mmdetection nor torchvision. The entry point
is tools/torch_to_ghmdet.py; each architecture has its tensor table and config in its own module.
"""
