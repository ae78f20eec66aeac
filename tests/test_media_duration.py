"""`media_duration`: seconds of a saved WAV, MP4 or MP3 read from its header, or None when it cannot tell."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bailian_mcp.media import media_duration
from tests.support.media import write_wav

MP3_FRAME_128K = bytes([0xFF, 0xFB, 0x90, 0x64])  # MPEG-1 Layer III, no CRC, 128 kbps, 44.1 kHz


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mvhd(version: int, timescale: int, duration: int) -> bytes:
    if version == 1:
        times = struct.pack(">QQIQ", 3_000_000_000, 3_000_000_001, timescale, duration)
    else:
        times = struct.pack(">IIII", 3_000_000_000, 3_000_000_001, timescale, duration)
    rest = struct.pack(">IH", 0x00010000, 0x0100) + b"\0" * 10 + b"\0" * 36 + b"\0" * 24 + struct.pack(">I", 2)
    return box(b"mvhd", bytes([version, 0, 0, 0]) + times + rest)


def write_mp4(path: Path, *, version: int, timescale: int, duration: int) -> Path:
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    mdat = box(b"mdat", b"\0" * 2000)
    path.write_bytes(ftyp + mdat + box(b"moov", mvhd(version, timescale, duration)))
    return path


def id3v2(payload_size: int, payload: bytes = b"") -> bytes:
    syncsafe = bytes((payload_size >> shift) & 0x7F for shift in (21, 14, 7, 0))
    body = payload + b"\0" * (payload_size - len(payload))
    return b"ID3\x03\x00\x00" + syncsafe + body


# ---------------------------------------------------------------------- WAV


@pytest.mark.parametrize(
    ("rate", "channels", "width", "frames", "seconds"),
    [(16000, 1, 2, 24000, 1.5), (44100, 2, 2, 44100 * 3, 3.0), (8000, 1, 1, 2000, 0.25)],
)
def test_a_wav_lasts_its_data_bytes_over_its_byte_rate(
    tmp_path: Path, rate: int, channels: int, width: int, frames: int, seconds: float
) -> None:
    path = write_wav(tmp_path / "a.wav", frames / rate, rate, channels=channels, sample_width=width)
    assert media_duration(path) == seconds


def test_a_wav_with_an_extra_chunk_before_the_data_is_read(tmp_path: Path) -> None:
    plain = write_wav(tmp_path / "plain.wav", 1.0).read_bytes()
    fmt_end = 12 + 8 + 16
    payload = b"INFOISFT\x05\0\0\0L"  # 13 bytes: an odd-sized chunk, padded to an even length
    extra = b"LIST" + struct.pack("<I", len(payload)) + payload + b"\0"
    data = plain[:fmt_end] + extra + plain[fmt_end:]
    path = tmp_path / "list.wav"
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    assert media_duration(path) == 1.0


def test_a_wav_suffix_in_capitals_is_recognised(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "A.WAV", 0.5)
    assert media_duration(path) == 0.5


# ---------------------------------------------------------------------- MP4 (mvhd box)


def test_an_mp4_with_a_version_0_mvhd_lasts_duration_over_timescale(tmp_path: Path) -> None:
    assert media_duration(write_mp4(tmp_path / "v.mp4", version=0, timescale=1000, duration=5042)) == 5.042


def test_an_mp4_with_a_version_1_mvhd_reads_64_bit_times(tmp_path: Path) -> None:
    path = write_mp4(tmp_path / "v.mp4", version=1, timescale=90000, duration=90000 * 10)
    assert media_duration(path) == 10.0
    big = write_mp4(tmp_path / "long.mp4", version=1, timescale=1, duration=2**33)
    assert media_duration(big) == float(2**33)


@pytest.mark.parametrize("suffix", [".mov", ".m4a", ".MP4"])
def test_mov_and_m4a_are_read_as_mp4(tmp_path: Path, suffix: str) -> None:
    assert media_duration(write_mp4(tmp_path / f"v{suffix}", version=0, timescale=600, duration=3000)) == 5.0


def test_an_mp4_with_a_zero_timescale_has_no_duration(tmp_path: Path) -> None:
    assert media_duration(write_mp4(tmp_path / "v.mp4", version=0, timescale=0, duration=100)) is None


def test_an_mp4_without_an_mvhd_box_has_no_duration(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(box(b"ftyp", b"isom\0\0\0\0") + box(b"mdat", b"\0" * 100))
    assert media_duration(path) is None


def test_a_truncated_mp4_ending_in_the_mvhd_name_has_no_duration(tmp_path: Path) -> None:
    # An interrupted download: the file stops right after the box name; media_duration must not crash.
    path = tmp_path / "cut.mp4"
    path.write_bytes(box(b"ftyp", b"isom\0\0\0\0") + struct.pack(">I", 108) + b"mvhd")
    assert media_duration(path) is None


# ---------------------------------------------------------------------- MP3 (first frame's bitrate)


def test_an_mp3_is_estimated_from_its_size_and_first_frames_bitrate(tmp_path: Path) -> None:
    path = tmp_path / "a.mp3"
    path.write_bytes(MP3_FRAME_128K + b"\0" * (16000 * 3 - 4))  # 3 s at 128 kbps = 48000 bytes
    assert media_duration(path) == 3.0


def test_a_small_id3v2_tag_is_skipped_before_looking_for_the_first_frame(tmp_path: Path) -> None:
    # The tag holds bytes that look like a 32 kbps frame header; they must not be taken for audio.
    tag = id3v2(100, payload=b"TALB" + bytes([0xFF, 0xFB, 0x10, 0x00]))
    path = tmp_path / "tagged.mp3"
    path.write_bytes(tag + MP3_FRAME_128K + b"\0" * (16000 * 2 - 4))
    assert media_duration(path) == 2.0


def test_an_id3v2_tag_of_128_bytes_or_more_is_skipped_by_its_syncsafe_size(tmp_path: Path) -> None:
    # ID3v2 sizes are "syncsafe": 7 bits per byte, so 1000 is stored as 00 00 07 68 (7*128 + 104), not 7*256 + 104.
    tag = id3v2(1000, payload=b"TALB" + bytes([0xFF, 0xFB, 0x10, 0x00]))
    assert tag[6:10] == bytes([0, 0, 7, 104])
    path = tmp_path / "tagged.mp3"
    path.write_bytes(tag + MP3_FRAME_128K + b"\0" * (16000 * 2 - 4))
    assert media_duration(path) == 2.0


def test_an_mp3_frame_after_some_junk_is_found(tmp_path: Path) -> None:
    path = tmp_path / "a.mp3"
    path.write_bytes(b"\0" * 100 + MP3_FRAME_128K + b"\0" * (16000 - 4))
    assert media_duration(path) == 1.0


@pytest.mark.parametrize("bitrate_byte", [0x00, 0xF0], ids=["free format", "bad bitrate"])
def test_an_mp3_frame_without_a_usable_bitrate_has_no_duration(tmp_path: Path, bitrate_byte: int) -> None:
    path = tmp_path / "a.mp3"
    path.write_bytes(bytes([0xFF, 0xFB, bitrate_byte, 0x64]) + b"\0" * 1000)
    assert media_duration(path) is None


# ---------------------------------------------------------------------- what it cannot read


@pytest.mark.parametrize("name", ["a.ogg", "a.flac", "a.txt", "a"])
def test_an_unknown_suffix_has_no_duration(tmp_path: Path, name: str) -> None:
    path = write_wav(tmp_path / "real.wav", 0.1, 8000, sample_width=1)
    target = tmp_path / name
    target.write_bytes(path.read_bytes())
    assert media_duration(target) is None


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".mp4"])
def test_garbage_has_no_duration(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(b"this is not a media file at all. " * 50)
    assert media_duration(path) is None


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".mp4"])
def test_an_empty_file_has_no_duration(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    assert media_duration(path) is None


def test_a_missing_file_has_no_duration(tmp_path: Path) -> None:
    assert media_duration(tmp_path / "gone.wav") is None


def test_a_wav_without_a_data_chunk_has_no_duration(tmp_path: Path) -> None:
    plain = write_wav(tmp_path / "a.wav", 10 / 16000).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(plain[: 12 + 8 + 16])
    assert media_duration(cut) is None
