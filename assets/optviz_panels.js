/*
 * optviz analysis panels (viz/panels/): the network panel's decision boundary follows the
 * playback step (window.dash_clientside.optviz.state.k, kept by assets/optviz.js).
 *
 * The boundary figure carries its frames in layout.meta ({steps, z}); the frame shown is
 * the last one at or before step k. While the playback runs, at most 10 redraws a second;
 * a change of step while paused (pause, scrub, step buttons, keys) is drawn at the next
 * check (every 100 ms). Only the two contour traces' z and the caption change.
 */
(function () {
  "use strict";
  const PERIOD = 100; // ms between checks
  let lastT = 0, lastIdx = -1, lastMeta = null, lastK = -1, lastCurvesMeta = null;

  function graph(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    return el.classList.contains("js-plotly-plot") ? el : el.querySelector(".js-plotly-plot");
  }

  function frameIndex(steps, k) {
    let i = 0;
    for (let j = 0; j < steps.length; j++) { if (steps[j] <= k) i = j; else break; }
    return i;
  }

  function tick(t) {
    requestAnimationFrame(tick);
    if (t - lastT < PERIOD) return;
    lastT = t;
    const api = window.dash_clientside && window.dash_clientside.optviz;
    if (!api || !api.state || !window.Plotly) return;
    const k = api.state.k || 0;
    const g = graph("net-boundary");
    const meta = g && g.layout && g.layout.meta;
    if (meta && meta.steps && meta.z && meta.steps.length) {
      const i = frameIndex(meta.steps, k);
      if (i !== lastIdx || meta !== lastMeta) {
        lastIdx = i; lastMeta = meta;
        const text = String((g.layout.annotations[0] || {}).text || "")
          .replace(/step \d+$/, "step " + meta.steps[i]);
        Plotly.update(g, { z: [meta.z[i], meta.z[i]] }, { "annotations[0].text": text }, [0, 1]);
      }
    }
    const c = graph("net-curves");
    const cm = c && c.layout;
    if (cm && cm.shapes && cm.shapes.length && (k !== lastK || cm.meta !== lastCurvesMeta)) {
      lastK = k; lastCurvesMeta = cm.meta;
      Plotly.relayout(c, { "shapes[0].x0": k, "shapes[0].x1": k });
    }
  }
  requestAnimationFrame(tick);
})();
