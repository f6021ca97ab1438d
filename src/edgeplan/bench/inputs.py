"""Frames for the harness: decoded from images or a video, or synthetic when none are given.

Readers stream; an unreadable file is reported and skipped, never fatal unless nothing is left.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edgeplan.errors import DataError

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass(frozen=True)
class EncodedFrame:
    """Encoded bytes (JPEG/PNG file) or a video position; decoding is a timed stage."""

    source: str
    data: bytes | None = None  # image bytes; None for video frames


def image_files(folder: Path) -> list[Path]:
    """Image files under `folder`, sorted (recursively)."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a directory of images")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def decode_image(data: bytes) -> np.ndarray | None:
    """BGR uint8 frame, or None for a corrupt image."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def read_images(folder: Path, limit: int) -> Iterator[tuple[Path, bytes]]:
    """Encoded bytes of up to `limit` images (decode is left to the caller's timed stage)."""
    for path in image_files(folder)[:limit]:
        try:
            yield path, path.read_bytes()
        except OSError as exc:
            log.warning("skipping unreadable image %s: %s", path, exc)


class VideoFrames:
    """Decoded frames of a video file; `next_frame` returns None at the end."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise DataError(f"{path}: video file not found")
        self.path = path
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise DataError(f"{path}: OpenCV cannot open this video")
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)

    def next_frame(self) -> np.ndarray | None:
        ok, frame = self._cap.read()
        return frame if ok else None

    def rewind(self) -> None:
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        self._cap.release()


def sample_frames(
    images: Path | None, video: Path | None, count: int, hw: tuple[int, int]
) -> tuple[list[np.ndarray], str]:
    """Up to `count` decoded frames for LoadGen samples and profiling, with a description."""
    frames: list[np.ndarray] = []
    if images is not None:
        for path, data in read_images(images, count * 2):
            frame = decode_image(data)
            if frame is None:
                log.warning("skipping corrupt image %s", path)
                continue
            frames.append(frame)
            if len(frames) == count:
                break
        if not frames:
            raise DataError(f"{images}: none of the images could be decoded")
        return frames, f"images:{images} ({len(frames)} decoded)"
    if video is not None:
        vf = VideoFrames(video)
        try:
            while len(frames) < count and (f := vf.next_frame()) is not None:
                frames.append(f)
        finally:
            vf.close()
        if not frames:
            raise DataError(f"{video}: no frame could be decoded")
        return frames, f"video:{video} ({len(frames)} frames)"
    rng = np.random.default_rng(0)
    h, w = hw
    frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(count)]
    return frames, f"synthetic: {count} random {w}x{h} frames (no --images/--video given)"
