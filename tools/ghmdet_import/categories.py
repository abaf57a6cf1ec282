"""COCO category tables: torchvision's 91-entry list (index = COCO category id) and the 80 detection classes."""

# torchvision.models.detection numbers its COCO classes by category id: index 0 is the background and the ids
# COCO leaves unused are "N/A". A torchvision detector therefore has 91 class logits.
TORCHVISION_COCO_NAMES = [
    "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck",
    "boat", "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench", "bird",
    "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A",
    "backpack", "umbrella", "N/A", "N/A", "handbag", "tie", "suitcase", "frisbee", "skis",
    "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
    "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
    "cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A", "toilet",
    "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
    "toaster", "sink", "refrigerator", "N/A", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
]

# The 80 COCO detection classes in category-id order (mmdetection's CocoDataset.CLASSES), with their ids.
COCO_80 = [(i, n) for i, n in enumerate(TORCHVISION_COCO_NAMES) if i > 0 and n != "N/A"]


def torchvision_coco_categories():
    """[{id, name}] for class index 0..90 of a torchvision COCO detector (id = index)."""
    return [{"id": i, "name": n} for i, n in enumerate(TORCHVISION_COCO_NAMES)]


def mmdet_categories(class_names):
    """[{id, name}] for an mmdetection detector's classes: COCO's category ids when the names are COCO's 80
    classes in order (what CocoDataset assigns), otherwise 1..K (the order of a custom dataset's `classes`)."""
    names = list(class_names)
    if names == [n for _, n in COCO_80]:
        return [{"id": i, "name": n} for i, n in COCO_80]
    return [{"id": k + 1, "name": n} for k, n in enumerate(names)]
