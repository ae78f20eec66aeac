"""A small but real video: H.264 in an MP4 file, written without an encoder or ffmpeg.

The stream is H.264 Constrained Baseline (CAVLC, one slice per picture, no deblocking): the
first picture is an IDR picture made only of ``I_PCM`` macroblocks, which carry raw 8-bit
YUV 4:2:0 samples, so a still picture is shown exactly without any entropy coding; every later
picture is a P picture whose macroblocks are all skipped, i.e. a copy of the previous one. The
result is a decodable, still video of exactly ``width*height`` (multiples of 16), ``fps``
frames a second for ``seconds`` — any player or ``ffprobe`` reads it — at about 1.4 MB for a
1280*720 key frame and 3.1 MB for 1920*1088, whatever its length: a skipped picture costs a few
bytes and an ``stsz`` entry, so a 15-second 1080P clip is written in about 0.2 s. A visible size
that is not whole macroblocks (``1920*1080``) is coded at the next multiple of 16 and cropped
(``frame_cropping`` in the SPS; ``display`` of `write_mp4`). The level is the lowest that holds
the picture (3.1 up to 1280*720, 4.0 up to 1920*1088, then 5.0/5.1). The MP4 is ``ftyp`` +
``moov`` (``mvhd`` with the duration, one ``avc1`` video track whose ``tkhd`` has the visible
size) + ``mdat``, with the index first ("fast start").
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator

_EMULATION = re.compile(rb"\x00\x00(?=[\x00-\x03])")
_I_PCM = 25
"""``mb_type`` of an I_PCM macroblock in an I slice."""
_LOG2_MAX_FRAME_NUM = 8
_PROFILE, _CONSTRAINTS = 66, 0xC0
"""Baseline with constraint_set0/1 (Constrained Baseline)."""
_LEVELS = ((3600, 31), (8192, 40), (22080, 50), (36864, 51))
"""(MaxFS in macroblocks, level_idc): the lowest level whose frame size holds the picture."""


def level_for(width: int, height: int) -> int:
    """``level_idc`` of the lowest level whose maximum frame size holds a ``width*height`` picture."""
    macroblocks = -(-width // 16) * -(-height // 16)
    return next((level for limit, level in _LEVELS if macroblocks <= limit), _LEVELS[-1][1])


class _Bits:
    """An MSB-first bit writer with the Exp-Golomb codes of H.264."""

    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._count = 0

    def u(self, value: int, bits: int) -> None:
        self._acc = (self._acc << bits) | (value & ((1 << bits) - 1))
        self._count += bits
        while self._count >= 8:
            self._count -= 8
            self.out.append((self._acc >> self._count) & 0xFF)
        self._acc &= (1 << self._count) - 1

    def ue(self, value: int) -> None:
        code = value + 1
        length = code.bit_length()
        self.u(0, length - 1)
        self.u(code, length)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align(self) -> None:
        if self._count:
            self.u(0, 8 - self._count)

    def raw(self, data: bytes) -> None:
        """Append whole bytes (the writer must be byte-aligned)."""
        assert self._count == 0
        self.out += data

    def trailing(self) -> bytes:
        """Close the RBSP with its stop bit and alignment, and return it."""
        self.u(1, 1)
        self.align()
        return bytes(self.out)


def _nal(header: int, rbsp: bytes) -> bytes:
    """A NAL unit: its header byte, then the RBSP with emulation-prevention bytes inserted."""
    return bytes([header]) + _EMULATION.sub(b"\x00\x00\x03", rbsp)


def sequence_parameter_set(width: int, height: int, crop: tuple[int, int] = (0, 0)) -> bytes:
    """The SPS of a ``width*height`` coded picture (whole macroblocks) showing all but ``crop``
    (right, bottom; even numbers of pixels)."""
    bits = _Bits()
    bits.u(_PROFILE, 8)
    bits.u(_CONSTRAINTS, 8)
    bits.u(level_for(width, height), 8)
    bits.ue(0)  # seq_parameter_set_id
    bits.ue(_LOG2_MAX_FRAME_NUM - 4)
    bits.ue(2)  # pic_order_cnt_type: output order = decoding order
    bits.ue(1)  # max_num_ref_frames
    bits.u(0, 1)  # gaps_in_frame_num_value_allowed_flag
    bits.ue(width // 16 - 1)
    bits.ue(height // 16 - 1)
    bits.u(1, 1)  # frame_mbs_only_flag
    bits.u(1, 1)  # direct_8x8_inference_flag
    right, bottom = crop
    bits.u(1 if right or bottom else 0, 1)  # frame_cropping_flag
    if right or bottom:  # in units of 2 pixels (4:2:0, frames only)
        for offset in (0, right // 2, 0, bottom // 2):  # left, right, top, bottom
            bits.ue(offset)
    bits.u(0, 1)  # vui_parameters_present_flag
    return _nal(0x67, bits.trailing())


def picture_parameter_set() -> bytes:
    bits = _Bits()
    bits.ue(0)  # pic_parameter_set_id
    bits.ue(0)  # seq_parameter_set_id
    bits.u(0, 1)  # entropy_coding_mode_flag: CAVLC
    bits.u(0, 1)  # bottom_field_pic_order_in_frame_present_flag
    bits.ue(0)  # num_slice_groups_minus1
    bits.ue(0)  # num_ref_idx_l0_default_active_minus1
    bits.ue(0)  # num_ref_idx_l1_default_active_minus1
    bits.u(0, 1)  # weighted_pred_flag
    bits.u(0, 2)  # weighted_bipred_idc
    bits.se(0)  # pic_init_qp_minus26
    bits.se(0)  # pic_init_qs_minus26
    bits.se(0)  # chroma_qp_index_offset
    bits.u(1, 1)  # deblocking_filter_control_present_flag
    bits.u(0, 1)  # constrained_intra_pred_flag
    bits.u(0, 1)  # redundant_pic_cnt_present_flag
    return _nal(0x68, bits.trailing())


def idr_slice(macroblocks: Iterable[bytes]) -> bytes:
    """An IDR picture of I_PCM macroblocks, each 384 bytes: 16*16 Y, then 8*8 Cb and 8*8 Cr."""
    bits = _Bits()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(7)  # slice_type: I (all slices of the picture)
    bits.ue(0)  # pic_parameter_set_id
    bits.u(0, _LOG2_MAX_FRAME_NUM)  # frame_num
    bits.ue(0)  # idr_pic_id
    bits.u(0, 1)  # no_output_of_prior_pics_flag
    bits.u(0, 1)  # long_term_reference_flag
    bits.se(0)  # slice_qp_delta
    bits.ue(1)  # disable_deblocking_filter_idc: off
    for samples in macroblocks:
        bits.ue(_I_PCM)
        bits.align()  # pcm_alignment_zero_bits
        bits.raw(samples)
    return _nal(0x65, bits.trailing())


def skipped_slice(frame_num: int, macroblock_count: int) -> bytes:
    """A P picture (kept as reference) whose macroblocks are all skipped: the previous picture again."""
    bits = _Bits()
    bits.ue(0)  # first_mb_in_slice
    bits.ue(5)  # slice_type: P (all slices of the picture)
    bits.ue(0)  # pic_parameter_set_id
    bits.u(frame_num % (1 << _LOG2_MAX_FRAME_NUM), _LOG2_MAX_FRAME_NUM)
    bits.u(0, 1)  # num_ref_idx_active_override_flag
    bits.u(0, 1)  # ref_pic_list_modification_flag_l0
    bits.u(0, 1)  # adaptive_ref_pic_marking_mode_flag
    bits.se(0)  # slice_qp_delta
    bits.ue(1)  # disable_deblocking_filter_idc
    bits.ue(macroblock_count)  # mb_skip_run
    return _nal(0x41, bits.trailing())


def pcm_macroblocks(y: bytes, cb: bytes, cr: bytes, width: int, height: int) -> Iterator[bytes]:
    """The I_PCM sample blocks of a YUV 4:2:0 picture (planes row by row), macroblocks in raster order."""
    half = width // 2
    for top in range(0, height, 16):
        for left in range(0, width, 16):
            luma = b"".join(y[row * width + left : row * width + left + 16] for row in range(top, top + 16))
            rows = range(top // 2, top // 2 + 8)
            blue = b"".join(cb[row * half + left // 2 : row * half + left // 2 + 8] for row in rows)
            red = b"".join(cr[row * half + left // 2 : row * half + left // 2 + 8] for row in rows)
            yield luma + blue + red


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _moov(
    width: int, height: int, sps: bytes, pps: bytes, sizes: list[int], fps: int, mdat_offset: int, level: int
) -> bytes:
    movie_scale, track_scale, delta = 1000, fps * 512, 512
    frames = len(sizes)
    movie_duration = frames * movie_scale // fps
    mvhd = _full_box(
        b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, movie_scale, movie_duration),
        struct.pack(">IH", 0x10000, 0x100), bytes(10), _MATRIX, bytes(24), struct.pack(">I", 2),
    )  # fmt: skip
    tkhd = _full_box(
        b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, movie_duration), bytes(8),
        struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX, struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, track_scale, frames * delta, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I", 0), b"vide", bytes(12), b"VideoHandler\x00")
    avcc = _box(
        b"avcC", bytes([1, _PROFILE, _CONSTRAINTS, level, 0xFF, 0xE1]), struct.pack(">H", len(sps)), sps,
        bytes([1]), struct.pack(">H", len(pps)), pps,
    )  # fmt: skip
    avc1 = _box(
        b"avc1", bytes(6), struct.pack(">H", 1), bytes(16), struct.pack(">HH", width, height),
        struct.pack(">IIIH", 0x480000, 0x480000, 0, 1), bytes(32), struct.pack(">Hh", 0x18, -1), avcc,
    )  # fmt: skip
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        _full_box(b"stts", 0, 0, struct.pack(">III", 1, frames, delta)),
        _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1)),
        _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, frames, 1)),
        _full_box(b"stsz", 0, 0, struct.pack(f">II{frames}I", 0, frames, *sizes)),
        _full_box(b"stco", 0, 0, struct.pack(">II", 1, mdat_offset)),
    )
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    minf = _box(b"minf", _full_box(b"vmhd", 0, 1, bytes(8)), dinf, stbl)
    return _box(b"moov", mvhd, _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, minf)))


def write_mp4(
    width: int,
    height: int,
    macroblocks: Iterable[bytes],
    seconds: int = 5,
    fps: int = 30,
    *,
    display: tuple[int, int] | None = None,
) -> bytes:
    """An MP4 showing one picture (its I_PCM macroblocks in raster order) for ``seconds``.

    ``width*height`` is the coded size (whole macroblocks); ``display``, the visible size when
    smaller (even sides, less than a macroblock smaller), is what the file states and shows."""
    if width % 16 or height % 16:
        raise ValueError("width and height must be multiples of 16")
    shown_width, shown_height = display or (width, height)
    crop = (width - shown_width, height - shown_height)
    if not all(0 <= cut < 16 and cut % 2 == 0 for cut in crop):
        raise ValueError("the display size must be even and within the last macroblock of the coded size")
    sps, pps = sequence_parameter_set(width, height, crop), picture_parameter_set()
    count = (width // 16) * (height // 16)
    pictures = [idr_slice(macroblocks)] + [skipped_slice(n, count) for n in range(1, seconds * fps)]
    samples = [struct.pack(">I", len(nal)) + nal for nal in pictures]
    sizes = [len(sample) for sample in samples]
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    level = level_for(width, height)
    placeholder = _moov(shown_width, shown_height, sps, pps, sizes, fps, 0, level)
    offset = len(ftyp) + len(placeholder) + 8
    moov = _moov(shown_width, shown_height, sps, pps, sizes, fps, offset, level)
    mdat = _box(b"mdat", *samples)
    return ftyp + moov + mdat
