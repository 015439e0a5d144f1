"""TCAV on an MLP whose target logit rises along a planted direction of its hidden layer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import SGDClassifier

import blackbox_xai as bx
from blackbox_xai.explainers.concepts.tcav import _t_test


def test_planted_concept_scores_one_and_is_significant(planted):
    model, v, _, sets = planted
    tcav = bx.Tcav(model, "hidden", n_random=10, seed=0)
    result = tcav.score(
        sets["targets"],
        1,
        {"planted": sets["concept"], "random": sets["random_concept"]},
        sets["pool"],
    )
    assert result.scores.shape == (2, 10)
    np.testing.assert_array_equal(result.scores[0], 1.0)  # every input, every random set
    assert result.significant.tolist() == [True, False]
    assert result.p_values[0] < 0.01 and result.p_values[1] > 0.05
    assert [r["verdict"] for r in result.summary()] == ["significant", "not significant"]
    # the CAV points along the planted direction
    cosines = result.cavs[0] @ v
    assert cosines.min() > 0.9
    # magnitudes of the planted concept: every directional derivative is positive
    np.testing.assert_allclose(result.magnitudes[0], 1.0)
    # the other classes' logits do not rise along v: class 0's score is far from 1
    other = tcav.score(sets["targets"], 0, {"planted": sets["concept"]}, sets["pool"])
    assert other.mean[0] < 0.5


def test_scores_match_the_definition(planted):
    model, _, _, sets = planted
    tcav = bx.Tcav(model, "hidden", n_random=3, seed=1)
    result = tcav.score(sets["targets"], 1, {"c": sets["concept"]}, sets["pool"])
    _, grads = model.activations_and_gradients(sets["targets"], 1, "hidden")
    derivatives = grads @ result.cavs[0].T  # (n, n_random)
    np.testing.assert_array_equal(result.scores[0], (derivatives > 0).mean(axis=0))
    pos = np.where(derivatives > 0, derivatives, 0).sum(0)
    np.testing.assert_allclose(result.magnitudes[0], pos / np.abs(derivatives).sum(0))


def test_cavs_are_cached_across_calls_and_seed_reproducible(planted):
    model, _, _, sets = planted
    tcav = bx.Tcav(model, "relu1", n_random=4, seed=3)  # a node name stands for its output
    assert tcav.layer == "hidden"
    first = tcav.score(sets["targets"], 1, {"c": sets["concept"]}, sets["pool"])
    assert tcav.n_cavs_trained == 8  # 4 concept-vs-random, 4 random-vs-random
    again = tcav.score(sets["targets"][:20], 2, {"c": sets["concept"]}, sets["pool"])
    assert tcav.n_cavs_trained == 8  # all reused
    np.testing.assert_array_equal(first.cavs, again.cavs)
    fresh = bx.Tcav(model, "hidden", n_random=4, seed=3).score(
        sets["targets"], 1, {"c": sets["concept"]}, sets["pool"]
    )
    np.testing.assert_array_equal(fresh.cavs, first.cavs)
    np.testing.assert_array_equal(fresh.scores, first.scores)


def test_relative_tcav_prefers_the_planted_concept(planted):
    model, v, _, sets = planted
    tcav = bx.Tcav(model, "hidden", n_random=5, seed=0)
    result = tcav.relative(
        sets["targets"],
        1,
        ("planted", sets["concept"]),
        ("random", sets["random_concept"]),
        sets["pool"],
    )
    assert result.concepts == ["planted vs random"]
    np.testing.assert_array_equal(result.scores[0], 1.0)
    assert result.cavs[0].shape == (5, 8) and (result.cavs[0] @ v).min() > 0.8
    assert result.meta["relative"]


def test_an_estimator_classifier_and_given_random_sets(planted):
    model, v, _, sets = planted
    pool = sets["pool"]
    randoms = [pool[i * 30 : (i + 1) * 30] for i in range(4)]
    tcav = bx.Tcav(model, "hidden", classifier=SGDClassifier(alpha=0.01), seed=0)
    result = tcav.score(sets["targets"], 1, {"c": sets["concept"]}, randoms)
    assert result.scores.shape == (1, 4)
    assert (result.cavs[0] @ v).min() > 0.8


def test_t_test_is_scipys_and_exact_when_nothing_varies():
    a, b = np.array([1.0, 0.9, 1.0, 0.8]), np.array([0.2, 0.7, 0.4, 0.5, 0.9])
    assert _t_test(a, b) == pytest.approx(stats.ttest_ind(a, b).pvalue, rel=1e-12)
    assert _t_test(np.ones(3), np.ones(4)) == 1.0
    assert _t_test(np.ones(3), np.zeros(4)) == 0.0


def test_bad_input(planted):
    model, _, _, sets = planted
    with pytest.raises(ValueError, match=r"layer 'hiden' is neither .*candidates are 'hidden'"):
        bx.Tcav(model, "hiden")
    tcav = bx.Tcav(model, "hidden", seed=0)
    small = sets["concept"][:10]
    randoms = [sets["pool"][:20], sets["pool"][20:40]]
    with pytest.raises(ValueError, match=r"concept 'small' has 10 examples, fewer than the 20"):
        tcav.score(sets["targets"], 1, {"small": small}, randoms)
    with pytest.raises(ValueError, match="at least 2 random sets"):
        tcav.score(sets["targets"], 1, {"c": sets["concept"]}, [sets["pool"][:20]])
    with pytest.raises(ValueError, match="n_random must be an integer >= 2"):
        bx.Tcav(model, "hidden", n_random=1)
    with pytest.raises(ValueError, match="classifier must be 'linear'"):
        bx.Tcav(model, "hidden", classifier="svm")
    with pytest.raises(TypeError, match="target must be a class index"):
        tcav.score(sets["targets"], 1.5, {"c": sets["concept"]}, sets["pool"])


def test_digit_concepts_at_a_convolutional_layer(digits_cnn, digits_images):
    """Sevens drive class 7 at the last ReLU of the digits CNN; zeros do not."""
    images, labels = digits_images
    rng = np.random.default_rng(0)
    sevens = rng.permutation(np.flatnonzero(labels == 7))
    zeros = np.flatnonzero(labels == 0)[:40]
    tcav = bx.Tcav(digits_cnn, "/features/features.4/Relu_output_0", n_random=6, seed=0)
    result = tcav.score(
        images[sevens[:60]],
        7,
        {"sevens": images[sevens[60:100]], "zeros": images[zeros]},
        images[rng.permutation(len(images))[:300]],
    )
    assert result.cavs.shape == (2, 6, 12 * 4 * 4)
    assert result.mean[0] > 0.95 and result.significant[0]
    assert result.mean[1] < 0.2
