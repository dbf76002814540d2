"""Every animated format from the one renderer: GIF, MP4, WebM, animated WebP and APNG.

The frames are ``viz.gif.export``'s (static picture drawn once, trails and dots added per
frame, one shared palette), so every format shows the same pixels; only the encoder
differs:

- GIF: ``export.GifStream`` (changed rectangles, 256 colours), as before.
- APNG: the same palette and changed rectangles in PNG's animation chunks (``ApngStream``
  writes the container; Pillow's PNG encoder compresses each rectangle). Lossless.
- WebP: Pillow's libwebp animation encoder, lossless, fed one frame at a time.
- MP4 (H.264, yuv420p, ``+faststart``) and WebM (VP9 profile 1, yuv444p): frames
  converted here to BT.709 planes (``yuv_planes``), piped to the ffmpeg binary that the
  ``imageio-ffmpeg`` package ships (no system ffmpeg), the matrix written in the file.
  yuv420p needs even sizes: an odd width or height gets one more column or row, a copy
  of the last.

Frames are streamed: memory holds a few frames (and WebP's compressed ones), whatever
the length. A ``Budget`` (``optimizers.budget``) is ticked once per frame: past its
deadline, or once the client has gone, rendering stops with ``BudgetError`` and the
ffmpeg child is killed (it also dies with its parent: ``PR_SET_PDEATHSIG``).

``render(scene, "mp4", ...)`` returns the bytes (the app's download); ``export(scene,
path, ...)`` writes a file safely (``viz.files``), its format from the extension.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import os
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image

import viz.gif.export as gifx
from optimizers.budget import Budget, BudgetError


@dataclass(frozen=True)
class Format:
    """One file format: its name, extension, MIME type, and where it plays."""

    name: str
    extension: str
    mime: str
    description: str
    lossless: bool  # the palette's pixels exactly (GIF, APNG, WebP); else ≈ (video)


FORMATS: dict[str, Format] = {
    "gif": Format("GIF", ".gif", "image/gif", "animated GIF, 256 colours, loops", True),
    "mp4": Format(
        "MP4", ".mp4", "video/mp4", "H.264 video: slides, every browser and player", False
    ),
    "webm": Format(
        "WebM", ".webm", "video/webm", "VP9 4:4:4 video: Chrome, Edge, Firefox; every colour", False
    ),
    "webp": Format("WebP", ".webp", "image/webp", "animated WebP, lossless, loops", True),
    "apng": Format("APNG", ".apng", "image/apng", "animated PNG, lossless, loops", True),
}
BY_EXTENSION = {f.extension: key for key, f in FORMATS.items()}

# The render's deadline (the runs have their own, Budget.of("export")): generous, so that
# the largest export (1,000 frames of both views at 1920×1080) finishes on a loaded
# machine, yet a render can never run unbounded in a job process.
RENDER_SECONDS = 600.0
RENDER_MAX_PIXELS = gifx.MAX_FRAMES * gifx.MAX_SIZE[0] * gifx.MAX_SIZE[1]

Progress = Callable[[int, int], None]


def format_of(path) -> str:
    """The format key for a file name, by its extension; ``ValueError`` listing them."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in BY_EXTENSION:
        shown = f"extension {ext!r}" if ext else "no extension"
        raise ValueError(f"{os.fspath(path)[:80]!r} has {shown}; the formats are: {extensions()}")
    return BY_EXTENSION[ext]


def extensions() -> str:
    return ", ".join(f.extension for f in FORMATS.values())


def _format(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return FORMATS[fmt]


def render_budget(cancelled: Callable[[], bool] | None = None) -> Budget:
    """The budget of one render: its frames × pixels under the largest export's, and a
    deadline of ``RENDER_SECONDS``; ``cancelled`` as for any budget."""
    return Budget(RENDER_MAX_PIXELS, RENDER_SECONDS, cancelled)


def frame_delays_ms(frames: int, fps: int) -> list[int]:
    """Per-frame durations in ms whose running total follows 1000/fps per frame."""
    ends = np.rint(np.arange(1, frames + 1) * 1000.0 / fps).astype(int)
    return np.diff(ends, prepend=0).tolist()


# ----------------------------------------------------------------------------- frames


_frames = gifx.frames_of


def _count(scene, opts) -> int:
    return len(gifx.frame_steps(scene.steps, opts.frames))


# ----------------------------------------------------------------------------- GIF


def _write_gif(fp, scene, opts, trajectories, progress, budget) -> int:
    return gifx._render(scene, fp, opts, progress, trajectories, budget)


# ----------------------------------------------------------------------------- APNG


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _idat(pixels: np.ndarray) -> bytes:
    """The compressed image data of 8-bit indices, by Pillow's PNG encoder (greyscale and
    indexed 8-bit PNGs store their pixels alike: one byte each, rows filtered)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), "L").save(
        buf, "PNG", compress_level=6
    )
    data, pos, out = buf.getvalue(), 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            out.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return b"".join(out)


class ApngStream:
    """Writes a looping APNG frame by frame: GIF's palette and changed rectangles, with
    unchanged pixels transparent over the previous frame (blend OVER, dispose NONE)."""

    def __init__(self, fp, size, palette_bytes: bytes, frames: int):
        self.fp, self.size, self.previous, self.seq, self.frames = fp, size, None, 0, 0
        w, h = size
        fp.write(b"\x89PNG\r\n\x1a\n")
        fp.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)))
        fp.write(_chunk(b"PLTE", palette_bytes))
        alpha = bytearray(b"\xff" * 256)
        alpha[gifx.TRANSPARENT] = 0
        fp.write(_chunk(b"tRNS", bytes(alpha)))
        fp.write(_chunk(b"acTL", struct.pack(">II", frames, 0)))  # 0 plays: forever

    def add(self, frame: np.ndarray, delay_ms: int, hint=None) -> None:
        if self.previous is None:
            box, rect, blend = (0, 0, *self.size), frame, 0  # SOURCE: the whole picture
        else:
            box, rect = _changed(frame, self.previous, self.size, hint)
            blend = 1  # OVER: transparent pixels keep the previous frame's
        x0, y0, x1, y1 = box
        self.fp.write(
            _chunk(
                b"fcTL",
                struct.pack(
                    ">IIIIIHHBB", self.seq, x1 - x0, y1 - y0, x0, y0, delay_ms, 1000, 0, blend
                ),
            )
        )
        self.seq += 1
        data = _idat(rect)
        if self.previous is None:
            self.fp.write(_chunk(b"IDAT", data))
        else:
            self.fp.write(_chunk(b"fdAT", struct.pack(">I", self.seq) + data))
            self.seq += 1
        self.previous = frame
        self.frames += 1

    def close(self) -> None:
        self.fp.write(_chunk(b"IEND", b""))


def _changed(frame, previous, size, hint):
    """The rectangle where ``frame`` differs from ``previous`` (inside ``hint``), with the
    unchanged pixels in it transparent; one transparent pixel when nothing changed."""
    x0, y0, x1, y1 = hint or (0, 0, *size)
    changed = frame[y0:y1, x0:x1] != previous[y0:y1, x0:x1]
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if rows.size == 0:
        return (0, 0, 1, 1), np.full((1, 1), gifx.TRANSPARENT, dtype=np.uint8)
    box = (int(x0 + cols[0]), int(y0 + rows[0]), int(x0 + cols[-1] + 1), int(y0 + rows[-1] + 1))
    sub = changed[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return box, np.where(sub, frame[box[1] : box[3], box[0] : box[2]], gifx.TRANSPARENT)


def _write_apng(fp, scene, opts, trajectories, progress, budget) -> int:
    count = _count(scene, opts)
    return gifx.stream_frames(
        scene,
        opts,
        trajectories,
        progress,
        budget,
        lambda animator: ApngStream(fp, opts.size, animator.palette.bytes, count),
        frame_delays_ms(count, opts.fps),
    )


# ----------------------------------------------------------------------------- WebP


def _write_webp(fp, scene, opts, trajectories, progress, budget) -> int:
    from PIL import _webp  # Pillow's libwebp binding: its animation encoder takes frames one
    # at a time (Image.save would need them all in memory first)

    count = _count(scene, opts)
    delays = frame_delays_ms(count, opts.fps)
    w, h = opts.size
    white = 0xFFFFFFFF  # background ARGB
    # no key frames after the first (kmin = kmax = 0): the frames are small changes, and
    # key frames made files 8× larger (1.6 MiB vs 0.19 MiB for Radford's saddle, both views)
    enc = _webp.WebPAnimEncoder((w, h), white, 0, False, 0, 0, False, False)
    stamp = 0
    for n, (animator, frame, _) in enumerate(_frames(scene, opts, trajectories, progress, budget)):
        im = Image.fromarray(animator.palette.colours[frame], "RGB")
        # lossless; quality is the effort for lossless, method the speed/size trade-off:
        # (10, 4) measured the fastest at ~the smallest size
        enc.add(im.getim(), stamp, True, 10, 100, 4)
        stamp += delays[n]
    enc.add(None, stamp, True, 10, 100, 4)
    data = enc.assemble("", b"", "")
    if data is None:
        raise OSError("the WebP encoder returned nothing")
    fp.write(data)
    return count


# ----------------------------------------------------------------------------- video

# The colour matrix, written into the file as well: BT.709 in the limited range (luma
# 16–235, chroma 16–240), what browsers assume for untagged HD video; the frames are
# converted here (``yuv_planes``), not by ffmpeg, so that the file says what was done.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_COLOUR_TAGS = (
    *("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"),
    *("-color_range", "tv"),
)
# what a unit of Cb and of Cr adds to R, G and B when decoded (columns: Cb, Cr)
_CHROMA_RGB = np.array(
    [
        [0, 2 * (1 - _KR)],
        [-2 * _KB * (1 - _KB) / _KG, -2 * _KR * (1 - _KR) / _KG],
        [2 * (1 - _KB), 0],
    ],
    dtype=np.float32,
)
# 4:2:0: how much L1 error (in 1/255, summed over a block's 4 pixels × 3 channels) a block
# gives up per chroma code of saturation to keep a coloured pixel's colour rather than
# white's: without it, thin lines beside white lost their hue in places (grey dashes)
_SATURATION_BONUS = 2.0

_VIDEO_ARGS = {
    # H.264 High, yuv420p (what PowerPoint, Keynote, Slides and browsers play); index at
    # the front so that it starts playing while it downloads. crf 14, not x264's usual 18:
    # one-pixel contour lines lose to 4:2:0 already, and 18 put Beale's map 8.0/255 off
    # the GIF (14: 7.4, files ~25 % larger)
    "mp4": [
        *("-c:v", "libx264", "-preset", "veryfast", "-crf", "14", "-pix_fmt", "yuv420p"),
        *("-profile:v", "high", "-movflags", "+faststart"),
    ],
    # VP9 profile 1 (4:4:4, every pixel keeps its colour: Chrome, Edge and Firefox play it)
    # at its fastest setting ("good" took 4× longer for a few % smaller files); crf 45 makes
    # files the size 4:2:0 made at crf 32, 3.7/255 from the GIF where 4:2:0 was 9.7
    "webm": [
        *("-c:v", "libvpx-vp9", "-crf", "45", "-b:v", "0", "-pix_fmt", "yuv444p"),
        *("-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"),
    ],
}
_SUBSAMPLED = {"mp4": True, "webm": False}  # yuv420p / yuv444p


def yuv_planes(
    indices: np.ndarray, colours: np.ndarray, subsample: bool, memo: dict | None = None
) -> bytes:
    """A frame of palette ``indices`` into ``colours`` (RGB) as BT.709 limited-range planes:
    yuv420p if ``subsample`` (even sizes only), else yuv444p. The conversion is done once
    per palette colour (or pair of colours) and looked up per pixel.

    4:2:0 keeps one colour (Cb, Cr) for each 2×2 pixels. Each block takes the colour of
    one of its pixels, the one whose choice leaves the block's displayed RGB nearest to its
    pixels' in mean absolute difference (what the exports are held to), a little in favour
    of saturated colours; each pixel's luma is then the one that, with the block's colour,
    displays nearest to the pixel's (``_luma_table``). The mean colour with least-squares
    luma, the previous choice, left Beale's contour map 8.0/255 from the GIF before any
    encoder; this 6.2, its thin lines in their own hue where the mean made them duller.

    ``memo`` (one dict per video): the previous frame's blocks and choices, so that only
    the blocks that changed are chosen again (a block's choice depends on it alone).
    """
    y, cb, cr = _colour_codes(np.asarray(colours, dtype=np.float32) * np.float32(1 / 255))
    if not subsample:
        planes = (_code(y, 16, 219, 235)[indices], cb[indices], cr[indices])
        return b"".join(p.tobytes() for p in planes)
    luma, error, saturation = _luma_table(np.ascontiguousarray(colours, dtype=np.uint8).tobytes())
    corners = [(dy, dx) for dy in (0, 1) for dx in (0, 1)]
    quad = np.stack([indices[dy::2, dx::2] for dy, dx in corners], axis=-1).astype(np.intp)
    pick = quad[..., 0].copy()  # a block of one colour keeps it
    mixed = (quad != quad[..., :1]).any(axis=-1)
    palette = np.ascontiguousarray(colours, dtype=np.uint8).tobytes()
    if memo is not None and memo.get("palette") == palette and memo["quad"].shape == quad.shape:
        same = (quad == memo["quad"]).all(axis=-1)
        pick[same] = memo["pick"][same]
        mixed &= ~same
    q = quad[mixed]  # (n, 4)
    if len(q):
        # cost of giving the block pixel k's colour: its pixels' error with it, less the bonus
        cost = error[q[:, :, None], q[:, None, :]].sum(axis=1) - _SATURATION_BONUS * saturation[q]
        pick[mixed] = np.take_along_axis(q, cost.argmin(axis=1)[:, None], axis=1)[:, 0]
    if memo is not None:
        memo.update(palette=palette, quad=quad, pick=pick)
    y_plane = np.empty(indices.shape, dtype=np.uint8)
    for n, (dy, dx) in enumerate(corners):
        y_plane[dy::2, dx::2] = luma[quad[..., n], pick]
    return b"".join(p.tobytes() for p in (y_plane, cb[pick], cr[pick]))


@functools.lru_cache(maxsize=4)
def _luma_table(palette: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pair (pixel colour, block colour) of an RGB palette: the luma code that,
    with the block colour's chroma codes, a player shows nearest to the pixel's RGB (sum
    over R, G, B of the absolute difference, after rounding and clipping to 0..255), and
    that error in 1/255; and each colour's saturation in chroma codes. The palette is the
    whole render's, so this is computed once per render."""
    rgb = np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3).astype(np.float32)
    _, cb, cr = _colour_codes(rgb * np.float32(1 / 255))
    chroma = (np.stack([cb, cr], axis=-1).astype(np.float32) - 128) / 224
    shift = chroma @ _CHROMA_RGB.T  # (block colour, 3): what its chroma adds to R, G, B
    target = rgb[:, None, :] / 255  # (pixel colour, 1, 3)
    # the best luma is the least-squares one (first: it wins ties, so a flat colour keeps
    # its usual code), or where one channel meets its target, starts to clip at 0, or white
    left = target - shift[None]  # (pixel, block, 3)
    n = len(rgb)
    tries = np.concatenate(
        [
            left.mean(axis=-1, keepdims=True),
            left,
            np.broadcast_to(-shift[None], left.shape),
            np.ones((n, n, 1), np.float32),
        ],
        axis=-1,
    )
    codes = _code(tries, 16, 219, 235)  # (pixel, block, 8)
    shown = (codes.astype(np.float32)[..., None] - 16) / 219 + shift[None, :, None, :]
    shown = np.clip(np.rint(shown * 255), 0, 255)
    err = np.abs(shown - rgb[:, None, None, :]).sum(axis=-1)  # (pixel, block, 8)
    best = err.argmin(axis=-1)[..., None]
    luma = np.take_along_axis(codes, best, axis=-1)[..., 0]
    error = np.take_along_axis(err, best, axis=-1)[..., 0]
    saturation = np.hypot(cb.astype(np.float32) - 128, cr.astype(np.float32) - 128)
    return luma, error, saturation


def _colour_codes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.709 of RGB 0..1 (n, 3): luma 0..1, and Cb and Cr as 8-bit limited-range codes."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = _KR * r + _KG * g + _KB * b
    cb = _code((b - y) * np.float32(0.5 / (1 - _KB)), 128, 224, 240)
    return y, cb, _code((r - y) * np.float32(0.5 / (1 - _KR)), 128, 224, 240)


def _code(v: np.ndarray, zero: int, scale: int, top: int) -> np.ndarray:
    """8-bit limited-range codes of ``v`` (luma 0..1 or chroma −½..½): 16..``top``."""
    return np.clip(np.rint(v * np.float32(scale) + np.float32(zero)), 16, top).astype(np.uint8)


def ffmpeg_exe() -> str:
    """The ffmpeg binary of the ``imageio-ffmpeg`` package; ``ValueError`` without it."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ValueError(
            "video export needs the imageio-ffmpeg package (pip install imageio-ffmpeg)"
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


VIDEO_PREFIX = "optviz-video-"


def sweep_video_folders(root: str | None = None) -> int:
    """Remove the video folders of renderers that died without removing theirs (a cancelled
    export's job is killed): ours (our uid, real folders, not links) whose pid has no
    process. How many went."""
    gone = 0
    root = tempfile.gettempdir() if root is None else root
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for e in entries:
            pid = e.name[len(VIDEO_PREFIX) :].partition("-")[0]
            if not e.name.startswith(VIDEO_PREFIX) or not pid.isdigit():
                continue
            try:
                st = e.stat(follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                    continue
                os.kill(int(pid), 0)  # raises if no such process: then it is stale
            except ProcessLookupError:
                shutil.rmtree(e.path, ignore_errors=True)
                gone += 1
            except (OSError, OverflowError):
                continue  # another user's process, or no pid of this machine
    return gone


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed if we die


def _even(indices: np.ndarray) -> np.ndarray:
    h, w = indices.shape
    if h % 2 or w % 2:
        indices = np.pad(indices, ((0, h % 2), (0, w % 2)), mode="edge")
    return indices


def _write_video(fmt, fp, scene, opts, trajectories, progress, budget) -> int:
    frames = (
        (frame, animator.palette.colours)
        for animator, frame, _ in _frames(scene, opts, trajectories, progress, budget)
    )
    return encode_video(fmt, fp, frames, opts.size, opts.fps)


def encode_video(fmt: str, fp, frames: Iterable[tuple[np.ndarray, np.ndarray]], size, fps) -> int:
    """Encode ``frames`` of ``size`` (w, h), each (palette indices, RGB palette), as ``fmt``
    ("mp4" or "webm") into ``fp``; the number of frames written. The frames are pulled as
    ffmpeg takes them."""
    w, h = size
    subsample = _SUBSAMPLED[fmt]
    ew, eh = (w + w % 2, h + h % 2) if subsample else (w, h)
    sweep_video_folders()
    # 0700: only we can see the file; named by our pid, for the sweep of a killed renderer
    folder = tempfile.mkdtemp(prefix=f"{VIDEO_PREFIX}{os.getpid()}-")
    out = os.path.join(folder, f"out.{fmt}")
    size_arg, rate = f"{ew}x{eh}", str(fps)
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    pix_fmt = "yuv420p" if subsample else "yuv444p"
    cmd += ["-f", "rawvideo", "-pix_fmt", pix_fmt, *_COLOUR_TAGS, "-s", size_arg, "-r", rate]
    cmd += ["-i", "pipe:0"]
    cmd += [*_VIDEO_ARGS[fmt], "-threads", "2", "-r", rate, out]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=_die_with_parent,
        )
        count = 0
        memo: dict = {}
        try:
            try:
                for indices, colours in frames:
                    px = _even(indices) if subsample else indices
                    proc.stdin.write(yuv_planes(px, colours, subsample, memo))
                    count += 1
            except BrokenPipeError:
                pass  # ffmpeg stopped early: its message is read below
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            if proc.wait() != 0:
                err.seek(0)
                tail = err.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
                raise OSError(f"ffmpeg could not encode the {fmt.upper()}: {tail[0][:200]}")
            with open(out, "rb") as src:
                shutil.copyfileobj(src, fp, 1 << 20)
        finally:
            if proc.poll() is None:  # a deadline, a cancel or an error: never leave it running
                proc.kill()
                proc.wait()
            shutil.rmtree(folder, ignore_errors=True)
    return count


# ----------------------------------------------------------------------------- public


def _writer(fmt: str):
    if fmt == "gif":
        return _write_gif
    if fmt == "apng":
        return _write_apng
    if fmt == "webp":
        return _write_webp
    return lambda *args: _write_video(fmt, *args)


def render(
    scene,
    fmt: str = "gif",
    view: str | None = None,
    frames: int | None = None,
    fps: int | None = None,
    size: tuple[int, int] | None = None,
    camera: dict | None = None,
    progress: Progress | None = None,
    trajectories=None,
    title: str | None = None,
    counter: bool = False,
    budget: Budget | None = None,
) -> bytes:
    """The animation of ``scene`` as the bytes of a ``fmt`` file (a key of ``FORMATS``).

    The options are ``export_gif``'s, plus ``title`` (one line drawn at the top left) and
    ``counter`` (the step drawn at the bottom left). ``budget``: ticked once per frame
    (``render_budget()`` is the usual one); ``BudgetError`` stops the render.
    """
    _format(fmt)
    opts = gifx.check_options(scene, view, frames, fps, size, camera, title, counter)
    return gifx.to_bytes(lambda fp: _writer(fmt)(fp, scene, opts, trajectories, progress, budget))


check_options = gifx.check_options  # (scene, view, frames, fps, size, camera, title, counter)


def _renderer(fmt: str):
    def render_fmt(scene, **options) -> bytes:
        return render(scene, fmt, **options)

    render_fmt.__name__ = f"render_{fmt}"
    render_fmt.__doc__ = f"``render(scene, {fmt!r}, ...)``: the {FORMATS[fmt].name} bytes."
    return render_fmt


# one function per format, for the command line's table of formats (optviz_cli)
render_gif = _renderer("gif")
render_mp4 = _renderer("mp4")
render_webm = _renderer("webm")
render_webp = _renderer("webp")
render_apng = _renderer("apng")


@dataclass(frozen=True)
class Written:
    """What ``export`` wrote."""

    path: str
    format: str
    frames: int
    size: tuple[int, int]
    fps: int
    bytes: int
    seconds: float

    def __str__(self) -> str:
        w, h = self.size
        return (
            f"{self.path}: {FORMATS[self.format].name}, {self.frames} frames, {w}×{h}, "
            f"{self.fps} fps, {self.bytes / 1024:.0f} KiB in {self.seconds:.2f} s"
        )


def export(
    scene,
    path,
    view: str | None = None,
    frames: int | None = None,
    fps: int | None = None,
    size: tuple[int, int] | None = None,
    camera: dict | None = None,
    progress: Progress | None = None,
    trajectories=None,
    title: str | None = None,
    counter: bool = False,
    budget: Budget | None = None,
    fmt: str | None = None,
) -> Written:
    """Write the animation of ``scene`` to ``path``, its format from its extension (or
    ``fmt``). Bad options raise ``ValueError`` before anything is written; the file
    appears only when complete and only where a regular file may be (``viz.files``)."""
    t0 = time.perf_counter()
    path = os.fspath(path)
    fmt = format_of(path) if fmt is None else _format(fmt) and fmt
    opts = gifx.check_options(scene, view, frames, fps, size, camera, title, counter)
    count, nbytes = gifx.to_file(
        path, lambda fp: _writer(fmt)(fp, scene, opts, trajectories, progress, budget)
    )
    return Written(path, fmt, count, opts.size, opts.fps, nbytes, time.perf_counter() - t0)


__all__ = [
    "BY_EXTENSION",
    "FORMATS",
    "BudgetError",
    "Format",
    "Written",
    "check_options",
    "encode_video",
    "export",
    "extensions",
    "ffmpeg_exe",
    "format_of",
    "frame_delays_ms",
    "render",
    "render_apng",
    "render_budget",
    "render_gif",
    "render_mp4",
    "render_webm",
    "render_webp",
    "yuv_planes",
]
