"""Audio files the emulator writes (speech synthesis) and reads (transcription), without codecs.

Written:

* PCM: 16-bit signed little-endian mono samples. Speech is stood in for by one short tone per
  character (`tone`), its pitch derived from the character.
* WAV: a RIFF/WAVE header (``fmt`` PCM16 mono), a ``LIST``/``INFO`` chunk, then the ``data``
  chunk. The INFO chunk records the synthesized text (``ICMT``) and `MARKER` (``ISFT``), which
  is how transcription gets the original text back from the emulator's own audio.
* MP3: an ID3v2.4 tag (a ``TXXX`` frame with the text, described by `MARKER`) followed by
  MPEG Layer III frames whose side information is all zero — valid frames that decode to
  silence (the emulator has no MP3 encoder, so its MP3 speech is silent, of the right length).
  MPEG-1 is used for 32/44.1/48 kHz, MPEG-2 for 16/22.05/24 kHz, MPEG-2.5 for 8/11.025/12 kHz,
  each at its lowest bitrate.

Read (`probe`): WAV (any ``fmt``; the duration comes from the header) and MP3 (MPEG 1/2/2.5
Layer I-III frames are walked and counted, so the duration is exact for CBR and VBR alike),
each with the embedded text when the file came from the emulator.
"""

from __future__ import annotations

import functools
import math
import struct
import sys
from array import array
from dataclasses import dataclass

MARKER = "bailian-mcp emulator"
"""Names the emulator as the writer of an audio file, so transcription trusts its embedded text."""


@dataclass(frozen=True)
class AudioInfo:
    format: str
    """``pcm_s16le``, ``pcm_u8``, ``pcm_s24le``, ``pcm_s32le``, ``pcm_f32le``, ``mp3``, …"""
    sample_rate: int
    channels: int
    duration_ms: int
    text: str | None
    """The text the emulator synthesized into this file, if it did."""


# --- writing ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _cycle(period: int, amplitude: int) -> bytes:
    samples = array("h", (round(amplitude * math.sin(2 * math.pi * k / period)) for k in range(period)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def tone(frequency: float, samples: int, sample_rate: int, volume: int) -> bytes:
    """``samples`` PCM16 samples of a sine tone (whole periods repeated); ``volume`` 0-100."""
    if samples <= 0:
        return b""
    amplitude = round(26000 * volume / 100)
    if amplitude == 0 or frequency <= 0:
        return bytes(2 * samples)
    period = max(2, round(sample_rate / frequency))
    cycle = _cycle(period, amplitude)
    whole, rest = divmod(samples, period)
    return cycle * whole + cycle[: 2 * rest]


def _chunk(kind: bytes, body: bytes) -> bytes:
    padded = body + b"\x00" if len(body) % 2 else body
    return kind + struct.pack("<I", len(body)) + padded


def wav_header(sample_rate: int, data_bytes: int, text: str | None) -> bytes:
    """Everything of a PCM16 mono WAV before its samples, ``data`` chunk header included."""
    fmt = _chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16))
    info = b""
    if text is not None:
        fields = _chunk(b"ISFT", MARKER.encode() + b"\x00") + _chunk(b"ICMT", text.encode() + b"\x00")
        info = _chunk(b"LIST", b"INFO" + fields)
    size = 4 + len(fmt) + len(info) + 8 + data_bytes + (data_bytes % 2)
    return b"RIFF" + struct.pack("<I", size) + b"WAVE" + fmt + info + b"data" + struct.pack("<I", data_bytes)


def _syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def id3_tag(text: str) -> bytes:
    """An ID3v2.4 tag holding ``text`` in a ``TXXX`` frame described by `MARKER` (UTF-8)."""
    body = b"\x03" + MARKER.encode() + b"\x00" + text.encode()
    frame = b"TXXX" + _syncsafe(len(body)) + b"\x00\x00" + body
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame


_MPEG_VERSION = {  # sample rate -> (version bits, sample-rate index)
    44100: (3, 0), 48000: (3, 1), 32000: (3, 2),
    22050: (2, 0), 24000: (2, 1), 16000: (2, 2),
    11025: (0, 0), 12000: (0, 1), 8000: (0, 2),
}  # fmt: skip


@dataclass(frozen=True)
class SilentMp3:
    """Silent MPEG Layer III frames for one sample rate."""

    frame: bytes
    samples_per_frame: int

    @classmethod
    def for_rate(cls, sample_rate: int) -> SilentMp3:
        version, rate_index = _MPEG_VERSION[sample_rate]
        mpeg1 = version == 3
        bitrate = 32000 if mpeg1 else 8000
        length = (144 if mpeg1 else 72) * bitrate // sample_rate
        header = bytes([0xFF, 0xE0 | version << 3 | 0b010 | 1, 1 << 4 | rate_index << 2, 0xC0])
        return cls(header + bytes(length - 4), 1152 if mpeg1 else 576)

    def frames_for(self, samples: int) -> int:
        return -(-samples // self.samples_per_frame)


# --- reading ---------------------------------------------------------------------------------


def probe(data: bytes) -> AudioInfo | None:
    """What ``data`` is, if it is WAV or MP3 audio; ``None`` otherwise."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _probe_wav(data)
    return _probe_mp3(data)


_WAV_FORMATS = {(1, 8): "pcm_u8", (1, 16): "pcm_s16le", (1, 24): "pcm_s24le", (1, 32): "pcm_s32le"}


def _probe_wav(data: bytes) -> AudioInfo | None:
    fmt: tuple[int, int, int, int, int] | None = None
    data_size: int | None = None
    fields: dict[bytes, str] = {}
    position = 12
    while position + 8 <= len(data):
        kind, size = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        body = data[position + 8 : position + 8 + size]
        if kind == b"fmt " and len(body) >= 16:
            tag, channels, rate, byte_rate, _, bits = struct.unpack("<HHIIHH", body[:16])
            fmt = (tag, channels, rate, byte_rate, bits)
        elif kind == b"LIST" and body[:4] == b"INFO":
            fields.update(_info_fields(body[4:]))
        elif kind == b"data":
            data_size = min(size, len(data) - position - 8)
            break
        position += 8 + size + (size % 2)
    if fmt is None or data_size is None or fmt[1] == 0 or fmt[2] == 0 or fmt[3] == 0:
        return None
    tag, channels, rate, byte_rate, bits = fmt
    name = "pcm_f32le" if tag == 3 else _WAV_FORMATS.get((1 if tag == 0xFFFE else tag, bits), f"wav_{tag}")
    text = fields.get(b"ICMT") if fields.get(b"ISFT") == MARKER else None
    return AudioInfo(name, rate, channels, data_size * 1000 // byte_rate, text)


def _info_fields(body: bytes) -> dict[bytes, str]:
    fields = {}
    position = 0
    while position + 8 <= len(body):
        kind, size = body[position : position + 4], struct.unpack("<I", body[position + 4 : position + 8])[0]
        fields[kind] = body[position + 8 : position + 8 + size].rstrip(b"\x00").decode("utf-8", "replace")
        position += 8 + size + (size % 2)
    return fields


_BITRATES = {  # (MPEG-1?, layer) -> kbit/s by index
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_frame(header: bytes) -> tuple[int, int, int, int] | None:
    """(frame length, samples, sample rate, channels) of an MPEG audio frame header, if valid."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4, 384, rate, 1 if header[3] >> 6 == 3 else 2
    samples = 1152 if layer == 2 or mpeg1 else 576
    length = samples // 8 * bitrate // rate + padding
    return length, samples, rate, 1 if header[3] >> 6 == 3 else 2


def _id3(data: bytes) -> tuple[int, str | None]:
    """Length of a leading ID3v2 tag (0 if none) and the emulator's text in it, if any."""
    if data[:3] != b"ID3" or len(data) < 10:
        return 0, None
    major, flags = data[3], data[5]
    size = sum((byte & 0x7F) << shift for byte, shift in zip(data[6:10], (21, 14, 7, 0), strict=True))
    end = 10 + size + (10 if flags & 0x10 else 0)
    text = None
    position = 10
    while position + 10 <= min(end, len(data)) and data[position : position + 4].strip(b"\x00"):
        raw = data[position + 4 : position + 8]
        length = (
            sum((b & 0x7F) << s for b, s in zip(raw, (21, 14, 7, 0), strict=True))
            if major == 4
            else struct.unpack(">I", raw)[0]
        )
        body = data[position + 10 : position + 10 + length]
        if data[position : position + 4] == b"TXXX" and body[:1] == b"\x03":
            description, _, value = body[1:].partition(b"\x00")
            if description.decode("utf-8", "replace") == MARKER:
                text = value.decode("utf-8", "replace")
        position += 10 + length
    return end, text


def _probe_mp3(data: bytes) -> AudioInfo | None:
    position, text = _id3(data)
    frames = samples = 0
    rate = channels = 0
    while True:
        frame = _mp3_frame(data[position : position + 4])
        if frame is None or frame[0] <= 4 or position + frame[0] > len(data):
            break
        length, frame_samples, rate, channels = frame
        frames += 1
        samples += frame_samples
        position += length
    if frames < 2 and not (frames == 1 and position == len(data)):
        return None
    return AudioInfo("mp3", rate, channels, samples * 1000 // rate, text)
