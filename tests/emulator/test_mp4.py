"""The MP4/H.264 writer: bit-exact syntax pieces, a well-formed box tree, and (when ffprobe is
installed) a stream that real tools decode."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bailian_mcp.emulator.images import render_yuv420
from bailian_mcp.emulator.mp4 import _Bits, _nal, pcm_macroblocks, write_mp4
from tests.support.media import mp4_boxes, mp4_facts


def test_exp_golomb_codes() -> None:
    bits = _Bits()
    for value in (0, 1, 2, 3, 25):
        bits.ue(value)
    bits.se(-1)
    expected = "1" + "010" + "011" + "00100" + "000011010" + "011" + "1"  # ... then the stop bit
    expected += "0" * (-len(expected) % 8)
    assert bits.trailing() == int(expected, 2).to_bytes(len(expected) // 8, "big")


def test_emulation_prevention_bytes_are_inserted() -> None:
    assert (
        _nal(0x65, b"\x00\x00\x01\x00\x00\x00\x00\x00\x04") == b"\x65\x00\x00\x03\x01\x00\x00\x03\x00\x00\x03\x00\x04"
    )


def test_macroblocks_are_raster_ordered_384_byte_blocks() -> None:
    width, height = 32, 16
    y, chroma = bytes(i % 256 for i in range(width * height)), bytes(range(128))
    blocks = list(pcm_macroblocks(y, chroma, chroma, width, height))
    assert len(blocks) == 2 and all(len(block) == 384 for block in blocks)
    assert blocks[1][:16] == y[16:32] and blocks[1][16:32] == y[48:64]  # second macroblock, rows 0 and 1
    assert blocks[1][256:264] == chroma[8:16] and blocks[1][-8:] == chroma[120:128]


def test_box_tree_states_duration_size_and_frames() -> None:
    planes = render_yuv420("boxes", 1, 64, 48)
    data = write_mp4(64, 48, pcm_macroblocks(*planes, 64, 48), seconds=5, fps=30)
    assert mp4_facts(data) == {"seconds": 5.0, "size": (64, 48), "frames": 150}
    found = mp4_boxes(data)
    assert found[b"ftyp"][:4] == b"isom" and found[b"hdlr"][8:12] == b"vide"
    avcc = found[b"stsd"][found[b"stsd"].index(b"avcC") + 4 :]
    assert avcc[:4] == bytes([1, 66, 0xC0, 31])  # version 1, Constrained Baseline, level 3.1
    assert list(mp4_boxes(data)) == [b"ftyp", b"moov", b"mvhd", b"trak", b"tkhd", b"mdia", b"mdhd", b"hdlr", b"minf",
                                 b"vmhd", b"dinf", b"dref", b"stbl", b"stsd", b"stts", b"stss", b"stsc", b"stsz",
                                 b"stco", b"mdat"]  # fmt: skip


def test_sizes_must_be_whole_macroblocks() -> None:
    with pytest.raises(ValueError):
        write_mp4(100, 48, iter(()))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_reads_and_decodes_it(tmp_path: Path) -> None:
    planes = render_yuv420("ffprobe", 2, 832, 480)
    video = tmp_path / "video.mp4"
    video.write_bytes(write_mp4(832, 480, pcm_macroblocks(*planes, 832, 480)))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", str(video)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    facts = json.loads(probe.stdout)
    (stream,) = facts["streams"]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 832, 480)
    assert stream["nb_read_frames"] == "150" and stream["r_frame_rate"] == "30/1"
    assert float(facts["format"]["duration"]) == 5.0
