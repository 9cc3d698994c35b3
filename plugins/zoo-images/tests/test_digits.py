import torch
from zoo_images.digits import load


def test_digits_are_real_fixed_and_rgb():
    a, b = load(), load(size=16)
    x, y = a.train.tensors
    assert (len(a.train), len(a.val)) == (1437, 360)
    assert x.shape[1:] == (3, 32, 32) and x.dtype == torch.uint8 and int(x.max()) > 200
    assert sorted(set(y.tolist())) == list(range(10))
    assert torch.equal(x[:, 0], x[:, 1])  # grey, replicated to three channels
    assert torch.equal(load().val.tensors[1], a.val.tensors[1])  # the same split every time
    assert b.train.tensors[0].shape[-1] == 16 and a.info["augment"]["flip"] is False
