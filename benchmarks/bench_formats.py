"""MP4 and WebP exports against matplotlib writing the same scene (issue 19).

The scene, frames and size are bench_gif's: Radford's six optimizers on Beale, the
contour view, 120 frames at 800×600, 25 fps, trajectories computed once and given to
both. The peer is bench_gif's FuncAnimation (lines and dots updated per frame) saved
with ``FFMpegWriter`` (pointed at imageio-ffmpeg's binary through
``animation.ffmpeg_path``; H.264, yuv420p) for the MP4, and with ``PillowWriter`` for
the WebP (Pillow's default: lossy, quality 80; ours is lossless).

optviz: the first run in this process (cold: ffmpeg's first start, the panel's first
drawing) and the median of ``repeats`` warm runs; the row's figure is the warm median.
matplotlib is timed once per format (it takes 30–60 s and loses by a wide margin), as in
bench_gif; the note gives both CPU times (wall time stretches with the shared machine's
load; ffmpeg's own CPU time is a child's and is in neither).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from benchmarks.bench_gif import FPS, FRAMES, SIZE, bench_scene, matplotlib_gif
from benchmarks.common import Row

LOSSY = {"webp": " (ours lossless, theirs lossy)"}


def _timed(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _writer(fmt: str):
    import imageio_ffmpeg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, PillowWriter

    if fmt == "mp4":
        plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
        return FFMpegWriter(fps=FPS, codec="h264")
    return PillowWriter(fps=FPS)


def main(repeats: int = 3) -> list[Row]:
    from viz.gif import formats

    scene = bench_scene()
    trajectories = scene.compute()
    rows = []
    w, h = SIZE
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, peer_name in (
            ("mp4", "matplotlib FuncAnimation + FFMpegWriter (imageio-ffmpeg's ffmpeg)"),
            ("webp", "matplotlib FuncAnimation + PillowWriter"),
        ):
            ours_path = os.path.join(tmp, f"ours.{fmt}")
            peer_path = os.path.join(tmp, f"mpl.{fmt}")

            def ours(p=ours_path):
                formats.export(
                    scene,
                    p,
                    view="contour",
                    frames=FRAMES,
                    fps=FPS,
                    size=SIZE,
                    trajectories=trajectories,
                )

            cold, _ = _timed(ours)  # the first run in this process
            runs = [_timed(ours) for _ in range(max(1, repeats))]
            t_ours = statistics.median(t for t, _ in runs)
            cpu_ours = statistics.median(c for _, c in runs)
            kib_ours = os.path.getsize(ours_path) / 1024
            t_peer, cpu_peer = _timed(
                lambda f=fmt, p=peer_path: matplotlib_gif(
                    scene, trajectories, p, "contour", writer=_writer(f)
                )
            )
            kib_peer = os.path.getsize(peer_path) / 1024
            rows.append(
                Row(
                    f"{fmt.upper() if fmt == 'mp4' else 'WebP'} contour, {FRAMES} frames "
                    f"{w}×{h}, {len(scene.runs)} optimizers",
                    t_ours,
                    "s",
                    "≤ 0.2× matplotlib",
                    t_ours <= 0.2 * t_peer,
                    peer=t_peer,
                    peer_name=peer_name,
                    note=f"optviz warm median of {len(runs)} runs, first run in the process "
                    f"{cold:.2f} s; matplotlib timed once; CPU time {cpu_ours:.2f} s vs "
                    f"{cpu_peer:.1f} s (this process only); file {kib_ours:.0f} KiB vs "
                    f"{kib_peer:.0f} KiB"
                    + (" (ours lossless, theirs lossy)" if fmt == "webp" else ""),
                )
            )
    return rows


if __name__ == "__main__":
    from benchmarks.common import report

    report(main())
