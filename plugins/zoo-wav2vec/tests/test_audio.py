import numpy as np
import pytest
import soundfile
import torch
import torchaudio
from zoo_wav2vec import audio

from zoo.core.errors import ZooError


def test_8khz_stereo_is_mixed_down_and_resampled(tmp_path):
    t = np.arange(8000 * 2) / 8000
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 220 * t)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], 1).astype(np.float32), 8000)

    wave = audio.load(path, normalize=False)
    assert wave.shape == (32000,)  # 2 s at 16 kHz, one channel
    mono = torch.from_numpy(((left + right) / 2).astype(np.float32))
    assert torch.allclose(wave, torchaudio.functional.resample(mono, 8000, 16000), atol=1e-4)


def test_flac_reads_like_wav_and_normalisation_is_per_utterance(tmp_path):
    samples = (np.random.default_rng(0).standard_normal(16000) * 0.1 + 0.3).astype(np.float32)
    soundfile.write(tmp_path / "a.flac", samples, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "a.wav", samples, 16000, subtype="PCM_16")
    flac, wav = audio.load(tmp_path / "a.flac"), audio.load(tmp_path / "a.wav")
    assert torch.allclose(flac, wav, atol=1e-3)  # both 16-bit; libsndfile scales float to int slightly apart
    assert abs(float(flac.mean())) < 1e-5 and abs(float(flac.std(correction=0)) - 1) < 1e-3
    assert audio.duration(tmp_path / "a.flac") == 1.0


def test_bad_files_name_themselves(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(ZooError, match=r"empty\.wav is empty"):
        audio.load(tmp_path / "empty.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    with pytest.raises(ZooError, match=r"cannot read the audio file .*notes\.txt"):
        audio.load(tmp_path / "notes.txt")
    soundfile.write(tmp_path / "silent.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(ZooError, match="holds no samples"):
        audio.load(tmp_path / "silent.wav")
    with pytest.raises(ZooError, match="no audio file"):
        audio.load(tmp_path / "missing.wav")
    with pytest.raises(ZooError, match="cannot read the audio file"):
        audio.duration(tmp_path / "notes.txt")
