"""dfaudio.plots: the four evaluation figures."""

from __future__ import annotations

import numpy as np
import pytest

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.plots import PLOT_NAMES, save_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def data(rng):
    ids = rng.integers(0, 2, 500)
    scores = rng.normal(0, 1, 500) + 2.0 * (ids == 0)
    return ids, scores


def test_save_plots_writes_four_pngs(tmp_path, data):
    ids, scores = data
    paths = save_plots(tmp_path / "fig", ids, scores, title="toy", bonafide_value=0)
    assert [p.name for p in paths] == list(PLOT_NAMES)
    for p in paths:
        head = p.read_bytes()[:8]
        assert head == PNG_MAGIC and p.stat().st_size > 5000
    assert not list((tmp_path / "fig").glob("*.part"))


def test_save_plots_string_labels_threshold_and_edge_scores(tmp_path):
    labels = ["bonafide"] * 4 + ["spoof"] * 4
    scores = [3.0, 3.0, 2.0, 1.0, -1.0, -2.0, -3.0, -3.0]  # perfect: DET hits the axes' corner
    paths = save_plots(tmp_path, labels, scores, threshold=0.5, score_kind="raw")
    assert len(paths) == 4


def test_save_plots_refuses_to_overwrite(tmp_path, data):
    ids, scores = data
    save_plots(tmp_path, ids, scores, bonafide_value=0)
    before = (tmp_path / "det.png").stat().st_mtime_ns
    with pytest.raises(ParameterError, match="already exists"):
        save_plots(tmp_path, ids, scores, bonafide_value=0)
    assert (tmp_path / "det.png").stat().st_mtime_ns == before
    assert len(save_plots(tmp_path, ids, scores, force=True, bonafide_value=0)) == 4


def test_save_plots_single_class_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="both classes"):
        save_plots(tmp_path, [0, 0, 0], np.array([0.1, 0.2, 0.3]), bonafide_value=0)
    assert not any(tmp_path.iterdir())


def test_matplotlib_uses_agg(tmp_path, data):
    ids, scores = data
    save_plots(tmp_path, ids, scores, bonafide_value=0)
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"


def test_save_plots_refuses_ambiguous_numeric_labels(tmp_path, data):
    ids, scores = data
    with pytest.raises(DataError, match="bonafide_value"):
        save_plots(tmp_path, ids, scores)
    assert not any(tmp_path.iterdir())


@pytest.fixture
def captured(monkeypatch):
    """The figures save_plots draws, in PLOT_NAMES order (kept open for inspection)."""
    import matplotlib.pyplot as real

    import dfaudio.plots as plots

    figures = []

    class Capturing:
        def __getattr__(self, name):
            return getattr(real, name)

        def subplots(self, *args, **kwargs):
            fig, ax = real.subplots(*args, **kwargs)
            figures.append(fig)
            return fig, ax

        def close(self, fig=None):
            pass

    monkeypatch.setattr(plots, "_pyplot", lambda: Capturing())
    yield figures
    for fig in figures:
        real.close(fig)


def test_det_is_drawn_on_normal_deviate_axes_and_falls(tmp_path, data, captured):
    """A DET plots miss rate against false-alarm rate on probit axes: the curve falls from top
    left to bottom right and the EER point sits on the diagonal (a ROC would rise)."""
    from scipy.stats import norm

    from dfaudio.evaluation import det_curve, eer

    ids, scores = data
    save_plots(tmp_path, ids, scores, bonafide_value=0)
    det = captured[0].axes[0]
    (curve,) = [ln for ln in det.get_lines() if ln.get_label() == "DET"]
    x, y = curve.get_xdata(), curve.get_ydata()
    dx, dy = np.diff(x), np.diff(y)
    # drawn along the threshold: the miss rate falls where false alarms rise (a ROC rises)
    assert (np.all(dx <= 0) and np.all(dy >= 0)) or (np.all(dx >= 0) and np.all(dy <= 0))
    assert x.min() < 0 < x.max()  # normal deviates, not rates in [0, 1]
    _, far, _ = det_curve(scores[ids == 0], scores[ids == 1])
    assert np.isclose(x.max(), norm.ppf(min(far.max(), 0.995)))
    (point,) = [ln for ln in det.get_lines() if ln.get_label().startswith("EER")]
    e = norm.ppf(eer(ids, scores, bonafide_value=0)[0])
    assert np.allclose([point.get_xdata()[0], point.get_ydata()[0]], [e, e])


def test_histogram_and_confusion_use_the_given_threshold(tmp_path, data, captured):
    """The threshold passed in is the one drawn and counted (not the default one)."""
    ids, scores = data
    threshold = 1.7  # far from the default (0 for log-odds) and from the EER threshold
    save_plots(tmp_path, ids, scores, threshold=threshold, bonafide_value=0)
    hist = captured[2].axes[0]
    (line,) = [ln for ln in hist.get_lines() if ln.get_label().startswith("threshold")]
    assert np.allclose(line.get_xdata(), threshold)
    confusion = captured[3].axes[0]
    texts = [t.get_text() for t in confusion.texts]
    counts = [int(t.split("\n")[0].replace(",", "")) for t in texts]
    bona_rejected = int(np.sum((ids == 0) & (scores < threshold)))
    spoof_rejected = int(np.sum((ids == 1) & (scores < threshold)))
    expected = [
        int(np.sum(ids == 0)) - bona_rejected,
        bona_rejected,
        int(np.sum(ids == 1)) - spoof_rejected,
        spoof_rejected,
    ]
    assert counts == expected
    assert f"threshold {threshold:.4g}" in confusion.get_title()
