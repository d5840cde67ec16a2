"""The task net behind label consistency and label preservation finds small objects too."""
import numpy as np
import torch

from refiner.tasknet import MAX_CLASS_WEIGHT, class_weights, confusion, train_task_net


def squares(n: int, *, side: int, size: int = 96, per_image: int = 2, seed: int = 0):
    """Red squares on grey noise, and their masks."""
    rng = np.random.default_rng(seed)
    images, masks = [], []
    for _ in range(n):
        img = rng.integers(70, 190, (size, size, 3)).astype(np.uint8)
        sem = np.zeros((size, size), np.uint8)
        for _ in range(per_image):
            y, x = rng.integers(0, size - side, 2)
            img[y:y + side, x:x + side] = (220, 40, 40)
            sem[y:y + side, x:x + side] = 1
        images.append(img)
        masks.append(sem)
    return images, masks


def test_rare_classes_are_weighted_and_common_ones_are_not():
    _, small = squares(8, side=6)  # under 1 % of the pixels
    _, large = squares(8, side=40)  # a third of them
    assert class_weights(large, 2).tolist() == [1.0, 1.0]
    weights = class_weights(small, 3)  # class 2 absent: weight 1
    assert weights[0] == 1.0 and 2.0 < weights[1] <= MAX_CLASS_WEIGHT and weights[2] == 1.0


def test_task_net_segments_objects_under_one_percent_of_the_frame():
    # Plain cross-entropy on random crops learnt these as background (IoU 0), as it did the
    # 20 mm cubes of the real cubes set, so label preservation could not be measured there.
    torch.manual_seed(0)
    images, masks = squares(24, side=6)
    net = train_task_net(images, masks, 2, width=8, steps=150, batch_size=4, crop=48, seed=0)
    totals = torch.zeros(2, 2, dtype=torch.float64)
    for img, sem in zip(*squares(12, side=6, seed=1)):  # unseen images
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5 - 1
        totals += confusion(net, x, torch.from_numpy(sem.astype(np.int64))[None], 2)
    assert totals[0, 1] / totals[1, 1] > 0.4
