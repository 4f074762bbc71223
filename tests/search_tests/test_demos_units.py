"""Demonstration choice for classification-like tasks: a draw covers the labels."""

from __future__ import annotations

from archon.evaluate import Example
from archon.search._demos import DemoBlock
from archon.search._demos import DemoPool
from archon.search._demos import choose

SKEWED = tuple(Example(i, {"input": f"x{i}"}, g) for i, g in enumerate(["Europe"] * 20 + ["Asia"] * 4 + ["Africa"] * 3))


def test_a_random_draw_covers_every_label_of_a_skewed_split() -> None:
    for seed in range(10):
        picked = choose(DemoBlock("d", ""), DemoPool(SKEWED), 3, "random", seed)
        assert sorted(a for _, a in picked) == ["Africa", "Asia", "Europe"], seed
        six = choose(DemoBlock("d", ""), DemoPool(SKEWED), 6, "random", seed)
        assert sorted(a for _, a in six) == ["Africa", "Africa", "Asia", "Asia", "Europe", "Europe"]


def test_bootstrapped_demonstrations_are_balanced_too() -> None:
    right = tuple((e, e.gold) for e in SKEWED[:22])  # the baseline was right on Europe and 2 Asia items
    picked = choose(DemoBlock("d", ""), DemoPool(SKEWED, right), 4, "bootstrap", 0)
    assert sorted(a for _, a in picked) == ["Asia", "Asia", "Europe", "Europe"]


def test_open_answers_and_first_are_left_as_drawn() -> None:
    words = tuple(Example(i, {"input": f"w{i}"}, f"a{i}") for i in range(30))
    first = choose(DemoBlock("d", ""), DemoPool(SKEWED), 3, "first", 0)
    assert [e.index for e, _ in first] == [0, 1, 2]  # the baseline's pick: the first items, unchanged
    drawn = choose(DemoBlock("d", ""), DemoPool(words), 5, "random", 3)
    import random

    expected = [(e, e.gold) for e in words]
    random.Random(3).shuffle(expected)
    assert drawn == expected[:5]


def test_too_few_bootstrapped_are_filled_with_labeled_train_items() -> None:
    words = tuple(Example(i, {"input": f"w{i}"}, f"a{i}") for i in range(30))
    right = tuple((e, f"model-{e.index}") for e in words[:3])  # the baseline was right on 3 items
    picked = choose(DemoBlock("d", ""), DemoPool(words, right), 8, "bootstrap", 1)
    assert len(picked) == 8 and len({e.index for e, _ in picked}) == 8
    own = [(e.index, a) for e, a in picked if a.startswith("model-")]
    assert sorted(own) == [(0, "model-0"), (1, "model-1"), (2, "model-2")]  # shown with the model's answers
    assert all(a == e.gold for e, a in picked if not a.startswith("model-"))  # the rest: gold answers
    assert choose(DemoBlock("d", ""), DemoPool(words, right), 2, "bootstrap", 1) == picked[:2]  # enough: none filled
