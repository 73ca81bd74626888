"""Every registered classical model fits, predicts and scores the right way round; safe saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfaudio.cli.fit_sklearn import MODEL_CHOICES
from dfaudio.evaluation import eer
from dfaudio.exceptions import DataError, ParameterError
from dfaudio.models.persist import load_sklearn, save_sklearn, sha256
from dfaudio.models.sklearn_zoo import SKLEARN_MODELS, make_model, model_names
from dfaudio.training.fit_sklearn import model_scores

ALL_MODELS = model_names()


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A separable 26-feature problem: spoof rows are shifted by +4 in every feature."""
    rng = np.random.default_rng(0)
    n = 40
    y = np.array([0, 1] * (n // 2))
    X = rng.normal(size=(n, 26)) + 4.0 * y[:, None]
    y_test = np.array([0, 1] * 10)
    X_test = rng.normal(size=(20, 26)) + 4.0 * y_test[:, None]
    return X, y, X_test, y_test


def test_cli_choices_equal_registry() -> None:
    assert list(MODEL_CHOICES) == ALL_MODELS


def test_required_baselines_are_registered() -> None:
    required = set(
        "logreg linear-svm rbf-svm knn lda gnb tree random-forest extra-trees hist-gb "
        "gradient-boosting adaboost mlp xgboost".split()
    )
    assert required <= set(ALL_MODELS)
    assert all(SKLEARN_MODELS.help(n) for n in ALL_MODELS)


def test_boosting_models_are_the_documented_estimators() -> None:
    from sklearn.ensemble import (
        AdaBoostClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
    )

    gb = make_model("gradient-boosting", seed=7)
    assert type(gb) is GradientBoostingClassifier  # exact trees, not hist-gb
    assert not isinstance(make_model("hist-gb"), GradientBoostingClassifier)
    assert isinstance(make_model("hist-gb"), HistGradientBoostingClassifier)
    p = gb.get_params()
    assert (p["n_estimators"], p["learning_rate"], p["max_depth"], p["subsample"]) == (
        100,
        0.1,
        3,
        1.0,
    )
    assert p["random_state"] == 7
    ada = make_model("adaboost", seed=7)
    assert type(ada) is AdaBoostClassifier
    p = ada.get_params()
    assert (p["n_estimators"], p["learning_rate"], p["estimator"]) == (50, 1.0, None)
    assert p["random_state"] == 7
    for name in ("gradient-boosting", "adaboost"):
        assert name in MODEL_CHOICES


def test_unknown_model() -> None:
    with pytest.raises(ParameterError, match="unknown model 'svm'"):
        make_model("svm")


def test_scale_sensitive_models_scale_inside_the_pipeline() -> None:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    for name in ("logreg", "linear-svm", "rbf-svm", "knn", "mlp"):
        est = make_model(name)
        assert isinstance(est, Pipeline), name
        assert isinstance(est.steps[0][1], StandardScaler), name


@pytest.mark.parametrize("name", ALL_MODELS)
def test_model_fits_and_scores_in_the_right_direction(name: str, toy: tuple) -> None:
    X, y, X_test, y_test = toy
    est = make_model(name, seed=0)
    est.fit(X, y)
    pred = np.asarray(est.predict(X_test))
    assert set(np.unique(pred)) <= {0, 1}
    # (the MLP stops early on its 4-row validation split: its threshold is loose, its ranking not)
    assert np.mean(pred == y_test) >= 0.9
    score, p_fake, calibrated = model_scores(est, X_test)
    assert score.shape == p_fake.shape == (20,)
    assert np.all((p_fake >= 0) & (p_fake <= 1))
    assert isinstance(calibrated, bool)
    if name == "adaboost":
        # SAMME stops at the first stump that fits every training row, so here its score takes
        # two values (ties); test_boosting_separates_what_no_single_feature_separates checks
        # the strict ranking
        assert len(est.estimators_) == 1
        assert score[y_test == 0].mean() > score[y_test == 1].mean()
        return
    # higher score = more bona fide: a separable problem gives EER 0, not 1
    value, _ = eer(y_test, score, bonafide_value=0)
    assert value == 0.0
    assert score[y_test == 0].min() > score[y_test == 1].max()
    assert p_fake[y_test == 1].min() > p_fake[y_test == 0].max()


@pytest.mark.parametrize("name", ["adaboost", "gradient-boosting"])
def test_boosting_separates_what_no_single_feature_separates(name: str) -> None:
    """Every feature overlaps between classes, their sum does not: boosting must combine them."""
    rng = np.random.default_rng(3)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 2
        return rng.normal(size=(n, 26)) + 3.0 * y[:, None], y

    X, y = draw(200)
    X_test, y_test = draw(100)
    for j in range(26):  # no stump alone fits the training rows
        assert X[y == 1, j].min() < X[y == 0, j].max()
    est = make_model(name, seed=0).fit(X, y)
    assert len(est.estimators_) > 10
    score, _, _ = model_scores(est, X_test)
    assert eer(y_test, score, bonafide_value=0)[0] == 0.0
    assert score[y_test == 0].min() > score[y_test == 1].max()  # bona fide high
    assert np.mean(np.asarray(est.predict(X_test)) == y_test) >= 0.95


def test_svm_scores_are_minus_the_decision_function(toy: tuple) -> None:
    X, y, X_test, _ = toy
    est = make_model("linear-svm").fit(X, y)
    score, p_fake, calibrated = model_scores(est, X_test)
    assert not calibrated
    np.testing.assert_allclose(score, -est.decision_function(X_test))
    np.testing.assert_allclose(p_fake, 1 / (1 + np.exp(-est.decision_function(X_test))))


def test_probabilistic_scores_are_log_odds(toy: tuple) -> None:
    X, y, X_test, _ = toy
    est = make_model("logreg").fit(X, y)
    score, p_fake, calibrated = model_scores(est, X_test)
    assert calibrated
    np.testing.assert_allclose(p_fake, est.predict_proba(X_test)[:, 1])
    np.testing.assert_allclose(score, np.log((1 - p_fake) / p_fake), rtol=1e-6)


def test_seed_makes_fits_reproducible(toy: tuple) -> None:
    X, y, X_test, _ = toy
    a = make_model("random-forest", seed=3).fit(X, y).predict_proba(X_test)
    b = make_model("random-forest", seed=3).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- persistence


@pytest.mark.parametrize(
    "name", ["logreg", "random-forest", "gradient-boosting", "adaboost", "xgboost"]
)
def test_save_and_load_reproduce_predictions(tmp_path: Path, name: str, toy: tuple) -> None:
    X, y, X_test, _ = toy
    est = make_model(name).fit(X, y)
    path = save_sklearn(est, tmp_path, extra={"model": name})
    assert path.name == ("model.ubj" if name == "xgboost" else "model.skops")
    info = (tmp_path / "model.json").read_text(encoding="utf-8")
    assert sha256(path) in info and f'"model": "{name}"' in info
    back = load_sklearn(tmp_path)
    s0, p0, _ = model_scores(est, X_test)
    s1, p1, _ = model_scores(back, X_test)
    np.testing.assert_allclose(p1, p0, rtol=1e-6)
    np.testing.assert_allclose(s1, s0, rtol=1e-5, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "model.json"])


def test_tampered_skops_file_is_refused_without_trust(tmp_path: Path, toy: tuple) -> None:
    import skops.io as sio

    X, y, X_test, _ = toy
    save_sklearn(make_model("logreg").fit(X, y), tmp_path)
    # replace the model by another (valid) skops file: the recorded checksum no longer matches
    other = make_model("gnb").fit(X, 1 - y)
    sio.dump(other, tmp_path / "model.skops")
    with pytest.raises(DataError, match="does not match the checksum") as err:
        load_sklearn(tmp_path)
    assert "--trust" in str(err.value) and "\n" not in str(err.value)
    loaded = load_sklearn(tmp_path, trust=True)
    np.testing.assert_array_equal(loaded.predict(X_test), other.predict(X_test))


def test_load_errors(tmp_path: Path, toy: tuple) -> None:
    with pytest.raises(DataError, match=r"no model\.json"):
        load_sklearn(tmp_path)
    X, y, _, _ = toy
    save_sklearn(make_model("lda").fit(X, y), tmp_path)
    (tmp_path / "model.skops").unlink()
    with pytest.raises(DataError, match=r"model\.skops is missing"):
        load_sklearn(tmp_path)
