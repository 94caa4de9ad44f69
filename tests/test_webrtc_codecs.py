"""webapp.webrtc_codecs: the live page's answer lists H.264 before VP8, and the order can be changed."""

import asyncio
import re

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from webapp.webrtc_codecs import DEFAULT_VIDEO_CODECS, ENV_VAR, order_codecs, prefer_video_codecs, video_codec_order


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


async def _answer_video_codecs() -> list[str]:
    """Video codec names of an aiortc answer to an aiortc offer (VP8 first, then H.264), in answer order."""
    browser, server = RTCPeerConnection(), RTCPeerConnection()
    try:
        browser.addTransceiver("video", direction="sendrecv")
        await server.setRemoteDescription(await browser.createOffer())
        sdp = (await server.createAnswer()).sdp
    finally:
        await browser.close()
        await server.close()
    video = sdp[sdp.index("m=video"):]
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
