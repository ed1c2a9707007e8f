from __future__ import annotations

import pytest
import torch
from torch import nn

from search_spaces.blocks import BN_EPS, Block, DropPath, SqueezeExcite
from search_spaces.build import build, count_params
from search_spaces.codec import parse_blocks
from search_spaces.genotype import Genotype
from search_spaces.references import reference

TINY = Genotype(
    parse_blocks(
        "ds_r1_k3_s1_e1_c8_se0.25,ir_r2_k5_s2_e3_c16_poolskip,cn_r1_k3_s2_e1_c24_noskip,ir_r2_k3_s1_e6_c24_se0.25"
    ),
    stem=8,
    head=32,
)


@pytest.mark.parametrize("resolution", [32, 33, 47, 64, 97])
@pytest.mark.parametrize("name", ["efficientnet_b0", "mobilenet_v2", "mnasnet_a1"])
def test_forward_shapes_at_several_resolutions(name, resolution):
    model = build(reference(name), width=0.5, num_classes=7, in_chans=1).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, resolution, resolution))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


def test_tiny_genotype_trains_one_step():
    model = build(TINY, num_classes=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 0])
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)


def test_batchnorm_eps_is_the_references():
    bns = [m for m in build(TINY).modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(m.eps == BN_EPS == 1e-3 for m in bns)


def test_residual_only_when_shapes_match():
    model = build(reference("efficientnet_b0"))
    blocks = [m for m in model.modules() if isinstance(m, Block)]
    with_residual = [b.shortcut is not None for b in blocks]
    # The first layer of every stage changes stride or channels; the repeats keep them.
    assert with_residual == [
        False,
        False,
        True,
        False,
        True,
        False,
        True,
        True,
        False,
        True,
        True,
        False,
        True,
        True,
        True,
        False,
    ]


def test_noskip_and_poolskip():
    model = build(TINY)
    blocks = [m for m in model.modules() if isinstance(m, Block)]
    pools = [b for b in blocks if b.shortcut is not None and not isinstance(b.shortcut, nn.Identity)]
    assert len(pools) == 2  # both layers of the poolskip stage, stride 2 and stride 1
    assert blocks[3].shortcut is None  # cn ... noskip


def test_se_width_comes_from_block_input_channels():
    model = build(reference("efficientnet_b0"))
    se = [m for m in model.modules() if isinstance(m, SqueezeExcite)]
    # Stage 2's first layer: 16 input channels, expanded to 96; SE reduces to 16 * 0.25 = 4.
    assert (se[1].reduce.in_channels, se[1].reduce.out_channels) == (96, 4)
    # Stage 1 (ds): 32 input channels, SE on 32 -> 8.
    assert (se[0].reduce.in_channels, se[0].reduce.out_channels) == (32, 8)


def test_drop_connect_grows_linearly_over_blocks():
    model = build(reference("efficientnet_b0"), drop_connect=0.2)
    rates = [
        m.drop_path.rate if isinstance(m.drop_path, DropPath) else None for m in model.modules() if isinstance(m, Block)
    ]
    expected = [0.2 * i / 16 for i in range(16)]
    for rate, want in zip(rates, expected, strict=False):
        assert rate is None or rate == pytest.approx(want)
    assert rates[-2] == pytest.approx(0.2 * 14 / 16)


def test_width_and_depth_multipliers_match_the_scaled_reference():
    b0 = reference("efficientnet_b0")
    b3 = reference("efficientnet_b3")
    assert count_params(build(b0, width=1.2, depth=1.4)) == count_params(build(b3)) == 12_233_232


def test_build_rejects_bad_arguments():
    with pytest.raises(ValueError, match="width multiplier"):
        build(TINY, width=0)
    with pytest.raises(ValueError, match="num_classes"):
        build(TINY, num_classes=0)


def test_drop_path_is_identity_in_eval_and_scales_in_training():
    layer = DropPath(0.5)
    x = torch.ones(1000, 1, 1, 1)
    assert torch.equal(layer.eval()(x), x)
    out = layer.train()(x)
    assert set(out.unique().tolist()) <= {0.0, 2.0}
    assert 0.3 < out.mean().item() / 2 < 0.7
