import pytest
import torch
from espeak import SENTENCES, write_librispeech, write_manifest, write_speech
from zoo_wav2vec.data import collate, librispeech, speech_manifest
from zoo_wav2vec.vocab import DEFAULT

from zoo.core.errors import UsageError, ZooError


@pytest.fixture(scope="module")
def libri(tmp_path_factory):
    root = tmp_path_factory.mktemp("LibriSpeech")
    write_librispeech(root / "train-clean-100", {(19, 198): SENTENCES[:3], (26, 495): SENTENCES[3:5]})
    write_librispeech(root / "dev-clean", {(84, 121): SENTENCES[5:7]})
    return root


def test_librispeech_root_uses_the_named_splits(libri):
    data = librispeech(libri)
    assert len(data.train) == 5 and len(data.val) == 2
    wave, target = data.train[0]
    assert wave.dtype == torch.float32 and wave.dim() == 1
    assert DEFAULT.spell(target.tolist()) == SENTENCES[0].upper()
    assert data.train.lengths[0] == pytest.approx(len(wave), abs=2)  # from the FLAC header, resampled to 16 kHz
    assert data.info["labels"] == list(DEFAULT.tokens)
    assert data.info["preprocessing"] == {"sample_rate": 16000, "normalize": True}


def test_one_split_holds_out_whole_speakers(libri):
    data = librispeech(libri / "train-clean-100", val_fraction=0.5, seed=0)
    speakers = {u.path.name.split("-")[0] for u in data.val.utterances}
    assert len(speakers) == 1 and len(data.train) + len(data.val) == 5
    assert not speakers & {u.path.name.split("-")[0] for u in data.train.utterances}


@pytest.mark.usefixtures("libri")
def test_librispeech_errors(tmp_path):
    with pytest.raises(UsageError, match="no LibriSpeech transcripts"):
        librispeech(tmp_path)
    with pytest.raises(UsageError, match="needs --data-dir"):
        librispeech(None)
    chapter = tmp_path / "split" / "1" / "2"
    write_librispeech(tmp_path / "split", {(1, 2): ["hello"]})
    (chapter / "1-2.trans.txt").write_text("1-2-0000 HELLO\n1-2-0001 GONE\n")
    with pytest.raises(ZooError, match=r"1-2.trans.txt:2: names 1-2-0001"):
        librispeech(tmp_path / "split")


def test_manifest_folder_with_dev_and_relative_paths(tmp_path):
    write_manifest(tmp_path, SENTENCES[:4])
    write_manifest(tmp_path, SENTENCES[4:6], name="dev.tsv", fmt="flac")
    data = speech_manifest(tmp_path)
    assert len(data.train) == 4 and len(data.val) == 2
    assert data.val.utterances[0].path.suffix == ".flac"
    batch = collate([data.train[i] for i in range(3)])
    longest = max(data.train.lengths[:3])
    assert batch["waves"].shape[1] == pytest.approx(longest, abs=2)
    assert batch["lengths"].tolist() == [len(data.train[i][0]) for i in range(3)]
    assert batch["target_lengths"].tolist() == [len(DEFAULT.encode(s)) for s in SENTENCES[:3]]
    assert (batch["waves"][batch["lengths"].argmin(), batch["lengths"].min() :] == 0).all()  # zero padding


def test_manifest_file_holds_out_validation(tmp_path):
    manifest = write_manifest(tmp_path, SENTENCES, name="all.tsv")
    data = speech_manifest(manifest, val_fraction=0.25)
    assert len(data.train) == 6 and len(data.val) == 2


def test_manifest_errors_say_where(tmp_path):
    write_speech(tmp_path / "a.wav", "hello")
    bad = tmp_path / "train.tsv"
    bad.write_text("a.wav\thello\nmissing.wav\tgone\n")
    with pytest.raises(UsageError, match=r"train.tsv:2: no audio file missing.wav"):
        speech_manifest(tmp_path)
    bad.write_text("a.wav\thello\textra\n")
    with pytest.raises(UsageError, match=r"train.tsv:1: expected `path<TAB>transcript`, got 3"):
        speech_manifest(tmp_path)
    bad.write_text("path\ttranscript\n")
    with pytest.raises(UsageError, match="lists no utterances"):
        speech_manifest(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"has no train\.tsv"):
        speech_manifest(tmp_path / "empty")
    with pytest.raises(UsageError, match="max_seconds"):
        bad.write_text("a.wav\thello\n")
        speech_manifest(tmp_path, max_seconds=0.01)


def test_durations_come_from_the_headers_once_then_from_the_cache(tmp_path, monkeypatch):
    import json
    import os

    import soundfile
    from zoo_wav2vec.durations import cache_file

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    manifest = write_manifest(tmp_path / "speech", SENTENCES[:3])
    first = speech_manifest(manifest)
    headers = {str(u.path): soundfile.info(str(u.path)).duration for u in first.train.utterances}
    assert {str(u.path): u.seconds for u in first.train.utterances} == pytest.approx(headers)
    where = cache_file(manifest.parent)
    cached = json.loads(where.read_text())
    assert set(cached) == {str(p) for p in (tmp_path / "speech" / "clips").iterdir()}
    # The next start reads the cache, not the headers: a value planted there (same size and mtime) is what it gets.
    planted = next(iter(first.train.utterances)).path
    cached[str(planted)][2] = 123.0
    where.write_text(json.dumps(cached))
    second = speech_manifest(manifest)
    assert {u.path: u.seconds for u in second.train.utterances + second.val.utterances}[planted] == 123.0
    # A file changed since (its mtime moved) is read again.
    stat = planted.stat()
    os.utime(planted, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = speech_manifest(manifest)
    seconds = {u.path: u.seconds for u in third.train.utterances + third.val.utterances}
    assert seconds[planted] == pytest.approx(headers[str(planted)])


def test_a_damaged_durations_cache_is_rebuilt_with_a_warning(tmp_path, monkeypatch):
    from zoo_wav2vec.durations import cache_file

    from zoo.core.errors import ZooWarning

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    manifest = write_manifest(tmp_path / "speech", SENTENCES[:2])
    where = cache_file(manifest.parent)
    where.parent.mkdir(parents=True)
    for damage in ("{not json", '{"x": [1, 2, "three"]}', "[]"):
        where.write_text(damage)
        if damage.startswith('{"'):
            data = speech_manifest(manifest)  # a wrong entry for another file is ignored
        else:
            with pytest.warns(ZooWarning, match="durations are read from the headers again"):
                data = speech_manifest(manifest)
        assert all(u.seconds > 0.5 for u in data.train.utterances + data.val.utterances)
