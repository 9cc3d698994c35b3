"""Speech for the tests, synthesised by eSpeak NG (the espeakng-loader wheel bundles the library and voices)."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np

_LOCK = threading.Lock()
_STATE: dict[str, object] = {}
SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: samples come back through the callback
RATE = 1  # espeakRATE, words per minute
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _library() -> tuple[ctypes.CDLL, int, list[np.ndarray]]:
    if "lib" not in _STATE:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]  # fmt: skip
        rate = lib.espeak_Initialize(SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise")
        chunks: list[np.ndarray] = []

        @CALLBACK
        def collect(wav, n, _events):
            if wav and n > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        lib.espeak_SetSynthCallback(collect)
        _STATE.update(lib=lib, rate=rate, chunks=chunks, callback=collect)
    return _STATE["lib"], _STATE["rate"], _STATE["chunks"]  # type: ignore[return-value]


def synthesize(text: str, voice: str = "en-us", words_per_minute: int = 175) -> tuple[np.ndarray, int]:
    """int16 mono samples of `text` spoken by eSpeak NG, and their sample rate (22,050 Hz)."""
    with _LOCK:
        lib, rate, chunks = _library()
        chunks.clear()
        lib.espeak_SetVoiceByName(voice.encode())
        lib.espeak_SetParameter(RATE, words_per_minute, 0)
        data = text.encode()
        if lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None) != 0:
            raise RuntimeError(f"espeak-ng could not synthesise {text!r}")
        lib.espeak_Synchronize()
        return np.concatenate(chunks), rate


def write_speech(path: Path, text: str, **options: object) -> Path:
    """Synthesise `text` into an audio file; the suffix picks the format (.wav, .flac)."""
    import soundfile

    samples, rate = synthesize(text, **options)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, rate)
    return path


SENTENCES = [
    "open the pod bay doors",
    "the cat sat on the mat",
    "a quick brown fox jumps over the lazy dog",
    "hello world",
    "speech recognition is fun",
    "the rain in spain stays mainly in the plain",
    "she sells sea shells by the sea shore",
    "we test the model on synthetic speech",
]


def write_manifest(folder: Path, sentences: list[str] = SENTENCES, name: str = "train.tsv", fmt: str = "wav") -> Path:
    """A speech-manifest: one synthesised file per sentence under folder/clips, listed in folder/name."""
    lines = ["path\ttranscript"]
    for i, text in enumerate(sentences):
        rel = f"clips/{Path(name).stem}-{i}.{fmt}"
        write_speech(folder / rel, text)
        lines.append(f"{rel}\t{text}")
    manifest = folder / name
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def write_librispeech(split: Path, chapters: dict[tuple[int, int], list[str]]) -> Path:
    """A LibriSpeech split: <speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac and <speaker>-<chapter>.trans.txt."""
    for (speaker, chapter), sentences in chapters.items():
        folder = split / str(speaker) / str(chapter)
        lines = []
        for n, text in enumerate(sentences):
            utt = f"{speaker}-{chapter}-{n:04d}"
            write_speech(folder / f"{utt}.flac", text)
            lines.append(f"{utt} {text.upper()}")
        (folder / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return split
