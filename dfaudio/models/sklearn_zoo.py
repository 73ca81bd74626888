"""scikit-learn and XGBoost baselines by name.

Each entry is a plain factory ``f(seed) -> estimator`` (a :class:`~sklearn.pipeline.Pipeline` with
a :class:`~sklearn.preprocessing.StandardScaler` where the model is scale-sensitive). Defaults are
the libraries' own except where noted, so the numbers compare with the literature.
"""

from __future__ import annotations

from typing import Any

from dfaudio.registry import Registry

__all__ = [
    "SKLEARN_MODELS",
    "adaboost",
    "extra_trees",
    "gnb",
    "gradient_boosting",
    "hist_gb",
    "knn",
    "lda",
    "linear_svm",
    "logreg",
    "make_model",
    "mlp",
    "model_names",
    "random_forest",
    "rbf_svm",
    "tree",
    "xgboost",
]

SKLEARN_MODELS = Registry("model")


def _scaled(est: Any) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), est)


@SKLEARN_MODELS.register("logreg", help="Logistic regression (scaled, max_iter 1000)")
def logreg(seed: int = 0) -> Any:
    from sklearn.linear_model import LogisticRegression

    return _scaled(LogisticRegression(max_iter=1000, random_state=seed))


@SKLEARN_MODELS.register("linear-svm", help="Linear SVM (scaled; decision function as score)")
def linear_svm(seed: int = 0) -> Any:
    from sklearn.svm import LinearSVC

    return _scaled(LinearSVC(random_state=seed, max_iter=5000))


@SKLEARN_MODELS.register("rbf-svm", help="RBF-kernel SVM (scaled, C=1, gamma='scale')")
def rbf_svm(seed: int = 0) -> Any:
    from sklearn.svm import SVC

    return _scaled(SVC(kernel="rbf", random_state=seed))


@SKLEARN_MODELS.register("knn", help="k-nearest neighbours (scaled, k=5)")
def knn(seed: int = 0) -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    return _scaled(KNeighborsClassifier(n_neighbors=5))


@SKLEARN_MODELS.register("lda", help="Linear discriminant analysis")
def lda(seed: int = 0) -> Any:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis()


@SKLEARN_MODELS.register("gnb", help="Gaussian naive Bayes")
def gnb(seed: int = 0) -> Any:
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB()


@SKLEARN_MODELS.register("tree", help="Decision tree")
def tree(seed: int = 0) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(random_state=seed)


@SKLEARN_MODELS.register("random-forest", help="Random forest (100 trees)")
def random_forest(seed: int = 0) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)


@SKLEARN_MODELS.register("extra-trees", help="Extremely randomised trees (100 trees)")
def extra_trees(seed: int = 0) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(n_estimators=100, random_state=seed, n_jobs=1)


@SKLEARN_MODELS.register("hist-gb", help="Histogram gradient boosting")
def hist_gb(seed: int = 0) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed)


@SKLEARN_MODELS.register(
    "gradient-boosting",
    help="Gradient boosting, exact trees (100 stages of depth 3, learning rate 0.1)",
)
def gradient_boosting(seed: int = 0) -> Any:
    """scikit-learn's :class:`~sklearn.ensemble.GradientBoostingClassifier` with its defaults.

    100 boosting stages of depth-3 regression trees on the log-loss, learning rate 0.1, no
    subsampling: the classical (exact-split) gradient boosting of the seed's DEEP-VOICE table,
    distinct from ``hist-gb`` (binned histograms, early stopping on large data).
    """
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(random_state=seed)


@SKLEARN_MODELS.register(
    "adaboost", help="AdaBoost (SAMME, 50 depth-1 decision stumps, learning rate 1.0)"
)
def adaboost(seed: int = 0) -> Any:
    """scikit-learn's :class:`~sklearn.ensemble.AdaBoostClassifier` with its defaults.

    SAMME boosting of 50 decision stumps (depth-1 trees) with learning rate 1.0: the library's
    defaults. ``predict_proba`` is the softmax of the stage-weighted votes, so its probabilities
    stay near 0.5; the ranking (and so the EER) is what counts.
    """
    from sklearn.ensemble import AdaBoostClassifier

    return AdaBoostClassifier(random_state=seed)


@SKLEARN_MODELS.register("mlp", help="Multi-layer perceptron (scaled, 100 hidden, early stopping)")
def mlp(seed: int = 0) -> Any:
    from sklearn.neural_network import MLPClassifier

    return _scaled(MLPClassifier(max_iter=500, early_stopping=True, random_state=seed))


@SKLEARN_MODELS.register("xgboost", help="XGBoost with its default parameters (hist trees)")
def xgboost(seed: int = 0) -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(random_state=seed, n_jobs=1, tree_method="hist")


def model_names() -> list[str]:
    """Registered model names (for ``--model`` choices)."""
    return SKLEARN_MODELS.names()


def make_model(name: str, *, seed: int = 0) -> Any:
    """Build a fresh, unfitted estimator by name."""
    return SKLEARN_MODELS.get(name)(seed)
