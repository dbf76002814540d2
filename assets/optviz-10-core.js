/*
 * optviz in the browser: one namespace, window.dash_clientside.optviz, one concern a file.
 * Dash loads assets/*.js in name order. Every file creates the namespace if it is not
 * there yet and reads the other files' functions through it only when called, so only
 * the id table (00, generated from viz/ui/ids.py) must come first.
 *
 *   optviz-00-ids.js             component ids (generated: python -m viz.ui.ids)
 *   optviz-10-core.js            shared state, graph lookup, number formatting
 *   optviz-20-plotly-private.js  the only reads of Plotly's private fields (fast paths)
 *   optviz-30-overlay.js         the overlays' data for step k, drawing, new runs (load)
 *   optviz-40-playback.js        clock, play/pause/step/scrub, keyboard, playback buttons
 *   optviz-50-camera.js          background zoom and 3-D camera mirrored onto the overlays
 *   optviz-60-sliders.js         hyperparameter slider ↔ box
 *   optviz-70-request-hook.js    the recompute's answer, read as it arrives
 *   optviz-80-panels.js          analysis tabs; the network panel follows the step
 *
 * The public names (state, show, play, pause, gd, draw2d, draw3d and the clientside
 * callbacks load, controls, hyperFromSlider, showPane) are what callbacks.py registers
 * and the tests read; `internal` holds what the files share among themselves.
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  O.internal = O.internal || {};

  O.state = {
    data: null, runs: [], steps: 0, k: 0, playing: false, speed: 1, loop: true,
    arrows: false, next3d: 0, tick: 0, acc: 0, last: 0, raf: 0, hold: 0, busy2d: false,
    counters: { contour: 0, surface: 0, frames: 0, arrived: 0 },
  };

  /* The Plotly graph div of a dcc.Graph id (or of the div itself). */
  O.gd = function (id) {
    const el = document.getElementById(id);
    if (!el) return null;
    if (el.classList.contains("js-plotly-plot")) return el;
    return el.querySelector(".js-plotly-plot");
  };

  /* A number as Python's "%.<p>g" writes it (viz.ui.layout.fmt uses %.6g): p significant
     digits, trailing zeros dropped, exponent form below 1e-4 or from 10^p, a signed
     exponent of at least two digits ("1e-05"). */
  O.internal.fmtG = function (v, p) {
    p = Math.max(1, p || 6);
    const x = Number(v);
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    const [mant, e] = x.toExponential(p - 1).split("e");
    const exp = parseInt(e, 10);
    const strip = (s) => (s.indexOf(".") >= 0 ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
    if (exp < -4 || exp >= p) {
      const digits = String(Math.abs(exp)).padStart(2, "0");
      return strip(mant) + "e" + (exp < 0 ? "-" : "+") + digits;
    }
    return strip(x.toFixed(p - 1 - exp));
  };
})();
