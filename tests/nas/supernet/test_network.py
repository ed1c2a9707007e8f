"""The supernet computes, for any member, exactly what that member built by ``search_spaces.build`` computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nas.supernet.network import Supernet
from search_spaces.codec import parse_blocks
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference

TINY_REFERENCE = Genotype(
    parse_blocks("ir_r1_k3_s1_e1_c16_se0.25,ir_r2_k3_s2_e6_c24,ir_r2_k5_s2_e6_c40_se0.25"),
    stem=16,
    head=64,
    name="tiny",
)


def tiny_supernet(width: float = 0.5) -> Supernet:
    torch.manual_seed(0)
    return Supernet(mnasnet_space(TINY_REFERENCE), width, 1.0, num_classes=10, in_chans=1)


def perturb_batchnorm(net: torch.nn.Module) -> None:
    """Non-trivial running statistics and affine parameters, so copying them is tested too."""
    generator = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for tensor in (m.weight.data, m.bias.data, m.running_mean):
                tensor.copy_(
                    torch.randn(tensor.shape, generator=generator) * 0.3 + (1.0 if tensor is m.weight.data else 0.0)
                )
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)


def members(net: Supernet, n: int) -> list[Genotype]:
    rng = np.random.default_rng(0)
    return [net.largest(), net.smallest(), *(net.sample(rng) for _ in range(n))]


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_subnet_computes_what_its_built_network_computes(mode):
    net = tiny_supernet()
    perturb_batchnorm(net)
    x = torch.randn(4, 1, 32, 32)
    for genotype in members(net, 12):
        model = net.extract(genotype)
        getattr(net, mode)()
        getattr(model, mode)()
        with torch.no_grad():
            expected, got = model(x), net(x, genotype)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_the_extracted_network_is_the_built_one():
    net = tiny_supernet()
    genotype = net.sample(np.random.default_rng(3))
    model = net.extract(genotype)
    assert model.genotype.blocks == net.scaled(genotype).blocks
    assert sum(p.numel() for p in model.parameters()) < sum(p.numel() for p in net.parameters())


def test_subnets_share_weights():
    """Kernel 3 is the centre of kernel 5; a narrower member uses the first channels of the widest."""
    net = tiny_supernet()
    large, small = net.largest(), net.smallest()
    big, little = net.extract(large), net.extract(small)
    stem_big, stem_little = big.stem[0].weight, little.stem[0].weight
    torch.testing.assert_close(stem_big, stem_little)
    assert large != small
    last_big = big.head[0].weight
    last_little = little.head[0].weight
    torch.testing.assert_close(last_little, last_big[:, : last_little.shape[1]])


def test_the_default_space_fits_and_runs():
    space = mnasnet_space(reference("efficientnet_b0"))
    net = Supernet(space, 0.5, 1.0, num_classes=10, in_chans=1)
    out = net(torch.randn(2, 1, 32, 32), net.largest())
    assert out.shape == (2, 10)


def test_a_genotype_outside_the_space_is_refused_in_one_line():
    net = tiny_supernet()
    outsider = reference("efficientnet_b0")
    with pytest.raises(ValueError, match="not in the supernet's space") as err:
        net(torch.randn(1, 1, 32, 32), outsider)
    assert "\n" not in str(err.value)
