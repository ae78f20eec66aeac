"""Speech audio for the HTTP speech-synthesis services (`speech_http`, `speech_qwen`): whole files and their
streamed pieces, billed characters, sentences.

The audio is sized like Sambert's (see `tts`): 0.2 s per character divided by ``rate``, whitespace
silent, every other character a tone whose pitch follows ``pitch`` and loudness ``volume``. Formats:

* ``pcm`` — PCM16 mono at ``sample_rate``;
* ``wav`` — the same in a WAV whose header carries the text (so the emulator's transcription and
  qwen3-asr-flash give it back, see `audio`);
* ``mp3`` — silent MPEG audio frames after an ID3 tag with the text (`audio.SilentMp3`);
* ``opus`` — an Ogg Opus file (``OpusHead``, ``OpusTags`` with the text, then 20 ms silent CELT packets
  ``F8 FF FE``, 50 per page) of the same duration; its ``input_sample_rate`` is the requested rate.

A stream sends the file's bytes in order, cut at the sentences' sample boundaries (header with the
first piece) and into pieces of at most one second of audio, so the pieces joined are the file.
``characters`` counts as the service bills: a CJK ideograph (Chinese, Japanese kanji, Korean hanja)
counts 2, every other character 1, SSML tags not at all.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .audio import MARKER, SilentMp3, id3_tag, tone, wav_header

SECONDS_PER_CHARACTER = 0.2
_SENTENCE = re.compile(r"[^。！？；.!?;\n]*[。！？；.!?;\n]+|[^。！？；.!?;\n]+")
_WORD = re.compile(r"[\u3400-\u9fff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+")
_IDEOGRAPH = re.compile(
    r"[\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]"
)
SSML_TAG = re.compile(r"<[^>]*>")


def billed_characters(text: str, *, ssml: bool = False) -> int:
    """The characters the service bills: ideographs 2, everything else 1; SSML tags are not counted."""
    if ssml:
        text = SSML_TAG.sub("", text)
    return len(text) + len(_IDEOGRAPH.findall(text))


@dataclass(frozen=True)
class Speech:
    """What to synthesize and how."""

    text: str
    format: str
    sample_rate: int
    volume: int = 50
    rate: float = 1.0
    pitch: float = 1.0

    @property
    def samples_per_character(self) -> int:
        return round(self.sample_rate * SECONDS_PER_CHARACTER / self.rate)

    @property
    def samples(self) -> int:
        return len(self.text) * self.samples_per_character

    @property
    def duration_ms(self) -> int:
        return self.samples * 1000 // self.sample_rate

    def ms(self, samples: int) -> int:
        return samples * 1000 // self.sample_rate

    def pcm(self) -> bytes:
        step, rate, volume = self.samples_per_character, self.sample_rate, self.volume
        return b"".join(
            bytes(2 * step) if char.isspace() else tone((180 + ord(char) % 16 * 30) * self.pitch, step, rate, volume)
            for char in self.text
        )

    def file(self) -> bytes:
        """The whole audio file."""
        if self.format == "pcm":
            return self.pcm()
        if self.format == "wav":
            return wav_header(self.sample_rate, self.samples * 2, self.text) + self.pcm()
        if self.format == "mp3":
            mp3 = SilentMp3.for_rate(self.sample_rate)
            return id3_tag(self.text) + mp3.frame * mp3.frames_for(self.samples)
        return ogg_opus(self.text, self.sample_rate, self.duration_ms)

    def header_size(self) -> int:
        """Bytes before the audio proper (WAV header, ID3 tag, the two Ogg header pages)."""
        if self.format == "wav":
            return len(wav_header(self.sample_rate, self.samples * 2, self.text))
        if self.format == "mp3":
            return len(id3_tag(self.text))
        if self.format == "opus":
            return len(_ogg_page(_opus_head(self.sample_rate), 0, 0, 2)) + len(
                _ogg_page(_opus_tags(self.text), 0, 1, 0)
            )
        return 0

    def sentences(self) -> list[tuple[str, int, int]]:
        """``(text, first sample, end sample)`` of each sentence, covering the whole text."""
        found = []
        step = self.samples_per_character
        for match in _SENTENCE.finditer(self.text):
            found.append((match.group(0), match.start() * step, match.end() * step))
        return found

    def words(self, sentence: str, begin: int) -> list[dict[str, object]]:
        """Word timestamps of a sentence starting ``begin`` samples in (CosyVoice's ``words`` items)."""
        step = self.samples_per_character
        return [
            {
                "text": match.group(0),
                "begin_index": match.start(),
                "end_index": match.end(),
                "begin_time": self.ms(begin + match.start() * step),
                "end_time": self.ms(begin + match.end() * step),
            }
            for match in _WORD.finditer(sentence)
        ]


def pieces(speech: Speech, data: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """For each sentence (by index), the pieces of ``data`` (the file of ``speech``) that carry it."""
    header = speech.header_size()
    body = len(data) - header
    total = max(1, speech.samples)
    second = max(1, body * speech.sample_rate // total)
    done = 0
    sentences = speech.sentences()
    for index, (_, _, end) in enumerate(sentences):
        stop = len(data) if index == len(sentences) - 1 else header + body * end // total
        part = data[done:stop]
        done = stop
        yield index, [part[start : start + second] for start in range(0, len(part), second)] or [b""]


# --- Ogg Opus ------------------------------------------------------------------------------------

_SILENT_OPUS = b"\xf8\xff\xfe"  # TOC: CELT fullband 20 ms, mono, one frame; a frame that decodes to silence
_PRE_SKIP = 312
_PACKETS_PER_PAGE = 50
_SERIAL = 0x6261696C


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[(crc >> 24) ^ byte]
    return crc


def _ogg_page(packets: bytes | list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    """One Ogg page; ``flags`` 2 = first page, 4 = last; each packet shorter than 255 bytes unless alone."""
    items = [packets] if isinstance(packets, bytes) else packets
    lacing = b""
    for packet in items:
        whole, rest = divmod(len(packet), 255)
        lacing += b"\xff" * whole + bytes([rest])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, _SERIAL, sequence, 0, len(lacing))
    page = header + lacing + b"".join(items)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def _opus_head(sample_rate: int) -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _PRE_SKIP, sample_rate, 0, 0)


def _opus_tags(text: str) -> bytes:
    vendor = MARKER.encode()
    comment = ("DESCRIPTION=" + text).encode()
    return b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<II", 1, len(comment)) + comment


def ogg_opus(text: str, sample_rate: int, duration_ms: int) -> bytes:
    """An Ogg Opus file of silence lasting ``duration_ms`` (rounded up to 20 ms packets)."""
    packets = max(1, -(-duration_ms // 20))
    pages = [_ogg_page(_opus_head(sample_rate), 0, 0, 2), _ogg_page(_opus_tags(text), 0, 1, 0)]
    sent = 0
    while sent < packets:
        count = min(_PACKETS_PER_PAGE, packets - sent)
        sent += count
        flags = 4 if sent == packets else 0
        pages.append(_ogg_page([_SILENT_OPUS] * count, _PRE_SKIP + sent * 960, len(pages), flags))
    return b"".join(pages)
