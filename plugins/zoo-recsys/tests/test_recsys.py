import pytest
import torch
from zoo_recsys.models import BiasedMF, NeuMF

import zoo


def test_biased_mf_is_mean_plus_biases_plus_dot():
    model = BiasedMF(num_users=3, num_items=4, dim=2, global_mean=3.5)
    with torch.no_grad():
        model.user_bias.weight[1] = 0.25
        model.item_bias.weight[2] = -0.5
    users, items = torch.tensor([1]), torch.tensor([2])
    expected = 3.5 + 0.25 - 0.5 + (model.user.weight[1] * model.item.weight[2]).sum()
    assert torch.allclose(model(users, items), expected.reshape(1))


def test_neumf_fuses_gmf_and_mlp():
    model = NeuMF(num_users=10, num_items=20, gmf_dim=4, mlp_layers=[16, 8, 4])
    out = model(torch.tensor([0, 9]), torch.tensor([5, 19]))
    assert out.shape == (2,)
    assert model.output.in_features == 4 + 4
    with pytest.raises(ValueError, match="even width"):
        NeuMF(num_users=1, num_items=1, mlp_layers=[7])


def test_sparse_embeddings_give_sparse_gradients():
    model = BiasedMF(num_users=5, num_items=5, dim=3, sparse=True)
    model(torch.tensor([1, 2]), torch.tensor([3, 4])).sum().backward()
    assert model.user.weight.grad.is_sparse


def test_defaults_are_sized_for_movielens_100k():
    info = zoo.model_info("mf")
    assert info["kwargs"] == {"num_users": 943, "num_items": 1682, "dim": 64}
    assert info["params"] == (943 + 1682) * (64 + 1) + 1
    assert zoo.create_model("ncf", num_users=3, num_items=3).gmf_user.num_embeddings == 3
