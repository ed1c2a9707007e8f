from __future__ import annotations

import pytest

from search_spaces.references import EFFICIENTNET_TABLE, reference
from search_spaces.rounding import apply_multipliers, round_filters, round_repeats


@pytest.mark.parametrize(
    ("channels", "width", "expected"),
    [
        (32, 1.0, 32),
        (16, 1.1, 16),  # 17.6 -> 16
        (40, 1.1, 48),  # 44 -> 48 (ties round up: int(44 + 4) // 8 * 8)
        (80, 1.1, 88),
        (1280, 1.1, 1408),
        (32, 1.2, 40),  # 38.4 -> 40
        (24, 0.75, 24),  # 18 -> 16 would be below 90%, so +8
        (16, 0.25, 8),  # never below the divisor
        (12, 1.0, 16),  # rounding applies even at width 1.0
    ],
)
def test_round_filters(channels, width, expected):
    assert round_filters(channels, width) == expected


def test_round_repeats_uses_ceil_with_the_float_trap():
    assert round_repeats(3, 1.1) == 4
    assert round_repeats(4, 1.0) == 4
    assert 25 * 2.2 > 55  # the trap the references keep
    assert round_repeats(25, 2.2) == 56


@pytest.mark.parametrize(
    ("name", "stem", "channels", "head", "repeats"),
    [
        ("efficientnet_b2", 32, [16, 24, 48, 88, 120, 208, 352], 1408, [2, 3, 3, 4, 4, 5, 2]),
        ("efficientnet_b3", 40, [24, 32, 48, 96, 136, 232, 384], 1536, [2, 3, 3, 5, 5, 6, 2]),
        ("efficientnet_b7", 64, [32, 48, 80, 160, 224, 384, 640], 2560, [4, 7, 7, 10, 10, 13, 4]),
    ],
)
def test_reference_worked_values(name, stem, channels, head, repeats):
    g = reference(name)
    assert g.stem == stem
    assert [b.out_channels for b in g.blocks] == channels
    assert g.head == head
    assert [b.repeats for b in g.blocks] == repeats
    assert g.resolution == EFFICIENTNET_TABLE[name].resolution
    assert g.dropout == EFFICIENTNET_TABLE[name].dropout


def test_apply_multipliers_is_idempotent_at_one():
    b3 = reference("efficientnet_b3")
    assert apply_multipliers(b3, 1.0, 1.0) == b3


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "2", True])
def test_multipliers_must_be_positive_numbers(bad):
    with pytest.raises(ValueError, match="multiplier must be a positive number"):
        apply_multipliers(reference("efficientnet_b0"), width=bad)
