"""webapp.webrtc_codecs: the live page's answer lists H.264 before VP8 and asks for a start bit rate; both can be changed."""

import asyncio
import re

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from webapp.webrtc_codecs import (DEFAULT_START_KBPS, DEFAULT_VIDEO_CODECS, ENV_VAR, START_KBPS_ENV_VAR, order_codecs,
                                  prefer_video_codecs, start_kbps, video_codec_order)


def _codec(mime: str, pt: int, apt: int | None = None) -> RTCRtpCodecParameters:
    return RTCRtpCodecParameters(mimeType=mime, clockRate=90000, payloadType=pt,
                                 parameters={"apt": apt} if apt is not None else {})


def test_order_codecs_moves_preferred_first_with_their_rtx_and_drops_nothing():
    vp8, vp8_rtx = _codec("video/VP8", 96), _codec("video/rtx", 97, apt=96)
    h264a, h264a_rtx = _codec("video/H264", 102), _codec("video/rtx", 103, apt=102)
    h264b, h264b_rtx = _codec("video/H264", 108), _codec("video/rtx", 109, apt=108)
    other = _codec("video/AV1", 45)
    negotiated = [vp8, vp8_rtx, other, h264a, h264a_rtx, h264b, h264b_rtx]
    out = order_codecs(negotiated, ("H264", "VP8"))
    assert out == [h264a, h264a_rtx, h264b, h264b_rtx, vp8, vp8_rtx, other]
    assert order_codecs(negotiated, ("VP8", "H264")) == [vp8, vp8_rtx, h264a, h264a_rtx, h264b, h264b_rtx, other]
    assert order_codecs([vp8, vp8_rtx], ("H264", "VP8")) == [vp8, vp8_rtx]       # no H.264 offered: VP8 stays


def test_codec_order_from_environment():
    assert video_codec_order({}) == DEFAULT_VIDEO_CODECS == ("H264", "VP8")
    assert video_codec_order({ENV_VAR: " vp8, video/h264 "}) == ("VP8", "H264")
    assert video_codec_order({ENV_VAR: " , "}) == DEFAULT_VIDEO_CODECS


async def _answer_video_sdp() -> str:
    """The video section of an aiortc answer to an aiortc offer (which lists VP8 first, then H.264)."""
    browser, server = RTCPeerConnection(), RTCPeerConnection()
    try:
        browser.addTransceiver("video", direction="sendrecv")
        await server.setRemoteDescription(await browser.createOffer())
        sdp = (await server.createAnswer()).sdp
    finally:
        await browser.close()
        await server.close()
    return sdp[sdp.index("m=video"):]


async def _answer_video_codecs() -> list[str]:
    """Video codec names of the answer, in answer order."""
    video = await _answer_video_sdp()
    names = dict(re.findall(r"a=rtpmap:(\d+) ([A-Za-z0-9]+)/", video))
    payloads = video.splitlines()[0].split()[3:]
    return [names[p] for p in payloads if names.get(p) != "rtx"]


@pytest.mark.parametrize("order, first", [(("H264", "VP8"), "H264"), (("VP8", "H264"), "VP8")])
def test_aiortc_answer_follows_the_preference(order, first):
    prefer_video_codecs(order)
    try:
        codecs = asyncio.run(_answer_video_codecs())
    finally:
        prefer_video_codecs()
    assert codecs[0] == first
    assert sorted(set(codecs)) == ["H264", "VP8"]                 # every offered codec is still answered


async def _answer_video_fmtp() -> dict[str, str]:
    """Video codec name -> fmtp parameters of the answer (rtx left out)."""
    video = await _answer_video_sdp()
    names = dict(re.findall(r"a=rtpmap:(\d+) ([A-Za-z0-9]+)/", video))
    fmtp = dict(re.findall(r"a=fmtp:(\d+) (.*)", video))
    return {names[pt]: fmtp.get(pt, "") for pt in names if names[pt] != "rtx"}


def test_answer_asks_the_browser_to_start_at_the_configured_bit_rate():
    prefer_video_codecs(start_kbps_value=1200)
    try:
        asked = asyncio.run(_answer_video_fmtp())
    finally:
        prefer_video_codecs()
    assert set(asked) == {"H264", "VP8"}
    assert all("x-google-start-bitrate=1200" in params for params in asked.values()), asked
    assert "packetization-mode=1" in asked["H264"]                 # the browser's own parameters stay
    prefer_video_codecs(start_kbps_value=0)
    try:
        untouched = asyncio.run(_answer_video_fmtp())
    finally:
        prefer_video_codecs()
    assert not any("x-google" in params for params in untouched.values()), untouched


def test_start_bit_rate_from_environment():
    assert start_kbps({}) == DEFAULT_START_KBPS
    assert start_kbps({START_KBPS_ENV_VAR: " 800 "}) == 800
    assert start_kbps({START_KBPS_ENV_VAR: "0"}) == 0
    for bad in ("fast", "-5", "1.5"):
        with pytest.raises(ValueError, match=START_KBPS_ENV_VAR):
            start_kbps({START_KBPS_ENV_VAR: bad})
