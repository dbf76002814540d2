/*
 * Linked views: the user zooms the contour background and turns the 3-D background; the
 * transparent overlays above them follow. Read through Plotly's public surface only:
 * plotly_relayout / plotly_relayouting event data, and gd.layout, which Plotly keeps up
 * to date with the ranges and camera the user chose once a relayout is done.
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  const I = (O.internal = O.internal || {});
  const bound = new WeakSet();

  /* An axis' range from a relayout event ("xaxis.range" or "xaxis.range[0]"/"[1]"),
     else the graph's layout; null if neither has one. */
  function axisRange(ev, g, ax) {
    if (ev) {
      const whole = ev[ax + ".range"];
      if (Array.isArray(whole) && whole.length === 2) return whole.slice();
      const a = ev[ax + ".range[0]"], b = ev[ax + ".range[1]"];
      if (a !== undefined && b !== undefined) return [a, b];
    }
    const l = g && g.layout && g.layout[ax];
    return l && Array.isArray(l.range) && l.range.length === 2 ? l.range.slice() : null;
  }

  function camera(ev, g) {
    const cam = (ev && ev["scene.camera"]) ||
      (g && g.layout && g.layout.scene && g.layout.scene.camera);
    return cam ? JSON.parse(JSON.stringify(cam)) : null;
  }

  function same(a, b) {
    return !!(a && b) && a[0] === b[0] && a[1] === b[1];
  }

  function bindOnce(g, wire) {
    if (g && g.on && !bound.has(g)) {
      bound.add(g);
      wire(g);
    }
  }

  /* Mirror the backgrounds onto the overlays (bound once per graph div). */
  I.bindSync = function () {
    const ids = O.ids;
    // dcc.Graph re-plots the loss figure as Dash holds it (a new figure, or the user's
    // zoom): put the step marker back where the views are
    bindOnce(O.gd(ids.LOSS), function (g) {
      g.on("plotly_afterplot", function () { I.drawLossMarker(O.state.k); });
    });
    bindOnce(O.gd(ids.CONTOUR), function (b2) {
      const sync2 = function (ev) {
        const t = O.gd(ids.CONTOUR_TOP);
        if (!t || !t.layout) return;
        const xr = axisRange(ev, b2, "xaxis"), yr = axisRange(ev, b2, "yaxis");
        if (!xr || !yr) return;
        if (same(xr, axisRange(null, t, "xaxis")) && same(yr, axisRange(null, t, "yaxis"))) return;
        Plotly.relayout(t, { "xaxis.range": xr, "yaxis.range": yr });
      };
      b2.on("plotly_relayout", sync2);
      b2.on("plotly_relayouting", sync2);
      b2.on("plotly_afterplot", function () { sync2(null); });
    });
    bindOnce(O.gd(ids.SURFACE3D), function (b3) {
      const sync3 = function (ev) {
        const t = O.gd(ids.SURFACE3D_TOP);
        if (!t || !t.layout || !t.layout.scene) return;
        const cam = camera(ev, b3);
        if (!cam || (!ev && JSON.stringify(cam) === JSON.stringify(camera(null, t)))) return;
        Plotly.relayout(t, { "scene.camera": cam });
      };
      b3.on("plotly_relayout", sync3);
      b3.on("plotly_relayouting", sync3);
      // a new background (a preset's own camera) drawn after its overlay: the overlay follows
      b3.on("plotly_afterplot", function () { sync3(null); });
    });
  };

  /* The backgrounds' zoom (when the figure about to be drawn keeps the same uirevision)
     and 3-D camera, for a new overlay figure. */
  I.backgroundView = function (uirevision) {
    const b2 = O.gd(O.ids.CONTOUR), b3 = O.gd(O.ids.SURFACE3D);
    const view = { xrange: null, yrange: null, camera: camera(null, b3),
      uirevision3d: b3 && b3.layout ? b3.layout.uirevision : null };
    if (b2 && b2.layout && b2.layout.uirevision === uirevision) {
      view.xrange = axisRange(null, b2, "xaxis");
      view.yrange = axisRange(null, b2, "yaxis");
      if (!view.xrange || !view.yrange) view.xrange = view.yrange = null;
    }
    return view;
  };
})();
