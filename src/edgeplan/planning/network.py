"""Network figures: stream bitrates, still sizes, and cloud end-to-end latency."""

from edgeplan.spec.fleet import Camera, Costs, Site

# H.264 Mbit/s at 1080p by fps, from ../shared/reference/cloud_prices.csv (bitrate-1080pN-h264);
# scaled by megapixels and by codec factor (h265 0.55 of h264).
_H264_1080P_MBPS = {5: 1.0, 10: 2.0, 15: 3.0, 30: 4.0}
CODEC_FACTOR = {"h264": 1.0, "h265": 0.55, "mjpeg": 6.0}
HOURS_PER_MONTH = 730.5  # 365.25 * 24 / 12
GB_PER_MONTH_PER_MBPS = 329.0  # reference: conversion-gb-per-month-per-mbps


def stream_mbps(cam: Camera) -> float:
    """The camera's bitrate: given, or derived from resolution, fps and codec."""
    if cam.bitrate_mbps is not None:
        return cam.bitrate_mbps
    fps_keys = sorted(_H264_1080P_MBPS)
    nearest = min(fps_keys, key=lambda f: abs(f - cam.fps))
    mp = cam.resolution[0] * cam.resolution[1] / (1920 * 1080)
    return _H264_1080P_MBPS[nearest] * mp * CODEC_FACTOR[cam.codec]


def still_bytes(cam: Camera, costs: Costs) -> float:
    """Bytes of one JPEG still sent to the cloud tier."""
    return cam.resolution[0] * cam.resolution[1] * costs.jpeg_bytes_per_pixel


def upload_ms(nbytes: float, uplink_mbps: float) -> float:
    """Time to push `nbytes` through the uplink; infinite when there is no uplink."""
    if uplink_mbps <= 0:
        return float("inf")
    return nbytes * 8 / (uplink_mbps * 1e6) * 1000


def cloud_latency_ms(
    cam: Camera, site: Site, region: str, queueing_ms: float, infer_ms_p99: float, costs: Costs
) -> tuple[float, float]:
    """(p99 end-to-end ms, RTT p99 used) = encode + upload + RTT p99 + queueing + inference +
    response. A region the site has no RTT for is unreachable (infinite)."""
    rtt = site.rtt_ms.get(region)
    if rtt is None:
        return float("inf"), float("inf")
    total = (
        costs.encode_ms
        + upload_ms(still_bytes(cam, costs), site.uplink_mbps)
        + rtt.p99_ms
        + queueing_ms
        + infer_ms_p99
        + costs.response_ms
    )
    return total, rtt.p99_ms
