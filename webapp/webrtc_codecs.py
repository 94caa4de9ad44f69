"""Which video codec the browser sends to the live page and at what bit rate it starts: H.264 first (VP8
when the browser has no H.264), asked to start near the bit rate it would reach anyway.

    from webapp.webrtc_codecs import prefer_video_codecs
    prefer_video_codecs()          # before webrtc_streamer(...): every later answer lists H.264 first

The browser (the offerer) encodes with the first codec of the server's answer. aiortc, the WebRTC stack
behind streamlit-webrtc, answers in the browser's order, which puts VP8 first; Chrome's VP8 encoder
denoises camera video, and the pulse is a colour change of a fraction of a grey level that a denoiser
smooths away. On the live page with Chromium's fake camera playing the sample clip
(``python -m benchmarks.live_browser``), H.264 gave heart rates where VP8 gave almost none, for about 10 % of
a core more on the server (docs/DESIGN.md, "App"). ``KDPHYS_LIVE_VIDEO_CODECS`` (e.g.
"VP8,H264") changes the order.

aiortc negotiates in ``setRemoteDescription`` and keeps the result on each transceiver (``_codecs``,
private: the pinned aiortc version is tested by tests/test_webrtc_codecs.py); the patch reorders that
list in ``createAnswer``, before the answer is written, and keeps every codec the browser offered.

Start bit rate: Chrome starts a video stream at a few hundred kbit/s and ramps up over tens of seconds;
at the start the compression wipes out the pulse, so the first heart rate waited for the ramp. The answer
carries ``x-google-start-bitrate`` (kbit/s, Chrome's own fmtp parameter; other browsers ignore it) on
every video codec: ``KDPHYS_LIVE_START_KBPS`` (0 = leave the browser's default), default
DEFAULT_START_KBPS (``python -m benchmarks.live_browser --start-kbps``, docs/DESIGN.md "App").
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

#: Default preference, first = sent by the browser when it offers it. MIME subtypes, case-insensitive.
DEFAULT_VIDEO_CODECS: tuple[str, ...] = ("H264", "VP8")
ENV_VAR = "KDPHYS_LIVE_VIDEO_CODECS"
#: Bit rate the browser is asked to start its video at, kbit/s (0 = its own default).
DEFAULT_START_KBPS = 1500
START_KBPS_ENV_VAR = "KDPHYS_LIVE_START_KBPS"


def video_codec_order(env: dict[str, str] | None = None) -> tuple[str, ...]:
    """The preference order: ``KDPHYS_LIVE_VIDEO_CODECS`` ("VP8,H264") when set and not empty, else
    DEFAULT_VIDEO_CODECS. Upper-case subtypes without the "video/" prefix."""
    raw = (os.environ if env is None else env).get(ENV_VAR, "")
    names = tuple(n.strip().upper().removeprefix("VIDEO/") for n in raw.split(",") if n.strip())
    return names or DEFAULT_VIDEO_CODECS


def start_kbps(env: dict[str, str] | None = None) -> int:
    """``KDPHYS_LIVE_START_KBPS`` when set (an integer >= 0, kbit/s), else DEFAULT_START_KBPS."""
    raw = (os.environ if env is None else env).get(START_KBPS_ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_START_KBPS
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{START_KBPS_ENV_VAR} must be a whole number of kbit/s (0 = browser default); "
                         f"got {raw!r}.") from None
    if value < 0:
        raise ValueError(f"{START_KBPS_ENV_VAR} must be 0 or more; got {value}.")
    return value


def with_start_bitrate(codecs: Sequence, kbps: int) -> list:
    """Copies of the video ``codecs`` (aiortc RTCRtpCodecParameters) whose fmtp asks the browser to start at
    ``kbps`` kbit/s (``x-google-start-bitrate``); RTX entries and ``kbps`` = 0 leave them as they are."""
    if kbps <= 0:
        return list(codecs)
    out = []
    for codec in codecs:
        if codec.mimeType.split("/", 1)[-1].upper() != "RTX":
            codec = dataclasses.replace(codec, parameters={**codec.parameters, "x-google-start-bitrate": int(kbps)})
        out.append(codec)
    return out


def order_codecs(codecs: Sequence, order: Sequence[str]) -> list:
    """Negotiated codecs reordered by preference.

    Args:
        codecs: aiortc RTCRtpCodecParameters (mimeType "video/VP8", payloadType, parameters; an RTX entry
            names its base codec in parameters["apt"]), in the negotiated order.
        order: preferred MIME subtypes, first = most preferred ("H264", "VP8").
    Returns:
        The same objects: base codecs sorted by their rank in ``order`` (stable; subtypes not in ``order``
        after those that are), each followed by its RTX entry; nothing is dropped.
    """
    rank = {name.upper(): i for i, name in enumerate(order)}

    def subtype(codec) -> str:
        return codec.mimeType.split("/", 1)[-1].upper()

    bases = [c for c in codecs if subtype(c) != "RTX"]
    rtx_of = {c.parameters.get("apt"): c for c in codecs if subtype(c) == "RTX"}
    bases.sort(key=lambda c: rank.get(subtype(c), len(rank)))
    out = []
    for base in bases:
        out.append(base)
        if base.payloadType in rtx_of:
            out.append(rtx_of.pop(base.payloadType))
    out.extend(rtx_of.values())            # RTX without a negotiated base (not expected): kept, last
    return out


def prefer_video_codecs(order: Sequence[str] | None = None, start_kbps_value: int | None = None) -> None:
    """Patch aiortc's RTCPeerConnection.createAnswer (once per process; later calls change the settings) so
    that video transceivers answer with their codecs in ``order`` (default: ``video_codec_order()``), each
    asking for a start bit rate of ``start_kbps_value`` kbit/s (default: ``start_kbps()``)."""
    from aiortc import RTCPeerConnection

    RTCPeerConnection._kdphys_video_codec_order = tuple(order or video_codec_order())
    RTCPeerConnection._kdphys_start_kbps = start_kbps() if start_kbps_value is None else int(start_kbps_value)
    if getattr(RTCPeerConnection, "_kdphys_original_create_answer", None) is not None:
        return
    original = RTCPeerConnection.createAnswer

    async def create_answer(self):
        for transceiver in self.getTransceivers():
            if transceiver.kind == "video" and getattr(transceiver, "_codecs", None):
                codecs = order_codecs(transceiver._codecs, type(self)._kdphys_video_codec_order)
                transceiver._codecs = with_start_bitrate(codecs, type(self)._kdphys_start_kbps)
        return await original(self)

    RTCPeerConnection._kdphys_original_create_answer = original
    RTCPeerConnection.createAnswer = create_answer
