"""Reading exported animations back, for the format tests (library, CLI and app).

Images (GIF, APNG, WebP) are read with Pillow: frame count, size, each frame's duration,
the last frame's pixels. Videos (MP4, WebM) are decoded by the ffmpeg binary of
imageio-ffmpeg (``imageio_ffmpeg.read_frames``, whose metadata is parsed from ffmpeg's own
stream header, as ``ffmpeg -i`` prints it: codec, pixel format, size, fps, duration) and
their frames counted by decoding them all (``count_frames_and_secs``). ffmpeg turns the
decoded planes into RGB with the colour matrix the file is tagged with (BT.709 for ours;
``pix_fmt`` reads e.g. "yuv420p(tv, bt709, progressive)"), as a player does.
"""

from __future__ import annotations

from dataclasses import dataclass

import imageio_ffmpeg
import numpy as np
from PIL import Image


@dataclass
class Media:
    kind: str  # Pillow's format name, or the video codec ("h264", "vp9")
    frames: int
    size: tuple[int, int]
    durations_ms: list[float]  # per frame (a video: 1000 / fps each)
    last: np.ndarray  # the last frame, RGB uint8
    pix_fmt: str = ""


def read_image(path) -> Media:
    with Image.open(path) as im:
        kind, n, size = im.format, getattr(im, "n_frames", 1), im.size
        durations = []
        for i in range(n):
            im.seek(i)
            im.load()  # WebP reads a frame's duration when it decodes it
            durations.append(float(im.info.get("duration", 0)))
        last = np.asarray(im.convert("RGB"))
    return Media(kind, n, size, durations, last)


def read_video(path) -> Media:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    last, n = None, 0
    for raw in reader:
        last, n = raw, n + 1
    frames, _secs = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == n, (frames, n)
    frame = np.frombuffer(last, dtype=np.uint8).reshape(h, w, 3)
    return Media(meta["codec"], n, (w, h), [1000.0 / meta["fps"]] * n, frame, meta["pix_fmt"])


def read(path) -> Media:
    return read_video(path) if str(path).endswith((".mp4", ".webm")) else read_image(path)


def mad(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference per channel, in units of 1/255."""
    h, w = b.shape[:2]
    return np.abs(a[:h, :w].astype(float) - b.astype(float)).mean(axis=(0, 1))
