"""Audio the emulator writes and reads: PCM tones, WAV with embedded text, silent MP3 frames."""

from __future__ import annotations

import io
import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import pytest

from bailian_mcp.emulator.audio import MARKER, SilentMp3, id3_tag, probe, tone, wav_header
from tests.support.media import wav_bytes


def test_tone_has_the_requested_length_and_loudness() -> None:
    samples = struct.unpack("<1600h", tone(400, 1600, 16000, 100))
    assert max(samples) > 20000 and min(samples) < -20000
    assert tone(400, 1600, 16000, 0) == bytes(3200) and tone(400, 0, 16000, 50) == b""


def test_wav_with_text_reads_back_with_the_standard_library() -> None:
    pcm = tone(300, 8000, 8000, 50)
    data = wav_header(8000, len(pcm), "你好，世界") + pcm
    with wave.open(io.BytesIO(data)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (8000, 1, 2)
        assert reader.getnframes() == 8000 and reader.readframes(8000) == pcm


def test_probe_reads_wav_duration_and_the_embedded_text() -> None:
    pcm = tone(300, 24000, 16000, 50)
    info = probe(wav_header(16000, len(pcm), "hello there") + pcm)
    assert info is not None
    assert (info.format, info.sample_rate, info.channels, info.duration_ms) == ("pcm_s16le", 16000, 1, 1500)
    assert info.text == "hello there"


def test_probe_reads_foreign_wavs_without_text() -> None:
    info = probe(wav_bytes(2.0, 44100, channels=2))
    assert info is not None and (info.channels, info.duration_ms, info.text) == (2, 2000, None)


@pytest.mark.parametrize("rate", [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000])
def test_silent_mp3_frames_probe_to_their_duration(rate: int) -> None:
    mp3 = SilentMp3.for_rate(rate)
    frames = mp3.frames_for(rate * 3)
    info = probe(id3_tag("spoken words") + mp3.frame * frames)
    assert info is not None and info.format == "mp3" and info.sample_rate == rate
    assert info.duration_ms == frames * mp3.samples_per_frame * 1000 // rate
    assert abs(info.duration_ms - 3000) < 80 and info.text == "spoken words"


def test_mp3_without_a_tag_has_no_text() -> None:
    mp3 = SilentMp3.for_rate(16000)
    info = probe(mp3.frame * 10)
    assert info is not None and info.text is None


def test_text_is_only_trusted_from_the_emulator() -> None:
    pcm = tone(300, 800, 8000, 50)
    data = bytearray(wav_header(8000, len(pcm), "secret") + pcm)
    at = data.index(MARKER.encode())
    data[at : at + 7] = b"someone"
    info = probe(bytes(data))
    assert info is not None and info.text is None


@pytest.mark.parametrize("data", [b"", b"hello world", b"RIFF\x00\x00\x00\x00WAVEjunk", b"\xff\xfb\x00\x00" * 3])
def test_probe_refuses_what_is_not_audio(data: bytes) -> None:
    assert probe(data) is None


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
@pytest.mark.parametrize("kind", ["wav", "mp3"])
def test_ffprobe_reads_both_formats(tmp_path: Path, kind: str) -> None:
    if kind == "wav":
        pcm = tone(440, 16000, 16000, 50)
        data = wav_header(16000, len(pcm), "x") + pcm
    else:
        mp3 = SilentMp3.for_rate(24000)
        data = id3_tag("x") + mp3.frame * mp3.frames_for(24000)
    path = tmp_path / f"audio.{kind}"
    path.write_bytes(data)
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert math.isclose(float(done.stdout), 1.0, abs_tol=0.05)
