import jax
import jax.numpy as jnp
import numpy as np
import pytest

from zoo.models.netvlad import NetVLAD, NetVLADPlusPlus


def _count(params) -> int:
    return sum(x.size for x in jax.tree.leaves(params))


def test_netvlad_code_is_unit_norm_with_intra_normalised_clusters():
    x = jax.random.normal(jax.random.key(0), (3, 10, 16))
    module = NetVLAD(clusters=4)
    params = module.init(jax.random.key(1), x)
    code = module.apply(params, x)
    assert code.shape == (3, 16 * 4)
    np.testing.assert_allclose(jnp.linalg.norm(code, axis=-1), 1.0, rtol=1e-5)
    # Before the global norm every cluster block has the same norm (intra-normalisation), so the
    # blocks of the [d, k] layout all have norm 1/sqrt(k).
    blocks = code.reshape(3, 16, 4)
    np.testing.assert_allclose(jnp.linalg.norm(blocks, axis=1), 0.5, rtol=1e-5)


def test_netvlad_matches_a_direct_numpy_reference():
    """Soft-assignment residuals summed over time, written out loop by loop."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 6)).astype(np.float32)
    module = NetVLAD(clusters=3)
    params = module.init(jax.random.key(0), x)
    w = np.asarray(params["params"]["assignment"])
    c = np.asarray(params["params"]["centres"])
    xn = x / np.linalg.norm(x, axis=-1, keepdims=True)
    logits = xn @ w
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    vlad = np.zeros((2, 6, 3))
    for b in range(2):
        for k in range(3):
            for t in range(5):
                vlad[b, :, k] += a[b, t, k] * (xn[b, t] - c[:, k])
    vlad /= np.linalg.norm(vlad, axis=1, keepdims=True)
    vlad = vlad.reshape(2, -1)
    vlad /= np.linalg.norm(vlad, axis=-1, keepdims=True)
    np.testing.assert_allclose(module.apply(params, x), vlad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dim, projected", [(512, False), (2048, True)])
def test_netvlad_pp_shapes_and_parameter_count(dim, projected):
    model = NetVLADPlusPlus(num_classes=17, vocab_size=64, projection_dim=512, dropout_rate=0.4)
    x = jnp.zeros((2, 30, dim))
    params = model.init(jax.random.key(0), x, train=False)["params"]
    assert model.apply({"params": params}, x, train=False).shape == (2, 18)
    assert set(params) == ({"projection"} if projected else set()) | {"vlad_before", "vlad_after", "classifier"}
    # Each half: two [512, 32] matrices; classifier [512*64 -> 18]; projection [dim -> 512].
    expected = 2 * 2 * 512 * 32 + 512 * 64 * 18 + 18 + (dim * 512 + 512 if projected else 0)
    assert _count(params) == expected


def test_netvlad_pp_uses_both_halves_of_the_window_separately():
    """Swapping the two halves of a window changes the output: the pooling is temporally aware."""
    model = NetVLADPlusPlus(num_classes=3, vocab_size=8, projection_dim=None)
    x = jax.random.normal(jax.random.key(0), (1, 10, 8))
    variables = model.init(jax.random.key(1), x, train=False)
    swapped = jnp.concatenate([x[:, 5:], x[:, :5]], axis=1)
    a = model.apply(variables, x, train=False)
    b = model.apply(variables, swapped, train=False)
    assert not np.allclose(a, b)
    # Shuffling frames within each half leaves it unchanged (NetVLAD is orderless inside a half).
    shuffled = x[:, jnp.array([4, 2, 0, 1, 3, 9, 5, 7, 6, 8])]
    np.testing.assert_allclose(model.apply(variables, shuffled, train=False), a, rtol=1e-5, atol=1e-6)


def test_dropout_only_in_training():
    model = NetVLADPlusPlus(num_classes=3, vocab_size=8, projection_dim=None, dropout_rate=0.5)
    x = jax.random.normal(jax.random.key(0), (4, 10, 8))
    variables = model.init(jax.random.key(1), x, train=False)
    eval_a = model.apply(variables, x, train=False)
    np.testing.assert_array_equal(eval_a, model.apply(variables, x, train=False))
    train_a = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(2)})
    assert not np.allclose(train_a, eval_a)
