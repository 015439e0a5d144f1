"""Peak memory: flat in the rows explained, and KernelShap's designs within a budget."""

import numpy as np
import pytest

import blackbox_xai as bx


def _linear(d):
    w = np.linspace(-1.0, 1.0, d)
    return lambda X: (X @ w)[:, None]


def test_exact_shapley_peak_memory_is_flat_in_rows(rng, peak_mib):
    # A 1/16 MiB budget makes blocks of 32 rows (2**8 coalitions): 64 and 512 rows are
    # 2 and 16 blocks. Each block's values are 64 KiB; keeping a view of every block
    # (the old base values) grew the peak by about 1 MiB from 64 to 512 rows.
    d = 8
    bg = rng.normal(size=(4, d))
    explainer = bx.ExactShapley(_linear(d), bx.Tabular(bg, memory_budget_mb=1 / 16))
    small, large = rng.normal(size=(64, d)), rng.normal(size=(512, d))
    explainer.explain(small)  # warm up (first-call allocations)
    peak_small = peak_mib(lambda: explainer.explain(small))
    peak_large = peak_mib(lambda: explainer.explain(large))
    # The result itself grows by 448 rows x (8 values + 1 base + 8 data) floats: 0.06 MiB.
    assert peak_large - peak_small < 0.25, (peak_small, peak_large)


def test_kernel_shap_peak_memory_is_flat_in_rows(rng, peak_mib):
    d = 12
    bg = rng.normal(size=(5, d))
    # 1 MiB: blocks of 8 rows (200 coalitions x 5 designs x 8 bytes x 8 rows = 64 KiB).
    masker = bx.Tabular(bg, memory_budget_mb=0.25)
    explainer = bx.KernelShap(_linear(d), masker, seed=0, memory_budget_mb=1)
    small, large = rng.normal(size=(4, d)), rng.normal(size=(64, d))
    explainer.explain(small, n_evals=200)
    peak_small = peak_mib(lambda: explainer.explain(small, n_evals=200))
    peak_large = peak_mib(lambda: explainer.explain(large, n_evals=200))
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)


def test_kernel_shap_refuses_designs_beyond_its_budget_and_names_the_largest(rng):
    d = 40
    bg = rng.normal(size=(100, d))
    explainer = bx.KernelShap(_linear(d), bg, seed=0)
    # 100 designs x 10**12 coalitions: refused at once, before any allocation.
    with pytest.raises(ValueError, match=r"n_evals=1000000000000 needs about .* MiB") as info:
        explainer.explain(bg[:1], n_evals=10**12)
    largest = (1024 * 2**20) // (100 * (16 * d + 96))
    assert f"the largest n_evals that fits is {largest}" in str(info.value)
    assert "background='mean'" in str(info.value)
    with pytest.raises(ValueError, match="the largest max_evals that fits is"):
        explainer.explain(bg[:1], n_evals=1000, tol=0.01, max_evals=10**6)


def test_kernel_shap_at_the_largest_n_evals_stays_within_its_budget(rng, peak_mib):
    d = 20
    bg = rng.normal(size=(10, d))
    explainer = bx.KernelShap(
        _linear(d), bx.Tabular(bg, memory_budget_mb=0.5), seed=0, memory_budget_mb=4
    )
    with pytest.raises(ValueError, match=r"largest n_evals that fits is (\d+)") as info:
        explainer.explain(bg[:1], n_evals=10**5)
    largest = int(str(info.value).split("fits is ")[1].split(".")[0])
    x = rng.normal(size=(1, d))
    peak = peak_mib(lambda: explainer.explain(x, n_evals=largest))
    assert peak <= 4, peak


@pytest.mark.parametrize("budget", [float("nan"), float("inf"), 0, -1])
def test_memory_budgets_must_be_finite_and_positive(rng, budget):
    bg = rng.normal(size=(5, 3))
    message = "memory_budget_mb must be a positive finite number"
    with pytest.raises(ValueError, match=message):
        bx.Tabular(bg, memory_budget_mb=budget)
    with pytest.raises(ValueError, match=message):
        bx.KernelShap(_linear(3), bg, memory_budget_mb=budget)
