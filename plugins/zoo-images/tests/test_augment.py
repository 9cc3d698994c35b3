import torch
from zoo_images.augment import normalize, random_crop_flip


def test_crop_shifts_and_pads_with_zeros():
    images = torch.arange(1, 17, dtype=torch.uint8).view(1, 1, 4, 4).repeat(64, 3, 1, 1)
    torch.manual_seed(0)
    out = random_crop_flip(images, padding=1, flip=False)
    assert out.shape == images.shape and out.dtype == torch.uint8
    assert (out == 0).any() and any(not torch.equal(o, images[0]) for o in out)
    for o in out:  # every crop is a shifted window of the zero-padded image
        padded = torch.nn.functional.pad(images[0], (1, 1, 1, 1))
        assert any(torch.equal(o, padded[:, y : y + 4, x : x + 4]) for y in range(3) for x in range(3))


def test_flip_mirrors_about_half_and_is_seeded():
    images = torch.arange(8, dtype=torch.uint8).view(1, 1, 1, 8).repeat(200, 3, 1, 1)
    torch.manual_seed(1)
    a = random_crop_flip(images, padding=0, flip=True)
    torch.manual_seed(1)
    b = random_crop_flip(images, padding=0, flip=True)
    mirrored = (a[:, 0, 0, 0] == 7).sum().item()
    assert torch.equal(a, b) and 60 < mirrored < 140


def test_normalize():
    out = normalize(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8), [0.5] * 3, [0.5] * 3)
    assert torch.allclose(out, torch.ones_like(out))
