"""dfaudio synth: copy-synthesis attacks and the spoofed-corpus writer."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from dfaudio.cli.main import cli
from dfaudio.exceptions import ParameterError
from dfaudio.synth.attacks import (
    BUILTIN,
    PEAK_CEILING,
    RMS_TOLERANCE_DB,
    apply_attack,
    match_source,
    parse_attacks,
    rms,
)
from tests.conftest import SHARED_DATA, write_wav


def speech_like(*, sr: int = 16000, duration_s: float = 1.0, seed: int = 0) -> np.ndarray:
    """A vowel-like signal: a glottal pulse train with vibrato through two formant resonators,
    with a quiet noise floor and a pause, so that every attack has voicing, formants and silence.
    """
    import scipy.signal

    rng = np.random.default_rng(seed)
    n = int(sr * duration_s)
    t = np.arange(n) / sr
    f0 = 120 + 15 * np.sin(2 * np.pi * 3 * t)
    phase = np.cumsum(f0 / sr)
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    y = pulses
    for freq, bw in ((700, 80), (1200, 100)):
        r = np.exp(-np.pi * bw / sr)
        a = [1, -2 * r * np.cos(2 * np.pi * freq / sr), r * r]
        y = scipy.signal.lfilter([1 - r], a, y)
    y[int(0.45 * n) : int(0.6 * n)] = 0
    y = 0.3 * y / np.max(np.abs(y)) + 1e-3 * rng.standard_normal(n)
    return y.astype(np.float32)


def db(a: float, b: float) -> float:
    return 20 * np.log10(a / b)


@pytest.mark.parametrize("attack", BUILTIN)
def test_attack_keeps_length_and_loudness_is_deterministic_and_changes_the_signal(attack):
    y = speech_like()
    rng = np.random.default_rng
    out = apply_attack(attack, y, 16000, rng=rng(1))
    assert out.dtype == np.float32 and out.shape == y.shape
    assert abs(db(rms(out), rms(y))) < RMS_TOLERANCE_DB
    assert np.max(np.abs(out)) <= PEAK_CEILING
    assert np.array_equal(out, apply_attack(attack, y, 16000, rng=rng(1)))
    # It is a resynthesis, not a copy: the waveform differs clearly from the source ...
    assert np.corrcoef(out, y)[0, 1] < 0.99
    # ... yet keeps its spectral envelope (log spectra correlate).
    spec = lambda z: np.log(np.abs(np.fft.rfft(z))[:4000] + 1e-3)  # noqa: E731
    assert np.corrcoef(spec(out), spec(y))[0, 1] > 0.5


@pytest.mark.parametrize("attack", ["griffin-lim", "lpc", "pvoc"])
def test_attack_randomness_comes_from_rng(attack):
    y = speech_like(sr=8000)
    a = apply_attack(attack, y, 8000, rng=np.random.default_rng(1))
    b = apply_attack(attack, y, 8000, rng=np.random.default_rng(2))
    assert not np.array_equal(a, b)


def test_world_perturbation_moves_f0():
    import librosa

    y = speech_like()
    plain = apply_attack("world", y, 16000, rng=np.random.default_rng(0))
    up = apply_attack(
        "world", y, 16000, rng=np.random.default_rng(0), params={"f0_shift_semitones": 12}
    )

    def median_f0(z):
        f0 = librosa.yin(z[: int(0.45 * 16000)], fmin=60, fmax=500, sr=16000)
        return float(np.median(f0))

    assert median_f0(plain) == pytest.approx(median_f0(y), rel=0.05)
    assert median_f0(up) == pytest.approx(2 * median_f0(y), rel=0.05)


def test_match_source_is_clip_safe_on_a_loud_source():
    rng = np.random.default_rng(0)
    source = np.clip(0.3 * rng.standard_normal(8000), -1, 1).astype(np.float32)  # loud
    peaky = rng.laplace(size=9000).astype(np.float32)  # crest factor far above the source's
    out = match_source(peaky, source)
    assert len(out) == len(source)
    assert np.max(np.abs(out)) <= PEAK_CEILING  # plain scaling would put peaks near 3
    assert abs(db(rms(out), rms(source))) < RMS_TOLERANCE_DB
    # where the ceiling makes the level unreachable (sparse clicks): quieter, not clipped
    clicks = np.zeros(8000, dtype=np.float32)
    clicks[::50] = 1.0
    out = match_source(clicks, source)
    assert np.max(np.abs(out)) <= PEAK_CEILING and rms(out) < rms(source)


def test_match_source_extends_without_digital_silence():
    out = match_source(np.ones(100, dtype=np.float32) * 0.1, np.ones(250, dtype=np.float32) * 0.1)
    assert len(out) == 250 and np.all(out != 0)


def test_parse_attacks():
    assert [a[0] for a in parse_attacks("all")] == list(BUILTIN)
    assert parse_attacks("world,neural:/x/voc.pt")[1] == (
        "neural-voc",
        "neural",
        {"path": "/x/voc.pt"},
    )
    for bad in ("nope", "neural", "world,world", "lpc:3"):
        with pytest.raises(ParameterError):
            parse_attacks(bad)


def test_world_without_pyworld_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyworld", None)
    with pytest.raises(ParameterError, match=r"pip install -e \"\.\[synth\]\" in the dfaudio"):
        apply_attack("world", speech_like(), 16000, rng=np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# The writer and the command
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """Three bona fide clips in three formats, one stereo, and a planted unreadable file."""
    d = tmp_path / "speech"
    write_wav(d / "alice" / "a1.wav", speech_like(sr=8000, seed=1), 8000)
    d.joinpath("bob").mkdir()
    sf.write(d / "bob" / "b1.flac", speech_like(sr=16000, seed=2), 16000, subtype="PCM_24")
    stereo = np.stack([speech_like(sr=8000, seed=3), 0.5 * speech_like(sr=8000, seed=4)], axis=1)
    sf.write(d / "bob" / "b2.wav", stereo, 8000, subtype="FLOAT")
    (d / "alice" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    return d


def run(*args: str):
    return CliRunner().invoke(cli, ["synth", *args], catch_exceptions=False)


def test_synth_writes_matching_copies_and_a_list_that_tabulate_reads(sources, tmp_path):
    out = tmp_path / "out"
    r = run(str(sources), "-o", str(out), "--attack", "world,lpc", "--speaker-regex", "^([a-z])")
    assert r.exit_code == 0, r.output
    # the planted failure is reported by name, the rest written
    assert "broken.wav" in r.stderr and "skipped" in r.stderr
    assert "3 of 4 bona fide files used, 1 failed" in r.stdout
    listed = pd.read_csv(out / "list.csv", dtype=str, keep_default_na=False)
    assert list(listed.columns) == ["path", "label", "group", "attack", "speaker"]
    assert len(listed) == 3 * 3  # each source + 2 copies
    for src in ("alice/a1.wav", "bob/b1.flac", "bob/b2.wav"):
        orig = sources / src
        rows = listed[listed["group"] == src.rsplit(".", 1)[0]]
        assert sorted(rows["attack"]) == ["-", "lpc", "world"]
        bona = rows[rows["label"] == "bonafide"]
        assert (out / bona["path"].iloc[0]).resolve() == orig.resolve()  # by reference
        info = sf.info(orig)
        y, _ = sf.read(orig, always_2d=True)
        for copy in rows.loc[rows["label"] == "spoof", "path"]:
            ci = sf.info(out / copy)
            assert (ci.samplerate, ci.frames, ci.channels) == (
                info.samplerate,
                info.frames,
                info.channels,
            )
            assert (ci.format, ci.subtype) == (info.format, info.subtype)
            z, _ = sf.read(out / copy, always_2d=True)
            for c in range(info.channels):
                assert abs(db(rms(z[:, c]), rms(y[:, c]))) < 0.2  # 0.1 dB + quantisation
    assert set(listed["speaker"]) == {"a", "b"}
    # the list round-trips through tabulate: every file, the class, the attack, the shared group
    table_path = tmp_path / "t.csv"
    t = CliRunner().invoke(cli, ["tabulate", str(out / "list.csv"), "-o", str(table_path), "-q"])
    assert t.exit_code == 0, t.output
    table = pd.read_csv(table_path, dtype={"group": str})
    assert table["file"].nunique() == 9
    assert sorted(table.groupby("file")["label"].first().value_counts().items()) == [
        ("bonafide", 3),
        ("spoof", 6),
    ]
    assert set(table.loc[table["label"] == "spoof", "attack"]) == {"world", "lpc"}
    assert table.groupby("group")["label"].nunique().eq(2).all()


def test_synth_refuses_to_overwrite_and_force_replaces_only_its_own_files(sources, tmp_path):
    out = tmp_path / "out"
    args = [str(sources), "-o", str(out), "--attack", "pvoc", "-q"]
    assert run(*args).exit_code == 0
    first = (out / "pvoc" / "alice" / "a1.wav").read_bytes()
    again = run(*args)
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert "--force" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    forced = run(*args, "--force", "--seed", "5")
    assert forced.exit_code == 0
    assert (out / "pvoc" / "alice" / "a1.wav").read_bytes() != first  # replaced (new seed)
    # a file synth did not write is never replaced, even with --force
    write_wav(sources / "alice" / "a2.wav", speech_like(sr=8000, seed=9), 8000)
    foreign = out / "pvoc" / "alice" / "a2.wav"
    foreign.write_bytes(b"mine")
    refused = run(*args, "--force")
    assert refused.exit_code == 2 and "not written by dfaudio synth" in refused.stderr
    assert foreign.read_bytes() == b"mine"


@pytest.mark.slow
def test_synth_is_deterministic_under_seed_and_jobs(sources, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(str(sources), "-o", str(a), "--attack", "lpc,pvoc", "-q").exit_code == 0
    r = run(str(sources), "-o", str(b), "--attack", "lpc,pvoc", "-q", "--jobs", "2")
    assert r.exit_code == 0
    copies = sorted(f for f in a.rglob("*.*") if f.suffix in (".wav", ".flac"))
    assert len(copies) == 6
    for f in copies:  # same samples (float WAVs carry a PEAK chunk with a time stamp)
        assert np.array_equal(sf.read(f)[0], sf.read(b / f.relative_to(a))[0])
    assert (a / "list.csv").read_bytes() == (b / "list.csv").read_bytes()


def test_synth_takes_only_the_bona_fide_files_of_a_labelled_layout(tmp_path):
    data = tmp_path / "data"
    write_wav(data / "real" / "r1.wav", speech_like(sr=8000, seed=1), 8000)
    write_wav(data / "fake" / "f1.wav", speech_like(sr=8000, seed=2), 8000)
    out = tmp_path / "out"
    r = run(str(data), "-o", str(out), "--attack", "lpc")
    assert r.exit_code == 0, r.output
    assert "ignored    1 spoof input files" in r.stdout
    listed = pd.read_csv(out / "list.csv", dtype=str, keep_default_na=False)
    assert list(listed["path"]) == ["../data/real/r1.wav", "lpc/r1.wav"]


def test_synth_output_inside_the_input_is_refused(sources):
    r = run(str(sources), "-o", str(sources / "fake"), "--attack", "lpc")
    assert r.exit_code == 2 and "inside the input" in r.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-j", "0"), "--jobs must be at least 1"),
        (("--scheduler", "notaurl"), "--scheduler 'notaurl': expected a Dask scheduler address"),
    ],
)
def test_synth_refuses_bad_parallel_options_before_any_work(sources, tmp_path, args, message):
    out = tmp_path / "out"
    r = run(str(sources), "-o", str(out), "--attack", "lpc", *args)
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [f"error: {r.stderr.strip()[7:]}"]
    assert message in r.stderr
    assert not out.exists()


def _tiny_vocoder(path: Path) -> None:
    import torch

    class Tiny(torch.nn.Module):
        """Mel settings as attributes (TorchScript keeps them); the synth must read them."""

        def __init__(self) -> None:
            super().__init__()
            self.sample_rate, self.hop_length, self.n_fft = 8000, 64, 256
            self.win_length, self.n_mels, self.fmax = 256, 20, 4000.0
            torch.manual_seed(0)
            self.up = torch.nn.ConvTranspose1d(20, 1, kernel_size=64, stride=64)

        def forward(self, mel: torch.Tensor) -> torch.Tensor:
            if mel.dim() != 3 or mel.size(1) != self.n_mels:
                raise ValueError("expected (1, n_mels, frames)")
            noise = torch.randn(1, 1, mel.size(2) * self.hop_length)
            return torch.tanh(self.up(mel / 10.0)) + 0.01 * noise

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in new torch
        torch.jit.script(Tiny()).save(str(path))


def test_neural_plugin_needs_trust_and_runs_a_tiny_torchscript_vocoder(sources, tmp_path):
    voc = tmp_path / "tiny.pt"
    _tiny_vocoder(voc)
    out = tmp_path / "out"
    untrusted = run(str(sources), "-o", str(out), "--attack", f"neural:{voc}")
    assert untrusted.exit_code == 2 and "--trust" in untrusted.stderr
    assert not out.exists()
    r = run(str(sources), "-o", str(out), "--attack", f"neural:{voc}", "--trust", "-q")
    assert r.exit_code == 0, r.output
    listed = pd.read_csv(out / "list.csv", dtype=str, keep_default_na=False)
    copies = listed[listed["label"] == "spoof"]
    assert set(copies["attack"]) == {"neural-tiny"} and len(copies) == 3
    src, _ = sf.read(sources / "alice" / "a1.wav")
    y, sr = sf.read(out / "neural-tiny" / "alice" / "a1.wav")
    assert sr == 8000 and len(y) == len(src) and abs(db(rms(y), rms(src))) < 0.2
    again = tmp_path / "again"
    assert (
        run(str(sources), "-o", str(again), "--attack", f"neural:{voc}", "--trust", "-q").exit_code
        == 0
    )
    assert (again / "neural-tiny/alice/a1.wav").read_bytes() == (
        out / "neural-tiny/alice/a1.wav"
    ).read_bytes()  # the vocoder's own noise is seeded too


@pytest.mark.skipif(not (SHARED_DATA / "fsdd").is_dir(), reason="FSDD not in ../shared/data")
def test_synth_on_real_fsdd_clips(tmp_path):
    src = tmp_path / "fsdd"
    src.mkdir()
    for name in ("0_george_0.wav", "7_jackson_3.wav"):
        (src / name).symlink_to(SHARED_DATA / "fsdd" / "recordings" / name)
    out = tmp_path / "out"
    r = run(str(src), "-o", str(out), "--attack", "all", "-q", "--speaker-regex", r"^\d+_([a-z]+)_")
    assert r.exit_code == 0, r.output
    listed = pd.read_csv(out / "list.csv", dtype=str)
    assert len(listed) == 2 * 5 and set(listed["speaker"]) == {"george", "jackson"}
    for row in listed[listed["label"] == "spoof"].itertuples():
        info = sf.info(out / row.path)
        assert (info.samplerate, info.subtype) == (8000, "PCM_16")
