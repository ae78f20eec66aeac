"""Long texts spoken in pieces: cut at sentence ends, each piece kept once paid for, joined into one WAV."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from bailian_mcp.capabilities import speech_pieces
from bailian_mcp.capabilities.base import BuildContext, ExchangeContext, parse_params
from bailian_mcp.capabilities.sentences import split_text
from bailian_mcp.capabilities.speech_pieces import piece_key
from bailian_mcp.capabilities.text_to_speech import TextToSpeechParams, build
from bailian_mcp.catalog import MULTIMODAL_GENERATION
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient
from tests.support.media import wav_bytes

BASE = "https://dashscope.test/api/v1"
SENTENCE = "我家的后面有一个很大的花园，花园里有很多花。"  # 22 characters
LONG = "".join(f"第{n:02d}句：{SENTENCE}" for n in range(50))  # 50 sentences of 27: 1350 characters


# ---------------------------------------------------------------------- cutting


def test_pieces_end_at_sentence_ends_and_give_back_the_text() -> None:
    pieces = split_text(LONG, 600)
    assert [len(p) for p in pieces] == [594, 594, 162]
    assert all(p.endswith("。") for p in pieces) and "".join(pieces) == LONG


def test_a_sentence_over_the_limit_is_cut_at_its_commas_then_its_spaces() -> None:
    assert split_text("一二三四五，六七八九十，甲乙丙。", 6) == ["一二三四五，", "六七八九十，", "甲乙丙。"]
    assert split_text("Hello there my friend.", 9) == ["Hello ", "there my ", "friend."]
    assert split_text("3.5 is more than 3. Yes", 10) == ["3.5 is ", "more than ", "3. Yes"]


@given(st.text(alphabet=st.sampled_from("ab 你好，。!?.\n"), max_size=300), st.integers(1, 50))
def test_every_piece_fits_and_nothing_but_whitespace_is_lost(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit and p.strip() for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


# ---------------------------------------------------------------------- building


def request_for(text: str, **values: Any) -> Any:
    params = parse_params(TextToSpeechParams, {"text": text, "model": "qwen3-tts-flash", **values})
    return build(params, BuildContext(region="cn-beijing"))


def test_over_the_limit_qwen3_tts_is_spoken_in_pieces_with_a_warning() -> None:
    request = request_for(LONG)
    (warning,) = request.warnings
    assert "1350 characters" in warning and "600" in warning and "3 pieces" in warning
    assert request_for(SENTENCE).warnings == ()


def test_sambert_cannot_split_and_refuses_a_text_over_its_limit() -> None:
    from bailian_mcp.errors import InputError

    with pytest.raises(InputError) as caught:
        build(
            parse_params(TextToSpeechParams, {"text": "字" * 10_001, "model": "sambert-zhichu-v1"}),
            BuildContext(region="cn-beijing"),
        )
    assert caught.value.param == "text"


# ---------------------------------------------------------------------- speaking, resuming


class Service:
    """A multimodal TTS endpoint that answers each piece with a WAV URL, refusing the call numbered `refuse`."""

    def __init__(self, mock: respx.MockRouter, refuse: int | None = None) -> None:
        self.texts: list[str] = []
        self.refuse = refuse
        mock.post(f"{BASE}/{MULTIMODAL_GENERATION.path}").mock(side_effect=self.answer)
        mock.get(url__startswith="https://oss.test/").mock(side_effect=self.audio)

    def answer(self, request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["input"]["text"]
        self.texts.append(text)
        if len(self.texts) == self.refuse:
            return httpx.Response(400, json={"code": "InvalidParameter", "message": "refused", "request_id": "r"})
        url = f"https://oss.test/{len(self.texts)}.wav?Expires=1900000000"
        audio = {"url": url, "id": "a", "expires_at": 1900000000, "data": ""}
        usage = {"characters": len(text) * 2}
        return httpx.Response(200, json={"request_id": "r", "output": {"audio": audio}, "usage": usage})

    def audio(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=wav_bytes(0.25, 24000), headers={"content-type": "audio/wav"})


async def speak(tmp_path: Path, request: Any) -> Any:
    async def progress(message: str) -> None:
        return None

    async with DashScopeClient(api_key="sk-test", base_url=BASE) as client:
        context = ExchangeContext(
            client=client,
            progress=progress,
            output_path=lambda i, s: tmp_path / f"out-{i}{s}",
            piece_path=lambda key, suffix: tmp_path / ".pieces" / f"{key}{suffix}",
        )
        return await request.exchange(context, request)


async def test_pieces_are_spoken_in_order_and_joined_into_one_wav(tmp_path: Path) -> None:
    request = request_for(LONG)
    with respx.mock(assert_all_called=False) as mock:
        service = Service(mock)
        outcome = await speak(tmp_path, request)
    assert service.texts == split_text(LONG, 600)
    (audio,) = outcome.outputs
    with wave.open(audio.path, "rb") as joined:
        assert joined.getframerate() == 24000 and joined.getnframes() == 3 * 6000
    assert audio.duration_seconds == pytest.approx(0.75) and audio.bytes == Path(audio.path).stat().st_size
    assert outcome.usage == {"characters": 2 * len(LONG)}
    assert not list((tmp_path / ".pieces").iterdir()), "the kept pieces are removed once joined"


async def test_a_run_stopped_part_way_pays_again_only_for_the_pieces_it_lacks(tmp_path: Path) -> None:
    request = request_for(LONG)
    pieces = split_text(LONG, 600)
    with respx.mock(assert_all_called=False) as mock:
        Service(mock, refuse=2)
        with pytest.raises(errors.DashScopeError):
            await speak(tmp_path, request)
    assert (tmp_path / ".pieces" / f"{piece_key(request, pieces[0])}.wav").is_file()

    with respx.mock(assert_all_called=False) as mock:
        service = Service(mock)
        outcome = await speak(tmp_path, request_for(LONG))
    assert service.texts == pieces[1:], "the first piece, paid for before, is not asked for again"
    assert outcome.usage == {"characters": 2 * len("".join(pieces[1:]))}
    with wave.open(outcome.outputs[0].path, "rb") as joined:
        assert joined.getnframes() == 3 * 6000


def test_a_piece_is_kept_under_all_that_was_asked_for_it() -> None:
    first, other_voice = request_for(LONG), request_for(LONG, voice="Ethan")
    assert piece_key(first, SENTENCE) == piece_key(request_for(LONG), SENTENCE)
    assert piece_key(first, SENTENCE) != piece_key(other_voice, SENTENCE)
    assert piece_key(first, SENTENCE) != piece_key(first, SENTENCE + "。")


async def test_a_piece_another_job_removes_meanwhile_is_spoken_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = request_for(LONG)
    pieces = split_text(LONG, 600)
    kept = tmp_path / ".pieces" / f"{piece_key(request, pieces[0])}.wav"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(wav_bytes(0.25, 24000))  # left by another job, which removes it once it has joined its own
    claim = speech_pieces._claim
    taken: list[Path] = []

    def removed_first(piece: Path, link: Path) -> bool:
        if not taken:
            taken.append(piece)
            piece.unlink()
        return claim(piece, link)

    monkeypatch.setattr(speech_pieces, "_claim", removed_first)
    with respx.mock(assert_all_called=False) as mock:
        service = Service(mock)
        outcome = await speak(tmp_path, request)
    assert taken == [kept] and service.texts == pieces, "the vanished piece was spoken again, the rest as usual"
    with wave.open(outcome.outputs[0].path, "rb") as joined:
        assert joined.getnframes() == 3 * 6000
    assert not list(tmp_path.glob(".*.piece*")), "this job's own links are gone"
