"""Testing with concept activation vectors (TCAV, Kim et al. 2018) on ONNX models."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from ...results.concepts import TcavResult
from ...utils.seeding import SeedLike, resolve_seed, row_rng
from ._network import Network


class Tcav:
    """How much a human concept drives a class: TCAV with its significance test.

    For each concept and each of ``n_random`` random sets, a linear classifier separates
    the concept's activations at ``layer`` from the random set's; its normal vector,
    pointing to the concept, is the concept activation vector (CAV). The TCAV score is
    the share of the target-class inputs whose class-logit gradient at ``layer`` has a
    positive dot product with the CAV. CAVs trained between two random sets give the
    null scores; a two-sided t-test of the concept's scores against them gives the
    p-value, and concepts with ``p >= alpha`` are marked "not significant". CAVs and
    activations are cached (keyed by the data's bytes) and reused across calls.

    Parameters
    ----------
    model : DifferentiableOnnxModel or ONNX model
        The network; explain its logits (``output="logits"``): probabilities saturate.
    layer : str
        Tensor or node name (:func:`blackbox_xai.autodiff.list_layers` lists them); a
        name that does not exist gets an error listing the candidates.
    classifier : "linear" or scikit-learn estimator
        The CAV's classifier: ``"linear"`` is an L2 logistic regression (liblinear,
        ``C=1``); an estimator must be linear (``coef_`` of one row after ``fit``). Its
        ``random_state``, when it has one, is set from ``seed`` per CAV.
    n_random : int
        Number of random sets drawn when :meth:`score` gets one pool of random inputs
        (at least 2).
    alpha : float
        Significance level of the t-test.
    output : str, optional
        The tensor differentiated, e.g. ``"logits"``.
    seed : int, optional
        Draws of random sets and the classifiers' seeds.
    batch_size : int, optional
        Rows per ONNX Runtime call; None: up to 256, fewer for large rows (the
        "model_input" share of the memory budget).

    Examples
    --------
    >>> tcav = bx.Tcav("cnn.onnx", "relu3", output="logits", seed=0)  # doctest: +SKIP
    >>> tcav.score(images_of_zebras, target=3, concepts={"striped": striped}, random=pool)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: Any,
        layer: str,
        *,
        classifier: Any = "linear",
        n_random: int = 10,
        alpha: float = 0.05,
        output: str | None = None,
        seed: SeedLike = None,
        batch_size: int | None = None,
    ) -> None:
        self.network = Network(model, output, batch_size)
        self.layer = self.network.resolve(layer)
        if isinstance(classifier, str):
            if classifier != "linear":
                raise ValueError(
                    f"classifier must be 'linear' or a scikit-learn estimator, got {classifier!r}."
                )
        elif not hasattr(classifier, "fit"):
            raise TypeError(
                f"classifier must be 'linear' or a scikit-learn estimator, got {classifier!r}."
            )
        self.classifier = classifier
        if not isinstance(n_random, (int, np.integer)) or n_random < 2:
            raise ValueError(
                f"n_random must be an integer >= 2 (the significance test needs at least two "
                f"random sets), got {n_random!r}."
            )
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}.")
        self.n_random, self.alpha = int(n_random), float(alpha)
        self.seed = resolve_seed(seed)
        self._acts: dict[str, np.ndarray] = {}
        self._cavs: dict[tuple[str, str], np.ndarray] = {}
        #: CAVs trained so far (cached ones are not trained again).
        self.n_cavs_trained = 0

    # -- public API ---------------------------------------------------------------------
    def score(
        self,
        X: Any,
        target: int,
        concepts: Mapping[str, Any],
        random: Any,
    ) -> TcavResult:
        """TCAV scores of ``concepts`` for class ``target`` on inputs ``X``.

        Parameters
        ----------
        X : array-like
            Inputs of the target class.
        target : int
            The class (an index of the model's output).
        concepts : mapping of str to array-like
            Example inputs of each concept.
        random : array-like or sequence of array-like
            The random sets (at least 2), or one pool of random inputs from which
            ``n_random`` sets of the smallest concept's size are drawn (without
            replacement within a set).

        Returns
        -------
        TcavResult
        """
        X = self._check_inputs(X, "X")
        if not isinstance(concepts, Mapping) or not concepts:
            raise TypeError("concepts must be a non-empty mapping of names to example inputs.")
        sets = {str(k): self._check_inputs(v, f"concept {k!r}") for k, v in concepts.items()}
        randoms = self._random_sets(random, min(len(v) for v in sets.values()))
        size = len(randoms[0])
        for name, examples in sets.items():
            if len(examples) < size:
                raise ValueError(
                    f"concept {name!r} has {len(examples)} examples, fewer than the {size} of "
                    "each random set; give at least as many concept examples as a random set "
                    "holds (or smaller random sets), so the classifier sees balanced classes."
                )
        grads = self._gradients(X, target)
        pairs = [(c, r) for c in sets.values() for r in randoms]
        cavs = np.stack([self._cav(c, r, j % len(randoms)) for j, (c, r) in enumerate(pairs)])
        cavs = cavs.reshape(len(sets), len(randoms), -1)
        null = np.stack(
            [self._cav(randoms[i], randoms[(i + 1) % len(randoms)], i) for i in range(len(randoms))]
        )
        return self._result(list(sets), grads, target, cavs, null, size)

    def relative(
        self,
        X: Any,
        target: int,
        concept_a: tuple[str, Any],
        concept_b: tuple[str, Any],
        random: Any,
    ) -> TcavResult:
        """Relative TCAV: concept A against concept B (instead of against random inputs).

        Each of ``n_random`` runs trains the A-vs-B classifier on a seeded 80% subsample
        of each set; the null scores are random-vs-random CAVs as in :meth:`score`.

        Parameters
        ----------
        X : array-like
            Inputs of the target class.
        target : int
            The class.
        concept_a, concept_b : (str, array-like)
            Names and examples of the two concepts.
        random : array-like or sequence of array-like
            As in :meth:`score`.

        Returns
        -------
        TcavResult
            One row, named ``"A vs B"``; a score near 1 means A drives the class more
            than B.
        """
        X = self._check_inputs(X, "X")
        (name_a, a), (name_b, b) = concept_a, concept_b
        a = self._check_inputs(a, f"concept {name_a!r}")
        b = self._check_inputs(b, f"concept {name_b!r}")
        randoms = self._random_sets(random, min(len(a), len(b)))
        grads = self._gradients(X, target)
        cavs = []
        for run in range(self.n_random):
            rng = row_rng(self.seed, 1_000_000 + run)  # streams apart from the random draws
            pick_a = np.sort(rng.choice(len(a), max(2, int(0.8 * len(a))), replace=False))
            pick_b = np.sort(rng.choice(len(b), max(2, int(0.8 * len(b))), replace=False))
            cavs.append(self._cav(a[pick_a], b[pick_b], run))
        null = np.stack(
            [self._cav(randoms[i], randoms[(i + 1) % len(randoms)], i) for i in range(len(randoms))]
        )
        result = self._result(
            [f"{name_a} vs {name_b}"], grads, target, np.stack(cavs)[None], null, len(randoms[0])
        )
        result.meta["relative"] = True
        return result

    def cav(self, concept: Any, random: Any) -> np.ndarray:
        """The unit CAV separating ``concept`` from ``random`` inputs at the layer."""
        return self._cav(
            self._check_inputs(concept, "concept"), self._check_inputs(random, "random"), 0
        )

    # -- internals ----------------------------------------------------------------------
    def _check_inputs(self, X: Any, what: str) -> np.ndarray:
        arr = np.asarray(X)
        if arr.ndim < 2 or len(arr) < 2:
            raise ValueError(f"{what} must hold at least 2 input rows, got shape {arr.shape}.")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"{what} holds NaN or infinite values.")
        return arr

    def _random_sets(self, random: Any, size: int) -> list[np.ndarray]:
        if isinstance(random, np.ndarray) or (
            not isinstance(random, Sequence) and hasattr(random, "__array__")
        ):
            pool = self._check_inputs(random, "random")
            if len(pool) < size:
                raise ValueError(
                    f"the random pool has {len(pool)} inputs, fewer than one random set of "
                    f"{size} (the smallest concept's size)."
                )
            return [
                pool[np.sort(row_rng(self.seed, i).choice(len(pool), size, replace=False))]
                for i in range(self.n_random)
            ]
        sets = [self._check_inputs(r, f"random set {i}") for i, r in enumerate(random)]
        if len(sets) < 2:
            raise ValueError(
                f"give at least 2 random sets (the significance test compares concept CAVs "
                f"with random-vs-random CAVs), got {len(sets)}."
            )
        sizes = {len(s) for s in sets}
        if len(sizes) > 1:
            raise ValueError(f"the random sets must have one size, got sizes {sorted(sizes)}.")
        return sets

    def _activations(self, X: np.ndarray) -> np.ndarray:
        key = _fingerprint(X)
        if key not in self._acts:
            acts = self.network.activations(X, self.layer)
            self._acts[key] = acts.reshape(len(acts), -1)
        return self._acts[key]

    def _gradients(self, X: np.ndarray, target: int) -> np.ndarray:
        if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)):
            raise TypeError(f"target must be a class index (int), got {target!r}.")
        _, grads = self.network.model.activations_and_gradients(X, int(target), self.layer)
        return np.asarray(grads, np.float64).reshape(len(X), -1)

    def _cav(self, concept: np.ndarray, random: np.ndarray, index: int) -> np.ndarray:
        key = (_fingerprint(concept), _fingerprint(random))
        if key in self._cavs:
            return self._cavs[key]
        pos, neg = self._activations(concept), self._activations(random)
        features = np.concatenate([pos, neg])
        labels = np.r_[np.ones(len(pos), int), np.zeros(len(neg), int)]
        model = self._classifier(index)
        model.fit(features, labels)
        coef = np.asarray(getattr(model, "coef_", None), dtype=np.float64)
        if coef.ndim == 0 or coef.size != features.shape[1]:
            raise ValueError(
                "the CAV classifier must be linear, with coef_ of one row after fit "
                f"(got {type(model).__name__} without it); use e.g. LogisticRegression, "
                "SGDClassifier or LinearSVC."
            )
        direction = coef.ravel()
        if list(model.classes_) != [0, 1]:  # coef_ points to classes_[1]
            direction = -direction
        norm = np.linalg.norm(direction)
        cav = direction / norm if norm > 0 else direction
        self._cavs[key] = cav
        self.n_cavs_trained += 1
        return cav

    def _classifier(self, index: int) -> Any:
        if isinstance(self.classifier, str):
            # liblinear's trust-region Newton (primal): ~1000x faster than lbfgs on these
            # small, often separable sets, and deterministic
            model = LogisticRegression(C=1.0, solver="liblinear")
        else:
            model = clone(self.classifier)
        if "random_state" in model.get_params():
            model.set_params(random_state=int(row_rng(self.seed, index).integers(2**31 - 1)))
        return model

    def _result(
        self,
        names: list[str],
        grads: np.ndarray,
        target: int,
        cavs: np.ndarray,
        null: np.ndarray,
        size: int,
    ) -> TcavResult:
        scores, magnitudes = _scores(grads, cavs)
        random_scores, random_magnitudes = _scores(grads, null)
        p_values = np.array([_t_test(s, random_scores) for s in scores])
        return TcavResult(
            concepts=names,
            layer=self.layer,
            target=int(target),
            scores=scores,
            magnitudes=magnitudes,
            random_scores=random_scores,
            random_magnitudes=random_magnitudes,
            p_values=p_values,
            alpha=self.alpha,
            cavs=cavs,
            meta={
                "classifier": self.classifier
                if isinstance(self.classifier, str)
                else type(self.classifier).__name__,
                "n_random": len(null),
                "random_set_size": size,
                "n_inputs": len(grads),
                "seed": self.seed,
            },
        )


def _scores(grads: np.ndarray, cavs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sign-count and magnitude scores of CAVs ``(..., d)`` for gradients ``(n, d)``."""
    derivatives = np.einsum("nd,...d->...n", grads, cavs)
    sign = (derivatives > 0).mean(axis=-1)
    total = np.abs(derivatives).sum(axis=-1)
    positive = np.where(derivatives > 0, derivatives, 0.0).sum(axis=-1)
    magnitude = np.divide(positive, total, out=np.zeros_like(total), where=total > 0)
    return sign, magnitude


def _t_test(scores: np.ndarray, null: np.ndarray) -> float:
    """Two-sided p-value of Student's t-test (pooled variance, as ``scipy.stats.ttest_ind``).

    Written out because scores that do not vary at all (every target input aligned with
    the concept) are the common case here, where scipy warns about precision loss;
    exact 0 / 1 when neither sample varies (the t statistic is undefined).
    """
    n1, n2 = len(scores), len(null)
    m1, m2 = float(np.mean(scores)), float(np.mean(null))
    pooled = (np.sum((scores - m1) ** 2) + np.sum((null - m2) ** 2)) / (n1 + n2 - 2)
    if pooled == 0:
        return 1.0 if m1 == m2 else 0.0
    t = (m1 - m2) / np.sqrt(pooled * (1 / n1 + 1 / n2))
    return float(2 * stats.t.sf(abs(t), n1 + n2 - 2))


def _fingerprint(X: np.ndarray) -> str:
    """A key for the cache: the array's shape, dtype and bytes."""
    arr = np.ascontiguousarray(X)
    digest = hashlib.blake2b(arr.tobytes(), digest_size=16)
    digest.update(repr((arr.shape, arr.dtype.str)).encode())
    return digest.hexdigest()
