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
