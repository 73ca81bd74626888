"""Dataset layouts -> manifests: class folders, DEEP-VOICE, ASVspoof, CSV lists, detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfaudio.datasets import (
    detect_layout,
    from_asvspoof,
    from_csv,
    from_deep_voice,
    from_folders,
    load_manifest,
    read_protocol,
)
from dfaudio.datasets.asvspoof import split_of
from dfaudio.datasets.deep_voice import parse_name
from dfaudio.exceptions import DataError, ParameterError
from dfaudio.labels import (
    LABEL_IDS,
    canonical_label,
    encode_labels,
    p_fake_to_score,
    parse_label_map,
    score_to_p_fake,
)
from dfaudio.registry import Registry
from tests.conftest import tone, write_wav

LA = "asvspoof2019-la"


def _wav(path: Path, seconds: float = 0.2) -> Path:
    return write_wav(path, tone(440.0, sr=8000, duration_s=seconds), 8000)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


# --------------------------------------------------------------------------- labels, registry


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("real", "bonafide"),
        ("REAL", "bonafide"),
        ("Bonafide", "bonafide"),
        ("bona-fide", "bonafide"),
        ("Genuine", "bonafide"),
        ("HUMAN", "bonafide"),
        ("fake", "spoof"),
        ("FAKE", "spoof"),
        ("Spoof", "spoof"),
        ("synthetic", "spoof"),
        ("DeepFake", "spoof"),
        (" spoof ", "spoof"),
    ],
)
def test_canonical_label_spellings(raw: str, canon: str) -> None:
    assert canonical_label(raw) == canon


def test_unknown_label_needs_a_map() -> None:
    with pytest.raises(DataError, match="--label-map"):
        canonical_label("1")
    assert canonical_label("1", label_map={"1": "spoof"}) == "spoof"
    assert canonical_label("0", label_map={"0": "REAL"}) == "bonafide"
    with pytest.raises(DataError):
        canonical_label("x", label_map={"x": "maybe"})
    assert list(encode_labels(["REAL", "fake", "bonafide"])) == [0, 1, 0]
    assert LABEL_IDS == {"bonafide": 0, "spoof": 1}


def test_parse_label_map() -> None:
    assert parse_label_map(["Voices=bonafide", "clones = FAKE"]) == {
        "Voices": "bonafide",
        "clones": "spoof",
    }
    with pytest.raises(DataError):
        parse_label_map(["novalue"])
    with pytest.raises(DataError):
        parse_label_map(["a=other"])


def test_score_convention_round_trip() -> None:
    p = np.array([0.01, 0.2, 0.5, 0.9])
    s = p_fake_to_score(p)
    assert np.all(np.diff(s) < 0)  # more fake -> lower (less bona fide) score
    assert s[2] == pytest.approx(0.0)
    np.testing.assert_allclose(score_to_p_fake(s), p)


def test_registry_lazy_and_errors() -> None:
    reg = Registry("thing")
    reg.register("sqrt", "math:sqrt", help="square root")
    assert "sqrt" in reg and reg.names() == ["sqrt"] and len(reg) == 1
    assert reg.get("sqrt")(9.0) == 3.0
    assert reg.help("sqrt") == "square root"
    with pytest.raises(ParameterError, match="duplicate"):
        reg.register("sqrt", abs)
    with pytest.raises(ParameterError, match="unknown thing 'cube'; choose one of: sqrt"):
        reg.get("cube")


# --------------------------------------------------------------------------- plain folders


def test_folder_class_names_case_insensitive(tmp_path: Path) -> None:
    for cls in ("Real", "BONAFIDE", "bona-fide", "genuine", "Human"):
        _wav(tmp_path / "bf" / cls / "a.wav")
    for cls in ("FAKE", "spoof", "Synthetic", "deepfake"):
        _wav(tmp_path / "sp" / cls / "sub" / "b.wav")
    m_bf = from_folders(tmp_path / "bf")
    m_sp = from_folders(tmp_path / "sp")
    assert len(m_bf) == 5 and set(m_bf["label"]) == {"bonafide"}
    assert len(m_sp) == 4 and set(m_sp["label"]) == {"spoof"}
    # group = path below the class folder, without extension (one recording)
    assert set(m_sp["group"]) == {"sub/b"}
    assert list(m_bf.columns) == ["path", "label", "group"]


def test_folder_files_sorted_and_non_audio_ignored(tmp_path: Path) -> None:
    _wav(tmp_path / "real" / "b.wav")
    _wav(tmp_path / "real" / "a.WAV")
    (tmp_path / "real" / "notes.txt").write_text("x", encoding="utf-8")
    _wav(tmp_path / "real" / ".hidden" / "c.wav")
    _wav(tmp_path / "fake" / "d.wav")
    m = from_folders(tmp_path)
    names = [Path(p).name for p in m["path"]]
    assert names == ["d.wav", "a.WAV", "b.wav"]  # class folders sorted, then files


def test_folder_follows_symlinked_folders(tmp_path: Path) -> None:
    # real/spk1 -> a corpus folder elsewhere: rglob() skipped it, giving 0 bona fide files
    _wav(tmp_path / "corpus" / "1688" / "a.wav")
    _wav(tmp_path / "data" / "fake" / "b.wav")
    (tmp_path / "data" / "real").mkdir()
    (tmp_path / "data" / "real" / "spk1").symlink_to(tmp_path / "corpus" / "1688")
    (tmp_path / "corpus" / "1688" / "loop").symlink_to(tmp_path / "corpus")  # not followed twice
    m = from_folders(tmp_path / "data")
    assert sorted(m["label"]) == ["bonafide", "spoof"]
    assert list(m.loc[m["label"] == "bonafide", "group"]) == ["spk1/a"]


def test_unknown_class_folder_suggests_label_map(tmp_path: Path) -> None:
    _wav(tmp_path / "real" / "a.wav")
    _wav(tmp_path / "clones" / "b.wav")
    with pytest.raises(DataError) as err:
        from_folders(tmp_path)
    msg = _one_line(err.value)
    assert "'clones'" in msg and "--label-map clones=bonafide|spoof" in msg
    m = load_manifest([tmp_path], label_map=parse_label_map(["clones=spoof"]))
    assert dict(zip(m["path"].map(lambda p: Path(p).parent.name), m["label"], strict=True)) == {
        "clones": "spoof",
        "real": "bonafide",
    }


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    with pytest.raises(DataError, match="no audio files found"):
        from_folders(tmp_path)


def test_group_regex(tmp_path: Path) -> None:
    _wav(tmp_path / "real" / "LJ001-0001.wav")
    _wav(tmp_path / "real" / "LJ001-0002.wav")
    _wav(tmp_path / "fake" / "LJ001-0001_gen.wav")
    _wav(tmp_path / "fake" / "other.wav")
    m = load_manifest([tmp_path], group_regex=r"^(LJ\d+-\d+)")
    groups = dict(zip(m["path"].map(lambda p: Path(p).name), m["group"], strict=True))
    assert groups == {
        "LJ001-0001.wav": "LJ001-0001",
        "LJ001-0002.wav": "LJ001-0002",
        "LJ001-0001_gen.wav": "LJ001-0001",  # the vocoded copy joins its source
        "other.wav": "other",  # no match: the recording itself
    }


# --------------------------------------------------------------------------- DEEP-VOICE


def _deep_voice_tree(root: Path) -> Path:
    audio = root / "AUDIO"
    _wav(audio / "REAL" / "biden-original.wav")
    _wav(audio / "REAL" / "obama-original.wav")
    _wav(audio / "FAKE" / "Obama-to-Biden.wav")
    _wav(audio / "FAKE" / "biden-to-Trump.wav")
    return audio


def test_deep_voice_names(tmp_path: Path) -> None:
    _deep_voice_tree(tmp_path)
    assert detect_layout(tmp_path) == "deep-voice"
    assert detect_layout(tmp_path / "AUDIO") == "deep-voice"
    m = load_manifest([tmp_path])
    rows = {Path(p).name: r for p, r in zip(m["path"], m.to_dict("records"), strict=True)}
    fake = rows["Obama-to-Biden.wav"]
    assert (fake["label"], fake["group"], fake["speaker"], fake["target"]) == (
        "spoof",
        "obama",
        "obama",
        "biden",
    )
    real = rows["biden-original.wav"]
    assert (real["label"], real["group"], real["target"]) == ("bonafide", "biden", "biden")
    assert rows["biden-to-Trump.wav"]["group"] == "biden"
    # Biden's real speech and the fake made from Biden's speech share a group
    assert list(m.columns) == ["path", "label", "group", "speaker", "target"]


def test_deep_voice_parse_name() -> None:
    assert parse_name("Obama-to-Biden", fake=True) == ("obama", "biden")
    assert parse_name("margot-to-taylor", fake=True) == ("margot", "taylor")
    assert parse_name("biden-original", fake=False) == ("biden", "biden")
    assert parse_name("weird", fake=True) == ("weird", "")


def test_deep_voice_missing_folders(tmp_path: Path) -> None:
    _wav(tmp_path / "REAL" / "a-original.wav")
    with pytest.raises(DataError, match="REAL/ and FAKE/"):
        from_deep_voice(tmp_path)


# --------------------------------------------------------------------------- ASVspoof


def test_asvspoof_train_protocol_counts(shared_data: Path) -> None:
    root = shared_data / LA
    proto = root / "ASVspoof2019.LA.cm.train.trn.txt"
    m = load_manifest([root], protocols=[proto])
    assert len(m) == 25380
    counts = m["label"].value_counts().to_dict()
    assert counts == {"spoof": 22800, "bonafide": 2580}
    attacks = m.loc[m["label"] == "spoof", "attack"].value_counts().to_dict()
    assert attacks == {f"A0{i}": 3800 for i in range(1, 7)}
    assert set(m.loc[m["label"] == "bonafide", "attack"]) == {"-"}
    assert set(m["split"]) == {"train"}
    assert m["speaker"].nunique() == 20
    assert (m["group"] == m["speaker"]).all()
    assert "condition" not in m.columns  # all '-' in LA: dropped
    # standard audio location for files not on disk
    assert m["path"].iloc[0].endswith("ASVspoof2019_LA_train/flac/LA_T_1138215.flac")


def test_asvspoof_read_protocol(shared_data: Path) -> None:
    df = read_protocol(shared_data / LA / "ASVspoof2019.LA.cm.dev.trl.txt")
    assert list(df.columns) == ["speaker", "utt", "condition", "attack", "key"]
    assert len(df) == 24844
    assert df["key"].value_counts().to_dict() == {"spoof": 22296, "bonafide": 2548}


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("ASVspoof2019.LA.cm.train.trn.txt", "train"),
        ("ASVspoof2019.LA.cm.dev.trl.txt", "dev"),
        ("ASVspoof2019.LA.cm.eval.trl.txt", "eval"),
        ("ASVspoof2019.PA.cm.eval.trl.txt", "eval"),
    ],
)
def test_split_from_protocol_file_name(name: str, split: str) -> None:
    # the file name wins over the utterance id's letter
    assert split_of(Path(name), "LA_X_0000001") == split
    assert split_of(Path("labels.txt"), "LA_D_1") == "dev"
    assert split_of(Path("labels.txt"), "whatever") == ""


def test_asvspoof_flac_samples(shared_data: Path) -> None:
    root = shared_data / LA / "flac_samples"
    proto = root / "labels.txt"
    assert detect_layout(root, protocols=[proto]) == "asvspoof"
    m = load_manifest([root], protocols=[proto])
    assert [Path(p).name for p in m["path"]] == ["LA_E_3739591.flac", "LA_E_6204844.flac"]
    assert all(Path(p).is_file() for p in m["path"])
    assert list(m["label"]) == ["bonafide", "spoof"]
    assert list(m["attack"]) == ["-", "A15"]
    assert list(m["split"]) == ["eval", "eval"]  # from the LA_E_ ids
    assert list(m["group"]) == ["LA_0004", "LA_0012"]


def test_asvspoof_bad_protocols(tmp_path: Path) -> None:
    bad = tmp_path / "p.txt"
    bad.write_text("LA_0001 LA_T_1 - bonafide\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: expected 5 columns"):
        read_protocol(bad)
    bad.write_text("LA_0001 LA_T_1 - - maybe\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: key 'maybe'"):
        read_protocol(bad)
    bad.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        read_protocol(bad)
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="--protocol"):
        from_asvspoof(tmp_path / "x")


def test_asvspoof_standard_protocol_folder_is_detected(tmp_path: Path) -> None:
    d = tmp_path / "LA" / "ASVspoof2019_LA_cm_protocols"
    d.mkdir(parents=True)
    (d / "ASVspoof2019.LA.cm.dev.trl.txt").write_text(
        "LA_0069 LA_D_1047731 - - bonafide\nLA_0070 LA_D_1000001 - A01 spoof\n", encoding="utf-8"
    )
    _wav(tmp_path / "LA" / "ASVspoof2019_LA_dev" / "flac" / "LA_D_1047731.flac")
    assert detect_layout(tmp_path / "LA") == "asvspoof"
    m = load_manifest([tmp_path / "LA"])
    assert list(m["split"]) == ["dev", "dev"]
    assert Path(m["path"][0]).is_file()


# --------------------------------------------------------------------------- CSV lists


def test_csv_list_relative_paths(tmp_path: Path) -> None:
    _wav(tmp_path / "audio" / "a.wav")
    _wav(tmp_path / "audio" / "b.wav")
    lst = tmp_path / "lists" / "list.csv"
    lst.parent.mkdir()
    lst.write_text(
        "path,label,group,split\n../audio/a.wav,REAL,spk1,train\n../audio/b.wav,fake,,Eval\n",
        encoding="utf-8",
    )
    assert detect_layout(lst) == "csv"
    m = load_manifest([lst])
    assert [Path(p).resolve() for p in m["path"]] == [
        (tmp_path / "audio" / n).resolve() for n in ("a.wav", "b.wav")
    ]
    assert all(Path(p).is_file() for p in m["path"])
    assert list(m["label"]) == ["bonafide", "spoof"]
    assert list(m["group"]) == ["spk1", "b"]  # missing group -> the file
    assert list(m["split"]) == ["train", "eval"]


def test_csv_list_without_optional_columns(tmp_path: Path) -> None:
    lst = tmp_path / "l.csv"
    lst.write_text("path,label\n/abs/x.wav,bonafide\n/abs/y.wav,spoof\n", encoding="utf-8")
    m = from_csv(lst)
    assert list(m.columns) == ["path", "label", "group"]
    assert list(m["path"]) == ["/abs/x.wav", "/abs/y.wav"]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("path,label\na.wav,maybe\n", "line 2: unknown label 'maybe'"),
        ("path,label,split\na.wav,real,train\nb.wav,fake,testing\n", "line 3: split 'testing'"),
        ("file,label\na.wav,real\n", "missing path"),
        ("path,group\na.wav,g\n", "missing label"),
    ],
)
def test_csv_list_errors_are_one_line(tmp_path: Path, body: str, match: str) -> None:
    lst = tmp_path / "bad.csv"
    lst.write_text(body, encoding="utf-8")
    with pytest.raises(DataError, match=match) as err:
        load_manifest([lst])
    assert _one_line(err.value).startswith(str(lst))


def test_csv_label_map(tmp_path: Path) -> None:
    lst = tmp_path / "l.csv"
    lst.write_text("path,label\n/a.wav,0\n/b.wav,1\n", encoding="utf-8")
    m = from_csv(lst, label_map={"0": "bonafide", "1": "spoof"})
    assert list(m["label"]) == ["bonafide", "spoof"]


# --------------------------------------------------------------------------- detection, merge


def test_detect_layout(tmp_path: Path) -> None:
    _wav(tmp_path / "plain" / "real" / "a.wav")
    assert detect_layout(tmp_path / "plain") == "folders"
    single = _wav(tmp_path / "one.wav")
    with pytest.raises(DataError, match="single file is not a dataset"):
        detect_layout(single)
    with pytest.raises(DataError, match="no such file"):
        detect_layout(tmp_path / "missing")
    with pytest.raises(ParameterError, match="unknown layout"):
        load_manifest([tmp_path / "plain"], layout="kaggle")
    with pytest.raises(ParameterError):
        load_manifest([])


def test_explicit_layout_overrides_detection(tmp_path: Path) -> None:
    """A DEEP-VOICE-looking tree read as plain folders uses the class folder names."""
    _deep_voice_tree(tmp_path)
    m = load_manifest([tmp_path / "AUDIO"], layout="folders")
    assert "target" not in m.columns
    assert set(m["group"]) == {
        "biden-original",
        "obama-original",
        "Obama-to-Biden",
        "biden-to-Trump",
    }


def test_several_inputs_concatenate_and_duplicates_fail(tmp_path: Path) -> None:
    _wav(tmp_path / "a" / "real" / "x.wav")
    _wav(tmp_path / "b" / "fake" / "y.wav")
    m = load_manifest([tmp_path / "a", tmp_path / "b"])
    assert list(m["label"]) == ["bonafide", "spoof"]
    assert isinstance(m, pd.DataFrame)
    with pytest.raises(DataError, match="listed twice"):
        load_manifest([tmp_path / "a", tmp_path / "a"])
