"""timm interoperability: arch_def and key mapping here, and the round trip against timm itself.

The tests marked by the ``timm`` fixture run timm's own models (random init, nothing downloaded).
timm imports torchvision, which has no CPU build on this machine: where it is missing, timm is
imported with the stand-in in ``tests/timm_shim`` (see its README). Without timm they are skipped.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from torch import nn

from search_spaces.build import build, count_params
from search_spaces.codec import genotype_to_dict, load_genotype, parse_blocks, save_genotype
from search_spaces.genotype import BN_EPS, Genotype
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import REFERENCES, reference
from search_spaces.timm_compat import (
    TIMM_BN_EPS,
    TIMM_NAMES,
    load_timm_state_dict,
    timm_arch_def,
    timm_arch_text,
    timm_genotype,
    timm_module_names,
)

SHIM = Path(__file__).resolve().parents[1] / "timm_shim"
RESOLUTION = 64

# timm's own B0 definition (timm/models/efficientnet.py, _gen_efficientnet).
TIMM_B0 = [
    ["ds_r1_k3_s1_e1_c16_se0.25"],
    ["ir_r2_k3_s2_e6_c24_se0.25"],
    ["ir_r2_k5_s2_e6_c40_se0.25"],
    ["ir_r3_k3_s2_e6_c80_se0.25"],
    ["ir_r3_k5_s1_e6_c112_se0.25"],
    ["ir_r4_k5_s2_e6_c192_se0.25"],
    ["ir_r1_k3_s1_e6_c320_se0.25"],
]


@pytest.fixture(scope="module")
def timm() -> ModuleType:
    """timm, imported with the torchvision stand-in where torchvision is missing."""
    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed (pip install --no-deps timm)")
    if importlib.util.find_spec("torchvision") is None:
        sys.path.insert(0, str(SHIM))
        try:
            return pytest.importorskip("timm")
        finally:
            sys.path.remove(str(SHIM))
    return pytest.importorskip("timm")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: these small forward passes gain nothing from two, and lose much when a core is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm distinct statistics and affine terms, so a swapped or misnamed one shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))
    return model.eval()


def timm_rebuild(timm: ModuleType, genotype: Genotype, num_classes: int = 1000) -> nn.Module:
    """The model that ``timm_arch_text``'s own snippet builds, run as written."""
    namespace: dict[str, object] = {}
    exec(timm_arch_text(genotype).replace("num_classes=1000", f"num_classes={num_classes}"), namespace)
    return namespace["model"]


def max_logit_difference(ours: nn.Module, theirs: nn.Module, seed: int = 0) -> float:
    """Largest |difference| of the two models' logits on one random batch, which must not be all near zero."""
    x = torch.randn(2, 3, RESOLUTION, RESOLUTION, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = theirs.eval()(x)
        difference = (ours.eval()(x) - expected).abs().max().item()
    assert expected.std().item() > 0.01, "logits too small for the comparison to mean anything"
    return difference


def shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_every_reference_has_a_timm_name():
    assert set(TIMM_NAMES) == set(REFERENCES)
    assert TIMM_NAMES["mnasnet_a1"] == "semnasnet_100" and TIMM_NAMES["mobilenet_v2"] == "mobilenetv2_100"
    assert timm_genotype("efficientnet_b3") == replace(reference("efficientnet_b3"), bn_eps=1e-5)
    with pytest.raises(ValueError, match="no timm model for 'resnet50'; known: efficientnet_b0"):
        timm_genotype("resnet50")


def test_b0_is_written_as_timms_own_definition():
    spec = timm_arch_def(timm_genotype("efficientnet_b0"))
    assert spec["arch_def"] == TIMM_B0
    assert spec["kwargs"] == {
        "stem_size": 32,
        "fix_stem": True,
        "num_features": 1280,
        "act_layer": "silu",
        "pad_type": "",
        "drop_rate": 0.2,
        "drop_path_rate": 0.2,
    }
    assert spec["bn_args"] == {"eps": TIMM_BN_EPS}


def test_our_notation_is_translated_where_timms_differs():
    genotype = Genotype(
        parse_blocks("cn_r2_k3_s1_c32,ir_r3_k3_s2_e1_c24_se0.3,ir_r2_k3_s2_e3_c24_noskip,cn_r1_k3_s1_c24_noskip"),
        stem=16,
    )
    assert timm_arch_def(genotype)["arch_def"] == [
        ["cn_r2_k3_s1_c32_skip"],  # timm's cn has no residual unless told
        # int(32 * 0.3) = 9 where timm would round to 10: the first layer carries 9 / 32 exactly
        ["ds_r1_k3_s2_e1_c24_se0.28125", "ds_r2_k3_s1_e1_c24_se0.3"],  # an ir without expansion is timm's ds
        ["ir_r2_k3_s2_e3_c24_noskip"],
        ["cn_r1_k3_s1_c24"],
    ]


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ("ds_r1_k3_s1_c16,ir_r2_k3_s2_e6_c24_poolskip", r"stage 2 'ir_r2_k3_s2_e6_c24_poolskip': poolskip"),
        ("cn_r1_k3_s1_c16_se0.25", r"stage 1 'cn_r1_k3_s1_e1_c16_se0.25': se0.25 on a cn block"),
        ("ds_r1_k3_s1_c20,ir_r1_k3_s2_e3_c24", r"stage 2 'ir_r1_k3_s2_e3_c24': expanded width 60 is not a multiple"),
    ],
)
def test_what_timm_cannot_express_is_refused_and_said(blocks, message):
    genotype = Genotype(parse_blocks(blocks), name="odd")
    with pytest.raises(ValueError, match=f"genotype 'odd' cannot be written in timm's notation: {message}"):
        timm_arch_def(genotype)
    text = timm_arch_text(genotype)
    assert "cannot be written as a timm arch_def" in text and "arch_def =" not in text
    with pytest.raises(ValueError, match=f"has no timm counterpart: {message}"):
        load_timm_state_dict(build(genotype), {}, genotype)


def test_bn_eps_is_saved_only_when_it_is_not_the_default(tmp_path):
    assert "bn_eps" not in genotype_to_dict(reference("efficientnet_b0"))
    genotype = timm_genotype("mnasnet_a1")
    assert genotype_to_dict(genotype)["bn_eps"] == 1e-5
    for suffix in (".yaml", ".json"):
        assert load_genotype(save_genotype(genotype, tmp_path / f"g{suffix}")) == genotype
    (tmp_path / "hand.yaml").write_text("blocks: [ds_r1_k3_s1_c16]\nbn_eps: 1e-5\n")  # YAML reads 1e-5 as text
    assert load_genotype(tmp_path / "hand.yaml").bn_eps == 1e-5
    norms = [m for m in build(genotype).modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and {m.eps for m in norms} == {1e-5}
    assert reference("efficientnet_b0").bn_eps == BN_EPS == 1e-3
    with pytest.raises(ValueError, match="bn_eps must be a float in"):
        replace(genotype, bn_eps=0.0)


def test_mapping_without_timm_round_trips_and_names_what_does_not_fit():
    """Our own weights renamed to timm's keys (the inverse mapping) load back exactly."""
    genotype = reference("mnasnet_a1")
    source = build(genotype, num_classes=10)
    inverse = {ours: theirs for theirs, ours in timm_module_names(genotype).items()}
    theirs = {}
    for key, value in source.state_dict().items():
        module, _, parameter = key.rpartition(".")
        theirs[f"{inverse[module]}.{parameter}"] = value
    assert "blocks.2.1.se.conv_reduce.weight" in theirs and "conv_stem.weight" in theirs
    target = build(genotype, num_classes=10)
    load_timm_state_dict(target, theirs, genotype)
    assert all(torch.equal(v, target.state_dict()[k]) for k, v in source.state_dict().items())
    broken = {k: v for k, v in theirs.items() if k != "bn2.running_var"}
    broken["blocks.9.0.conv_pw.weight"] = torch.zeros(1)
    broken["classifier.weight"] = torch.zeros(3, 1280)
    with pytest.raises(ValueError) as err:
        load_timm_state_dict(target, broken, genotype)
    assert str(err.value) == (
        "timm state dict does not fit genotype 'mnasnet_a1': 1 timm keys with no counterpart here: "
        "blocks.9.0.conv_pw.weight; 1 keys here with no timm weight: head.1.running_var; "
        "1 shape mismatches: classifier.weight (3, 1280) vs classifier.weight (10, 1280)"
    )


@pytest.mark.parametrize("name", list(TIMM_NAMES))
def test_timms_weights_give_timms_logits(timm, name):
    theirs = randomise(timm.create_model(TIMM_NAMES[name], pretrained=False), seed=len(name))
    genotype = timm_genotype(name)
    ours = build(genotype)
    load_timm_state_dict(ours, theirs.state_dict(), genotype)
    difference = max_logit_difference(ours, theirs)
    print(f"{name}: max |logit difference| {difference:.2e}")
    assert difference <= 1e-5


def test_the_reference_eps_is_needed_for_timms_weights(timm):
    theirs = randomise(timm.create_model("efficientnet_b0", pretrained=False))
    ours = build(reference("efficientnet_b0"))  # BatchNorm eps 1e-3, not timm's 1e-5
    load_timm_state_dict(ours, theirs.state_dict(), reference("efficientnet_b0"))
    assert max_logit_difference(ours, theirs) > 1e-4


@pytest.mark.parametrize("name", list(TIMM_NAMES))
def test_arch_text_rebuilds_timms_model(timm, name):
    with torch.device("meta"):  # shapes only: no weights to initialise
        rebuilt = timm_rebuild(timm, timm_genotype(name))
        named = timm.create_model(TIMM_NAMES[name], pretrained=False)
    assert shapes(rebuilt) == shapes(named)


def expressible_member(seed: int) -> Genotype:
    """A random member of the space around B0, moved onto what timm can express (no poolskip, no SE on cn)."""
    space = mnasnet_space(reference("efficientnet_b0"))
    rng = np.random.default_rng(seed)
    params = {name: opts[int(rng.integers(len(opts)))] for name, opts in space.distributions().items()}
    for i in range(len(space.blocks)):
        params[f"b{i + 1}_skip"] = "none" if params[f"b{i + 1}_skip"] == "none" else "id"
        params[f"b{i + 1}_se"] = 0.0 if params[f"b{i + 1}_op"] == "cn" else params[f"b{i + 1}_se"]
    return space.decode(params)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_random_member_of_the_space_builds_in_timm(timm, seed):
    genotype = expressible_member(seed)
    rebuilt = randomise(timm_rebuild(timm, genotype, num_classes=10), seed)
    ours = build(genotype, num_classes=10)
    assert count_params(rebuilt) == count_params(ours)
    load_timm_state_dict(ours, rebuilt.state_dict(), genotype)
    assert max_logit_difference(ours, rebuilt) <= 1e-5
