/*
 * PRIVATE PLOTLY FIELDS: the only place optviz reads them.
 *
 * Plotly has no public API for "where, in pixels, is this data point" nor for "which SVG
 * element draws trace i", and the animation's fast paths need both: they move the SVG of
 * the contour overlay's trails and dots, and the loss plot's step marker, instead of
 * asking Plotly to redraw (~30 ms a call, which caps playback near 25 fps). Each helper
 * returns null when a field is missing or not what it was (a Plotly upgrade), and every
 * caller then draws through Plotly's public calls (animate, restyle, relayout): slower,
 * never wrong. tests/e2e/test_js.py checks the fast path is the one taken today.
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  O.internal = O.internal || {};

  function axis(g, name) {
    const fl = g && g._fullLayout;
    const ax = fl && fl[name];
    return ax && typeof ax.c2p === "function" && typeof ax.r2p === "function" &&
      typeof ax._offset === "number" ? ax : null;
  }

  O.internal.plotlyPrivate = {
    /* Data → pixel maps of a drawn cartesian graph's x and y axes, within the plot
       area's own group (what the trace groups' paths use), or null. */
    pixelMaps: function (g) {
      const xa = axis(g, "xaxis"), ya = axis(g, "yaxis");
      if (!xa || !ya) return null;
      return { x: (v) => xa.c2p(v), y: (v) => ya.c2p(v) };
    },

    /* The SVG group drawing each scatter trace, by trace index (Plotly draws none for an
       empty trace, so order alone does not tell), from the d3 datum on each group. */
    scatterGroups: function (g) {
      const groups = {};
      let seen = 0;
      g.querySelectorAll(".scatterlayer .trace.scatter").forEach(function (el) {
        const cd = el.__data__;
        if (cd && cd[0] && cd[0].trace && typeof cd[0].trace.index === "number") {
          groups[cd[0].trace.index] = el;
          seen++;
        }
      });
      return seen ? groups : null;
    },

    /* Page x (in the SVG) of the data value v on the x axis, shapes included, or null. */
    xPixel: function (g, v) {
      const xa = axis(g, "xaxis");
      return xa ? xa._offset + xa.r2p(v) : null;
    },

    /* Tell Plotly's own copy of shape 0 where the marker was moved, so its next redraw
       puts it there too; false when there is no such copy. */
    setShape0X: function (g, v) {
      const fl = g && g._fullLayout;
      const full = fl && fl.shapes && fl.shapes[0];
      if (!full) return false;
      full.x0 = full.x1 = v;
      return true;
    },
  };
})();
