"""The bundled review corpus: labelled, balanced, licensed, learnable."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from blackbox_xai.datasets import load_reviews


def test_reviews_are_labelled_balanced_and_licensed():
    reviews = load_reviews()
    assert len(reviews.texts) == len(reviews.target) == 392
    assert reviews.target_names == ["negative", "positive"]
    assert np.bincount(reviews.target).tolist() == [196, 196]
    assert len(set(reviews.texts)) == 392 and all(t.strip() == t and t for t in reviews.texts)
    assert "CC0" in reviews.licence
    texts, target = load_reviews(return_X_y=True)
    assert texts == reviews.texts and np.array_equal(target, reviews.target)


def test_a_bag_of_words_classifier_learns_them():
    texts, y = load_reviews(return_X_y=True)
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10))
    assert cross_val_score(pipe, texts, y, cv=4).mean() > 0.8
