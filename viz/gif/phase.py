"""A phase diagram as a still picture (PNG or one-frame GIF), drawn with Pillow like the
GIF frames: cells coloured by the objective, diverged cells grey, a colour bar, axes with
ticks, and Distill's curves over it where the analytic map applies."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw

from optimizers.phase import Analytic, PhaseMap, convergence_boundary, critical_damping
from viz.gif.raster import font, minus, rgb, sample_scale
from viz.scene.tuning import DIVERGED_COLOUR, PHASE_SCALE, phase_field

LEFT, RIGHT, TOP, BOTTOM = 78, 110, 44, 56
KEY = 26  # the key's row under the axis label, where Distill's curves are drawn
CURVES = {"boundary": "#d62728", "critical": "#ffffff", "optimum": "#ff7f0e"}
SWATCH = (64, 64, 64)  # behind each key's sample, so that the white curve shows


def _frac(values: np.ndarray, v, log: bool):
    """Fractional cell index of ``v`` along an axis of ``values`` (cell centres)."""
    lo, hi = values[0], values[-1]
    with np.errstate(all="ignore"):
        t = (np.log(v) - math.log(lo)) / math.log(hi / lo) if log else (v - lo) / (hi - lo)
    return t * (len(values) - 1)


def _ticks(values: np.ndarray, log: bool) -> list[float]:
    lo, hi = float(values[0]), float(values[-1])
    if log:
        ticks = [
            10.0**k
            for k in range(math.ceil(math.log10(lo) - 1e-9), 1 + math.floor(math.log10(hi) + 1e-9))
        ]
        return ticks if len(ticks) >= 2 else [lo, hi]
    return _round_ticks(lo, hi)


def _round_ticks(lo: float, hi: float, about: int = 5) -> list[float]:
    """Multiples of a round step (1, 2, 2.5 or 5 × 10^k) in [lo, hi], as near ``about`` of
    them as such a step gives, as a reader labels an axis: 0, 0.2, …, 0.8, not 0.2475."""
    span = hi - lo
    k = math.floor(math.log10(span / about))

    def count(step: float) -> int:
        return math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1

    steps = [m * 10.0**e for e in (k - 1, k, k + 1) for m in (1, 2, 2.5, 5)]
    step = min(steps, key=lambda st: (abs(count(st) - about), -st))
    first = math.ceil(lo / step - 1e-9)
    ticks = [i * step for i in range(first, first + count(step))]
    return [0.0 if abs(t) < 1e-12 * span else t for t in ticks]


def _key(an: Analytic) -> list[tuple[str, str, str, str]]:
    """(sample, colour, text, shorter text) of each drawn curve, for the key."""
    boundary = "convergence boundary"
    items = [
        ("line", CURVES["boundary"], boundary + (" αλₙ = 2 + 2β" if an.rule == "momentum" else ""),
         boundary),
        ("line", CURVES["critical"], "critical damping β = (1 − √(αλ))²", "critical damping"),
    ]  # fmt: skip
    if an.rule == "momentum":
        optimum = f"optimum α* = {an.alpha_star:.3g}, β* = {an.beta_star:.3g}"
        items.append(("ring", CURVES["optimum"], optimum, optimum))
    return items


def _draw_key(draw, items, x: float, y: float, width: float, text_font) -> None:
    """The key in one row from (x, y) (its middle): the shorter texts if it is too wide."""
    gap, sample = 18, 26
    texts = [item[2] for item in items]
    if sum(sample + 6 + draw.textlength(t, font=text_font) + gap for t in texts) > width:
        texts = [item[3] for item in items]
    for (kind, colour, *_), text in zip(items, texts, strict=True):
        draw.rectangle([x, y - 7, x + sample, y + 7], fill=SWATCH)
        if kind == "line":
            draw.line([(x + 3, y), (x + sample - 3, y)], fill=rgb(colour), width=2)
        else:
            cx = x + sample / 2
            draw.ellipse([cx - 5, y - 5, cx + 5, y + 5], outline=rgb(colour), width=2)
        x += sample + 6
        draw.text((x, y), text, fill=(0, 0, 0), font=text_font, anchor="lm")
        x += draw.textlength(text, font=text_font) + gap


def render(m: PhaseMap, an: Analytic | None = None, size=(760, 560)) -> Image.Image:
    """The diagram as an RGB image of ``size`` (width, height)."""
    width, height = size
    bottom = BOTTOM + (KEY if an is not None else 0)
    pw, ph = width - LEFT - RIGHT, height - TOP - bottom
    if pw < 50 or ph < 50:
        raise ValueError(f"size must be at least {LEFT + RIGHT + 50}x{TOP + bottom + 50}")
    z, title = phase_field(m)
    finite = z[np.isfinite(z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    colours = sample_scale(PHASE_SCALE, (z - lo) / (hi - lo))
    colours[~np.isfinite(z)] = rgb(DIVERGED_COLOUR)
    cells = Image.fromarray(colours[::-1].round().astype(np.uint8))  # row 0 at the bottom
    img = Image.new("RGB", (width, height), "white")
    img.paste(cells.resize((pw, ph), Image.NEAREST), (LEFT, TOP))
    draw = ImageDraw.Draw(img)
    ny, nx = z.shape

    def px(jf):
        return LEFT + (jf + 0.5) / nx * pw

    def py(i_f):
        return TOP + ph - (i_f + 0.5) / ny * ph

    if an is not None:
        xs_a = m.xs if m.x == "lr" else m.ys  # the α axis
        fine = (
            np.geomspace(xs_a[0], xs_a[-1], 400)
            if (m.x_log if m.x == "lr" else m.y_log)
            else (np.linspace(xs_a[0], xs_a[-1], 400))
        )
        curves = [(convergence_boundary(an.rule, fine, an.lams[-1]), CURVES["boundary"])]
        curves += [
            (critical_damping(fine, lam), CURVES["critical"]) for lam in sorted(set(an.lams))
        ]
        for beta, colour in curves:
            a_idx = _frac(xs_a, fine, m.x_log if m.x == "lr" else m.y_log)
            b_vals = m.ys if m.y == "momentum" else m.xs
            b_idx = _frac(b_vals, beta, m.y_log if m.y == "momentum" else m.x_log)
            pts = [
                (px(a), py(b)) if m.x == "lr" else (px(b), py(a))
                for a, b in zip(a_idx, b_idx, strict=True)
                if np.isfinite(b) and -0.5 <= b <= len(b_vals) - 0.5
            ]
            if len(pts) > 1:
                draw.line(pts, fill=rgb(colour), width=2)
        if an.rule == "momentum":
            a = _frac(xs_a, an.alpha_star, m.x_log if m.x == "lr" else m.y_log)
            b = _frac(m.ys if m.y == "momentum" else m.xs, an.beta_star, False)
            cx, cy = (px(a), py(b)) if m.x == "lr" else (px(b), py(a))
            draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], outline=rgb(CURVES["optimum"]), width=2)
    draw.rectangle([LEFT, TOP, LEFT + pw, TOP + ph], outline=(0, 0, 0))
    small, big = font(12), font(14)
    for v in _ticks(m.xs, m.x_log):
        x = px(_frac(m.xs, v, m.x_log))
        draw.line([(x, TOP + ph), (x, TOP + ph + 5)], fill=(0, 0, 0))
        draw.text((x, TOP + ph + 8), minus(f"{v:g}"), fill=(0, 0, 0), font=small, anchor="mt")
    for v in _ticks(m.ys, m.y_log):
        y = py(_frac(m.ys, v, m.y_log))
        draw.line([(LEFT - 5, y), (LEFT, y)], fill=(0, 0, 0))
        draw.text((LEFT - 8, y), minus(f"{v:.3g}"), fill=(0, 0, 0), font=small, anchor="rm")
    draw.text((LEFT + pw / 2, TOP + ph + BOTTOM - 8), m.x, fill=(0, 0, 0), font=big, anchor="md")
    if an is not None:
        _draw_key(draw, _key(an), LEFT, height - KEY / 2 - 2, width - LEFT - 8, small)
    label = Image.new("RGB", (ph, 20), "white")
    ImageDraw.Draw(label).text((ph / 2, 10), m.y, fill=(0, 0, 0), font=big, anchor="mm")
    img.paste(label.rotate(90, expand=True), (4, TOP))
    head = f"{m.rule} on {m.surface}, {m.steps} steps: {title}"
    draw.text((LEFT, 12), head, fill=(0, 0, 0), font=big)
    # colour bar, low (good) at the bottom; then the grey of diverged cells
    bx, bw = LEFT + pw + 20, 16
    ramp = sample_scale(PHASE_SCALE, np.linspace(1, 0, ph))[:, None, :].repeat(bw, axis=1)
    img.paste(Image.fromarray(ramp.round().astype(np.uint8)), (bx, TOP))
    draw.rectangle([bx, TOP, bx + bw, TOP + ph], outline=(0, 0, 0))
    for v in _round_ticks(lo, hi):
        y = TOP + ph - (v - lo) / (hi - lo) * ph
        draw.line([(bx + bw, y), (bx + bw + 4, y)], fill=(0, 0, 0))
        draw.text((bx + bw + 7, y), minus(f"{v:g}"), fill=(0, 0, 0), font=small, anchor="lm")
    draw.rectangle([bx, TOP + ph + 14, bx + bw, TOP + ph + 28], fill=rgb(DIVERGED_COLOUR))
    draw.text((bx + bw + 4, TOP + ph + 21), "diverged", fill=(0, 0, 0), font=small, anchor="lm")
    return img


def phase_image_bytes(
    m: PhaseMap, fmt: str = "png", an: Analytic | None = None, size=(760, 560)
) -> bytes:
    """The picture encoded as ``png`` or ``gif`` (one frame, the GIF renderer's palette
    approach: adaptive, no dithering)."""
    img = render(m, an, size)
    out = io.BytesIO()
    if fmt == "png":
        img.save(out, format="PNG", optimize=False)
    elif fmt == "gif":
        img.quantize(colors=255, dither=Image.Dither.NONE).save(out, format="GIF")
    else:
        raise ValueError(f"the picture is png or gif, got {fmt!r}")
    return out.getvalue()
