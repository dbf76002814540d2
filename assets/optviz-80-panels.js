/*
 * The analysis panels (viz/ui/panels/): the tabs, and the network panel and the accuracy
 * strip under the views following the playback step (optviz.state.k).
 *
 * The boundary figure carries its frames in layout.meta ({steps, z}); the frame shown is
 * the last one at or before step k. While the playback runs, at most 10 redraws a second;
 * a change of step while paused (pause, scrub, step buttons, keys) is drawn at the next
 * check (every 100 ms). Only the two contour traces' z and the caption change.
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  const PERIOD = 100; // ms between checks

  /* Clientside callback: every pane stays mounted, only the chosen one is shown. */
  O.showPane = function (value, paneIds) {
    // hidden panes keep their width (height 0, not display: none) so their graphs lay out
    const hidden = { visibility: "hidden", height: 0, overflow: "hidden" };
    const out = (paneIds || []).map((i) => (i.tab === value ? {} : hidden));
    // graphs that were hidden have no size yet: let them measure themselves
    setTimeout(function () { window.dispatchEvent(new Event("resize")); }, 30);
    return out;
  };

  /* Clientside callback: a card's label with "{name}" in it, each written as the box of
     that hyperparameter holds it (viz.scene.model.label_with_values on the server). */
  O.cardTitle = function (values, boxIds, template) {
    if (!template) return dc.no_update;
    const by = {};
    (boxIds || []).forEach((id, i) => { by[id.name] = values[i]; });
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      const text = String(by[name] === undefined || by[name] === null ? "" : by[name]).trim();
      return text !== "" && isFinite(Number(text)) ? O.internal.fmtG(Number(text), 6) : whole;
    });
  };

  let lastT = 0, lastIdx = -1, lastMeta = null, lastK = -1, lastCurvesMeta = null;
  let lastAccK = -1, lastAccMeta = null;
  let lastNetK = -1, lastNetMeta = null, lastBndIdx = -1, lastBndMeta = null;

  function frameIndex(steps, k) {
    let i = 0;
    for (let j = 0; j < steps.length; j++) { if (steps[j] <= k) i = j; else break; }
    return i;
  }

  function tick(t) {
    requestAnimationFrame(tick);
    if (t - lastT < PERIOD) return;
    lastT = t;
    if (!O.state || !O.ids || !window.Plotly) return;
    const k = O.state.k || 0;
    const g = O.gd(O.ids.NET_BOUNDARY);
    const meta = g && g.layout && g.layout.meta;
    if (meta && meta.steps && meta.z && meta.steps.length) {
      const i = frameIndex(meta.steps, k);
      if (i !== lastIdx || meta !== lastMeta) {
        lastIdx = i; lastMeta = meta;
        const text = String(((g.layout.annotations || [])[0] || {}).text || "")
          .replace(/step \d+$/, "step " + meta.steps[i]);
        Plotly.update(g, { z: [meta.z[i], meta.z[i]] }, { "annotations[0].text": text }, [0, 1]);
      }
    }
    const c = O.gd(O.ids.NET_CURVES);
    const cm = c && c.layout;
    if (cm && cm.shapes && cm.shapes.length && (k !== lastK || cm.meta !== lastCurvesMeta)) {
      lastK = k; lastCurvesMeta = cm.meta;
      Plotly.relayout(c, { "shapes[0].x0": k, "shapes[0].x1": k });
    }
    // the accuracy strip under the views (viz/ui/panels/accuracy.py): the same marker
    const a = O.gd(O.ids.ACC_STRIP);
    const al = a && a.layout;
    if (al && al.shapes && al.shapes.length && (k !== lastAccK || al.meta !== lastAccMeta)) {
      lastAccK = k; lastAccMeta = al.meta;
      Plotly.relayout(a, { "shapes[0].x0": k, "shapes[0].x1": k });
    }
    // the network scene's strip (viz/ui/panels/netstrip.py): its two step markers, and
    // every rule's decision boundary at the latest frame at or before step k
    const n = O.gd(O.ids.NET_CHECK);
    const nl = n && n.layout;
    if (nl && nl.shapes && nl.shapes.length > 1 && (k !== lastNetK || nl.meta !== lastNetMeta)) {
      lastNetK = k; lastNetMeta = nl.meta;
      Plotly.relayout(n, { "shapes[0].x0": k, "shapes[0].x1": k,
                           "shapes[1].x0": k, "shapes[1].x1": k });
    }
    const b = O.gd(O.ids.NET_BOUNDARIES);
    const bm = b && b.layout && b.layout.meta;
    if (bm && bm.steps && bm.z && bm.traces && bm.steps.length) {
      const i = frameIndex(bm.steps, k);
      if (i !== lastBndIdx || bm !== lastBndMeta) {
        lastBndIdx = i; lastBndMeta = bm;
        Plotly.restyle(b, { z: bm.z[i] }, bm.traces);
      }
    }
  }
  requestAnimationFrame(tick);
})();
