/*
 * The overlays: what the contour and 3-D views draw for step k, and new runs.
 *
 * The server sends the runs once (dcc.Store TRAJ) with two overlay figure templates built
 * in Python (viz/figures). Each overlay trace carries meta.role; for step k we fill every
 * role's data and update ONLY the transparent overlay graphs laid over the static
 * contour / surface (the backgrounds are never redrawn by the animation):
 *   contour overlay: the SVG fast path (optviz-20-plotly-private.js), else
 *                    Plotly.animate(..., {redraw: false}) or restyle;
 *   3-D overlay:     Plotly.restyle (the playback paces it: software WebGL is slow).
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  const I = (O.internal = O.internal || {});
  const ARROW = 0.09; // arrow length as a fraction of the window (viz.figures.ARROW_FRACTION)

  function lastIndex(r, k) {
    return Math.min(k, r.x.length - 1);
  }

  // ------------------------------------------------------------------ data for step k

  function arrowSegments(k, role) {
    const S = O.state, xs = [], ys = [], sizes = [];
    if (!S.arrows) return { x: xs, y: ys, size: sizes };
    const w = S.window;
    const sx = w[0][1] - w[0][0], sy = w[1][1] - w[1][0];
    for (const r of S.runs) {
      const i = lastIndex(r, k);
      const x = r.x[i], y = r.y[i];
      if (x === null || y === null) continue;
      let dx, dy;
      if (role === "grad") {
        dx = r.gdx[i]; dy = r.gdy[i];
      } else {
        if (!r.momentum || i + 1 >= r.x.length) continue;
        // velocity of a W <- W + v rule: the next point minus this one (direction shown)
        const vx = (r.x[i + 1] - x) / sx, vy = (r.y[i + 1] - y) / sy;
        const n = Math.hypot(vx, vy);
        if (!(n > 0)) continue;
        dx = (vx / n) * ARROW * sx; dy = (vy / n) * ARROW * sy;
      }
      if (dx === null || dy === null || (dx === 0 && dy === 0)) continue;
      xs.push(x, x + dx, null); ys.push(y, y + dy, null); sizes.push(0, 11, 0);
    }
    return { x: xs, y: ys, size: sizes };
  }

  /* One update object per contour-overlay trace, by role. */
  function update2d(data, k) {
    const S = O.state, out = [], idx = [];
    data.forEach(function (t, i) {
      const m = t.meta || {};
      let u = null;
      if (m.role === "trail") {
        const r = S.runs[m.run], n = lastIndex(r, k) + 1;
        u = { x: r.x.slice(0, n), y: r.y.slice(0, n) };
      } else if (m.role === "dots") {
        u = { x: S.runs.map((r) => r.x[lastIndex(r, k)]), y: S.runs.map((r) => r.y[lastIndex(r, k)]) };
      } else if (m.role === "crosses") {
        const gone = S.runs.filter((r) => r.diverged_at !== null && k >= r.diverged_at);
        u = { x: gone.map((r) => r.x[r.x.length - 1]), y: gone.map((r) => r.y[r.y.length - 1]) };
      } else if (m.role === "grad" || m.role === "velocity") {
        const a = arrowSegments(k, m.role);
        u = { x: a.x, y: a.y, marker: Object.assign({}, t.marker, { size: a.size }) };
      }
      if (u) { out.push(u); idx.push(i); }
    });
    return { data: out, traces: idx };
  }

  /* x, y, z of every 3-D overlay trace with a role (a restyle's update). */
  function update3d(data, k) {
    const S = O.state, xs = [], ys = [], zs = [], idx = [];
    data.forEach(function (t, i) {
      const m = t.meta || {};
      // z is null where a run is outside the window: a gap (see figures.extent_trace)
      if (m.role === "path") {
        const r = S.runs[m.run], n = lastIndex(r, k) + 1;
        const z = r.z.slice(0, n);
        xs.push(r.x.slice(0, n).map((v, j) => (z[j] === null ? null : v)));
        ys.push(r.y.slice(0, n).map((v, j) => (z[j] === null ? null : v)));
        zs.push(z);
        idx.push(i);
      } else if (m.role === "dots3d") {
        const at = S.runs.map((r) => lastIndex(r, k));
        const z = S.runs.map((r, j) => r.z[at[j]]);
        xs.push(S.runs.map((r, j) => (z[j] === null ? null : r.x[at[j]])));
        ys.push(S.runs.map((r, j) => (z[j] === null ? null : r.y[at[j]])));
        zs.push(z);
        idx.push(i);
      }
    });
    return { update: { x: xs, y: ys, z: zs }, traces: idx };
  }

  // ------------------------------------------------------------------ drawing

  // The fast path: rewrite the SVG of the trails and dots Plotly drew last time (their `d`
  // and `transform`) with the axes' data-to-pixel maps, and keep gd.data in step. false
  // (nothing changed) when Plotly must draw instead: a private field is missing, or a
  // trace is not drawn as it was.
  function fastDraw2d(g, k) {
    const P = I.plotlyPrivate, S = O.state;
    const px = P && P.pixelMaps(g);
    const groups = px && P.scatterGroups(g);
    if (!groups) return false;
    const jobs = [];
    for (let i = 0; i < g.data.length; i++) {
      const m = g.data[i].meta || {};
      if ((m.role === "trail" || m.role === "dots") && !groups[i]) return false;
      if (m.role === "trail") {
        const line = groups[i].querySelector("path.js-line");
        if (!line) return false;
        jobs.push([i, m, line]);
      } else if (m.role === "dots") {
        const pts = groups[i].querySelectorAll("path.point");
        if (pts.length !== S.runs.length) return false;
        jobs.push([i, m, pts]);
      }
    }
    for (const [i, m, el] of jobs) {
      if (m.role === "trail") {
        const r = S.runs[m.run], n = lastIndex(r, k) + 1;
        const parts = new Array(n);
        for (let j = 0; j < n; j++) {
          parts[j] = px.x(r.x[j]).toFixed(1) + "," + px.y(r.y[j]).toFixed(1);
        }
        el.setAttribute("d", "M" + parts.join("L"));
        g.data[i].x = r.x.slice(0, n);
        g.data[i].y = r.y.slice(0, n);
      } else {
        const xs = [], ys = [];
        S.runs.forEach(function (r, j) {
          const q = lastIndex(r, k);
          xs.push(r.x[q]); ys.push(r.y[q]);
          el[j].setAttribute("transform",
            "translate(" + px.x(r.x[q]).toFixed(1) + "," + px.y(r.y[q]).toFixed(1) + ")");
        });
        g.data[i].x = xs;
        g.data[i].y = ys;
      }
    }
    I.fastDraws = (I.fastDraws || 0) + 1;
    return true;
  }

  // What is drawn besides trails and dots (✕ marks, arrows); when it changes, Plotly
  // redraws every trace (animating only some traces after the fast path blanks the rest).
  const drawnKey = new WeakMap();

  function extrasKey(k) {
    const S = O.state;
    return S.runs.map((r) => (r.diverged_at !== null && k >= r.diverged_at ? 1 : 0)).join("") +
      (S.arrows ? "a" : "");
  }

  /* Draw step k on a contour overlay; method: "fast" (SVG fast path where it applies,
     else animate), "animate" or "restyle". Resolves once Plotly has drawn. */
  O.draw2d = function (g, k, method) {
    const S = O.state;
    if (!g || !g.data) return Promise.resolve();
    method = method || "fast";
    const key = extrasKey(k);
    if (method === "fast") {
      if (key === drawnKey.get(g) && !S.arrows && fastDraw2d(g, k)) {
        S.counters.contour++;
        return Promise.resolve();
      }
      method = "animate";
    }
    drawnKey.set(g, key);
    const u = update2d(g.data, k);
    if (!u.traces.length) return Promise.resolve();
    S.counters.contour++;
    if (method === "animate") {
      return Plotly.animate(g, { data: u.data, traces: u.traces }, {
        transition: { duration: 0 }, frame: { duration: 0, redraw: false }, mode: "immediate",
      });
    }
    const keys = {};
    u.data.forEach(function (d, j) {
      for (const name in d) {
        if (name === "marker") continue;
        (keys[name] = keys[name] || new Array(u.data.length).fill(undefined))[j] = d[name];
      }
    });
    return Plotly.restyle(g, keys, u.traces);
  };

  /* Draw step k on a 3-D overlay. */
  O.draw3d = function (g, k) {
    if (!g || !g.data) return;
    const u = update3d(g.data, k);
    if (!u.traces.length) return;
    O.state.counters.surface++;
    Plotly.restyle(g, u.update, u.traces);
  };

  // The loss plot's step marker (shapes[0], a vertical line), moved in its SVG as the fast
  // path moves the trails: Plotly.relayout would redraw the plot, and its plotly_relayout
  // event makes dcc.Graph report relayoutData to Dash and plot the figure once more
  // (~100 ms of the page's time per move on a 2-core machine). relayout when it cannot.
  function drawLossMarker(k) {
    const g = O.gd(O.ids.LOSS);
    if (!(g && g.layout && g.layout.shapes && g.layout.shapes.length)) return;
    const sh = g.layout.shapes[0];
    if (sh.x0 === k && sh.x1 === k) return;
    const P = I.plotlyPrivate;
    const x = P && P.xPixel(g, k);
    const path = g.querySelector(".shapelayer path");
    const d = path && path.getAttribute("d");
    const m = d && /^M([-\d.e]+),([-\d.e]+)L([-\d.e]+),([-\d.e]+)$/.exec(d);
    if (x === null || x === undefined || !isFinite(x) || !m || !P.setShape0X(g, k)) {
      Plotly.relayout(g, { "shapes[0].x0": k, "shapes[0].x1": k });
      return;
    }
    sh.x0 = sh.x1 = k; // where Plotly's next redraw puts it too
    path.setAttribute("d", "M" + x.toFixed(2) + "," + m[2] + "L" + x.toFixed(2) + "," + m[4]);
  }

  // ------------------------------------------------------------------ new runs

  // New runs whose overlay templates (everything but the runs' own data: start, window,
  // colours, labels, layout) are the ones drawn already — a hyperparameter, schedule or
  // noise change. Draw them now with the playback's own calls on the graphs as they are
  // (zoom and camera kept) and send no figures through Dash: a figure output re-plots
  // both graphs only after Dash has handled every other output and started the
  // follow-up callbacks (~200 ms later on a 2-core machine). The loss marker waits for
  // the frame that shows the views.
  function drawInPlace(traj) {
    const S = O.state;
    const g2 = O.gd(O.ids.CONTOUR_TOP), g3 = O.gd(O.ids.SURFACE3D_TOP);
    if (!S.templates || !g2 || !g3 || !g2.data || !g3.data) return false;
    // the figures last sent are on screen (a pending one would overwrite what is drawn here)
    if (!g2.layout || g2.layout.datarevision !== S.figRev ||
        !g3.layout || g3.layout.datarevision !== S.figRev) return false;
    if (g2.data.length !== traj.contour_top.data.length ||
        g3.data.length !== traj.surface_top.data.length) return false;
    if (JSON.stringify(S.templates[0]) !== JSON.stringify(traj.contour_top) ||
        JSON.stringify(S.templates[1]) !== JSON.stringify(traj.surface_top)) return false;
    S.templates = [traj.contour_top, traj.surface_top];
    // The contour: the SVG fast path where it applies, made exact (Plotly's own data for
    // hover) once the frame showing it has gone out; otherwise restyle, which draws at
    // once (animate waits for its transition) but leaves arrowheads be.
    if (!S.arrows && extrasKey(S.k) === drawnKey.get(g2) && fastDraw2d(g2, S.k)) {
      requestAnimationFrame(function () {
        setTimeout(function () { if (!S.playing) O.draw2d(g2, S.k, "restyle"); }, 0);
      });
    } else {
      O.draw2d(g2, S.k, S.arrows ? "animate" : "restyle");
    }
    O.draw3d(g3, S.k);
    I.drawLabels(S.k);
    requestAnimationFrame(function () { setTimeout(function () { drawLossMarker(S.k); }, 0); });
    return true;
  }

  /* The step new runs are shown at: the same one, or for a preset just picked its start,
     paused, as on a new page. */
  function stepFor(traj) {
    if (!traj.fresh) return Math.min(O.state.k, traj.steps);
    if (O.state.playing) O.stop();
    return 0;
  }

  /* New runs read from the recompute's answer as it arrives (optviz-70-request-hook.js):
     drawn now when they fit the overlays on screen; true if drawn (else `load` draws them
     once Dash hands them over). */
  function drawArrived(traj) {
    const S = O.state;
    if (!traj || !traj.runs || S.data === traj) return false;
    const was = [S.data, S.runs, S.steps, S.k];
    S.arrivedAt = performance.now();
    S.data = traj;
    S.runs = traj.runs;
    S.steps = traj.steps;
    S.k = stepFor(traj);
    let drawn = false;
    try {
      drawn = drawInPlace(traj);
    } finally {
      if (!drawn) [S.data, S.runs, S.steps, S.k] = was;
    }
    if (drawn) {
      S.arrived = traj;
      S.counters.arrived++;
    }
    return drawn;
  }

  /* Clientside callback: trajectories arrived, fill both overlay templates at step k. */
  O.load = function (traj) {
    const S = O.state, nu = window.dash_clientside.no_update;
    if (!traj || !traj.runs) return [nu, nu];
    if (traj === S.arrived && traj === S.data) return [nu, nu]; // drawn on arrival
    if (traj === S.loaded) return [nu, nu]; // drawn already (the request hook's drawListed)
    S.loaded = traj;
    S.data = traj;
    S.runs = traj.runs;
    S.steps = traj.steps;
    S.k = stepFor(traj);
    if (drawInPlace(traj)) return [nu, nu];
    const top2 = JSON.parse(JSON.stringify(traj.contour_top));
    const top3 = JSON.parse(JSON.stringify(traj.surface_top));
    S.window = [top2.layout.xaxis.range.slice(), top2.layout.yaxis.range.slice()];
    const u2 = update2d(top2.data, S.k);
    u2.traces.forEach(function (i, j) { Object.assign(top2.data[i], u2.data[j]); });
    const u3 = update3d(top3.data, S.k);
    u3.traces.forEach(function (i, j) {
      top3.data[i].x = u3.update.x[j]; top3.data[i].y = u3.update.y[j]; top3.data[i].z = u3.update.z[j];
    });
    // keep the user's zoom and camera (mirrored from the background graphs)
    const view = I.backgroundView(top2.layout.uirevision);
    if (view.xrange) {
      top2.layout.xaxis.range = view.xrange;
      top2.layout.yaxis.range = view.yrange;
    }
    // the user's camera, unless the background is about to take the new scene's own
    if (view.camera && view.uirevision3d === top3.layout.uirevision) {
      top3.layout.scene.camera = view.camera;
    }
    I.drawLabels(S.k);
    setTimeout(function () { I.bindSync(); drawLossMarker(S.k); }, 50);
    S.templates = [traj.contour_top, traj.surface_top];
    // drawInPlace waits until dcc.Graph has plotted these very figures
    S.figRev = (S.figRev || 0) + 1;
    top2.layout.datarevision = top3.layout.datarevision = S.figRev;
    return [top2, top3];
  };

  Object.assign(I, {
    update2d: update2d, update3d: update3d, drawLossMarker: drawLossMarker,
    drawArrived: drawArrived,
  });
})();
