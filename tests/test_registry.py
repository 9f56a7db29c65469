"""The champion rule: a new version takes the alias only with at least the champion's accuracy."""

from __future__ import annotations

from mnist_pipeline.registry import decide_promotion


def test_the_first_version_is_always_the_champion():
    decision = decide_promotion("1", 0.5, None)
    assert decision.promote
    assert decision.reason == "promoted: version 1 is the first champion (val_accuracy 0.5000)"


def test_a_better_or_equal_version_takes_the_alias():
    assert decide_promotion("3", 0.99, ("2", 0.98)).promote
    equal = decide_promotion("3", 0.98, ("2", 0.98))
    assert equal.promote
    assert equal.reason == "promoted: val_accuracy 0.9800 >= 0.9800 of champion version 2"


def test_a_worse_version_does_not():
    decision = decide_promotion("4", 0.97, ("2", 0.98))
    assert not decision.promote
    assert decision.reason == "not promoted: val_accuracy 0.9700 < 0.9800 of champion version 2"
