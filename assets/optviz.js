/*
 * optviz: the animation, entirely in the browser (namespace window.dash_clientside.optviz).
 *
 * The server sends trajectories once (dcc.Store "traj") together with two overlay
 * figure templates built in Python (viz/figures.py). Each overlay trace carries
 * meta.role; for step k we fill every role's data and update ONLY the transparent
 * overlay graphs laid over the static contour / surface:
 *   contour overlay: Plotly.animate(..., {redraw: false}) every animation frame;
 *   3-D overlay:     Plotly.restyle at most 20/s and a quarter of the time, exactly on pause
 *                    and step (software WebGL redraws are slow; the contour goes first).
 * The background graphs are never touched by the animation (their zoom and camera are
 * mirrored onto the overlays when the user changes them).
 */
(function () {
  "use strict";

  const ARROW = 0.09; // arrow length as a fraction of the window (viz.figures.ARROW_FRACTION)
  const IDS = {
    contour: "contour", contourTop: "contour-top", surface: "surface3d",
    surfaceTop: "surface3d-top", loss: "loss", play: "play", scrub: "scrub",
    stepLabel: "step-label",
  };

  const S = {
    data: null, runs: [], steps: 0, k: 0, playing: false, speed: 1, loop: true,
    arrows: false, next3d: 0, tick: 0, acc: 0, last: 0, raf: 0, hold: 0,
    method2d: "fast", busy2d: false,
    counters: { contour: 0, surface: 0, frames: 0 },
  };

  function gd(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    if (el.classList.contains("js-plotly-plot")) return el;
    return el.querySelector(".js-plotly-plot");
  }

  function lastIndex(r, k) {
    return Math.min(k, r.x.length - 1);
  }

  // ------------------------------------------------------------------ data for step k

  function arrowSegments(k, role) {
    const xs = [], ys = [], sizes = [];
    if (!S.arrows) return { x: xs, y: ys, "marker.size": sizes };
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
    return { x: xs, y: ys, "marker.size": sizes };
  }

  function update2d(data, k) {
    // one update object per overlay trace, by role
    const out = [], idx = [];
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
        u = { x: a.x, y: a.y, marker: Object.assign({}, t.marker, { size: a["marker.size"] }) };
      }
      if (u) { out.push(u); idx.push(i); }
    });
    return { data: out, traces: idx };
  }

  function update3d(data, k) {
    const xs = [], ys = [], zs = [], idx = [];
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

  // The fast path: rewrite the SVG of the trails and dots Plotly drew last time (their
  // `d` and `transform`), with the axes' own data-to-pixel maps, and keep gd.data in
  // step. Plotly itself only runs when the set of traces' contents changes shape
  // (a run diverges, arrows are shown) or when a step is shown exactly (pause, scrub).
  function fastDraw2d(g, k) {
    const fl = g._fullLayout;
    if (!fl || !fl.xaxis || !fl.xaxis.c2p) return false;
    // Plotly draws no group for an empty trace: map groups to traces by their d3 datum.
    const groups = {};
    g.querySelectorAll(".scatterlayer .trace.scatter").forEach(function (el) {
      const cd = el.__data__;
      if (cd && cd[0] && cd[0].trace) groups[cd[0].trace.index] = el;
    });
    const xa = fl.xaxis, ya = fl.yaxis;
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
          parts[j] = xa.c2p(r.x[j]).toFixed(1) + "," + ya.c2p(r.y[j]).toFixed(1);
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
            "translate(" + xa.c2p(r.x[q]).toFixed(1) + "," + ya.c2p(r.y[q]).toFixed(1) + ")");
        });
        g.data[i].x = xs;
        g.data[i].y = ys;
      }
    }
    return true;
  }

  function crossesKey(k) {
    return S.runs.map((r) => (r.diverged_at !== null && k >= r.diverged_at ? 1 : 0)).join("");
  }

  // method: "fast" (SVG fast path, Plotly for the rest when needed), "animate", "restyle"
  function draw2d(g, k, method) {
    if (!g || !g.data) return Promise.resolve();
    method = method || S.method2d;
    // What is drawn besides trails and dots (✕ marks, arrows); when it changes, Plotly
    // redraws every trace (animating only some traces after the fast path blanks the rest).
    const key = crossesKey(k) + (S.arrows ? "a" : "");
    if (method === "fast") {
      if (key === g._optvizKey && !S.arrows && fastDraw2d(g, k)) {
        S.counters.contour++;
        return Promise.resolve();
      }
      method = "animate";
    }
    g._optvizKey = key;
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
      for (const key in d) {
        if (key === "marker") continue;
        (keys[key] = keys[key] || new Array(u.data.length).fill(undefined))[j] = d[key];
      }
    });
    return Plotly.restyle(g, keys, u.traces);
  }

  function draw3d(g, k) {
    if (!g || !g.data) return;
    const u = update3d(g.data, k);
    if (!u.traces.length) return;
    S.counters.surface++;
    Plotly.restyle(g, u.update, u.traces);
  }

  // The loss plot's step marker (shapes[0], a vertical line). Moved in its SVG with the
  // axis' own map, as fastDraw2d moves the trails: Plotly.relayout would redraw the plot,
  // and its plotly_relayout event makes dcc.Graph report relayoutData to Dash and plot the
  // figure once more (~100 ms of the page's time per move on a 2-core machine).
  function drawLossMarker(k) {
    const g = gd(IDS.loss);
    if (!(g && g.layout && g.layout.shapes && g.layout.shapes.length)) return;
    const sh = g.layout.shapes[0], fl = g._fullLayout;
    if (sh.x0 === k && sh.x1 === k) return;
    const full = fl && fl.shapes && fl.shapes[0], xa = fl && fl.xaxis;
    const path = g.querySelector(".shapelayer path");
    const d = path && path.getAttribute("d");
    const m = d && /^M([-\d.e]+),([-\d.e]+)L([-\d.e]+),([-\d.e]+)$/.exec(d);
    if (!full || !xa || !xa.r2p || !m) {
      Plotly.relayout(g, { "shapes[0].x0": k, "shapes[0].x1": k });
      return;
    }
    sh.x0 = sh.x1 = full.x0 = full.x1 = k;  // where Plotly's next redraw puts it too
    const x = (xa._offset + xa.r2p(k)).toFixed(2);
    path.setAttribute("d", "M" + x + "," + m[2] + "L" + x + "," + m[4]);
  }

  function drawLabels(k) {
    const lab = document.getElementById(IDS.stepLabel);
    if (lab) lab.textContent = "step " + k + " / " + S.steps;
    const sc = document.getElementById(IDS.scrub);
    if (sc && document.activeElement !== sc) {
      if (+sc.max !== S.steps) sc.max = S.steps;
      sc.value = k;
    }
  }

  // The contour at S.k, one draw at a time (Plotly.animate resolves later). An exact draw
  // asked for while one is in flight (pause, then End) follows it, at the step shown then;
  // a playback frame's is dropped (the next frame draws).
  function draw2dShown(exact) {
    S.busy2d = true;
    const done = () => {
      S.busy2d = false;
      if (S.again2d) {
        S.again2d = false;
        draw2dShown(true);
      }
    };
    draw2d(gd(IDS.contourTop), S.k, exact ? "animate" : S.method2d).then(done, done);
  }

  // Draw step k; `exact` also brings the 3-D view and the loss marker up to date.
  function show(k, exact) {
    S.k = Math.max(0, Math.min(k, S.steps));
    S.tick++;
    if (!S.busy2d) draw2dShown(exact);
    else if (exact) S.again2d = true;
    // 3-D: exactly on pause/step; while playing, at most 20 times a second and for no
    // more than a quarter of the time (its redraw blocks the contour's frames)
    const now = performance.now();
    if (exact || now >= S.next3d) {
      draw3d(gd(IDS.surfaceTop), S.k);
      const took = performance.now() - now;
      S.next3d = now + Math.max(3 * took, 1000 / 20);
    }
    if (exact || S.tick % 15 === 0) drawLossMarker(S.k);
    drawLabels(S.k);
  }

  // ------------------------------------------------------------------ playback

  function stepsPerSecond() {
    // 1x plays the whole run in about 8 s (at least 20 steps a second)
    return Math.max(20, S.steps / 8) * S.speed;
  }

  function frame(t) {
    if (!S.playing) return;
    S.raf = requestAnimationFrame(frame);
    const dt = S.last ? Math.min((t - S.last) / 1000, 0.1) : 0;
    S.last = t;
    S.counters.frames++;
    if (S.hold > 0) { S.hold -= dt; return; }
    S.acc += dt * stepsPerSecond();
    if (S.acc < 1) return;
    const adv = Math.floor(S.acc);
    S.acc -= adv;
    let k = S.k + adv;
    if (k >= S.steps) {
      if (S.loop && S.k >= S.steps) { k = 0; } // restart after holding the last frame
      else {
        k = S.steps;
        if (S.loop) S.hold = 1.0; else { show(k, true); pause(); return; }
      }
    }
    show(k, false);
  }

  function setPlayButton() {
    const b = document.getElementById(IDS.play);
    if (b) {
      b.textContent = S.playing ? "❚❚" : "▶";
      b.classList.toggle("playing", S.playing);
      b.setAttribute("aria-pressed", S.playing ? "true" : "false");
    }
  }

  function play() {
    if (!S.runs.length) return;
    if (S.k >= S.steps) S.k = 0;
    S.playing = true; S.last = 0; S.acc = 0; S.hold = 0;
    setPlayButton();
    cancelAnimationFrame(S.raf);
    S.raf = requestAnimationFrame(frame);
  }

  function pause() {
    S.playing = false;
    cancelAnimationFrame(S.raf);
    setPlayButton();
    show(S.k, true);
  }

  // ------------------------------------------------------------------ linked views

  function bindSync() {
    // dcc.Graph re-plots the loss figure as Dash holds it (a new figure, or the user's
    // zoom): put the step marker back where the views are
    const gl = gd(IDS.loss);
    if (gl && gl.on && !gl._optvizBound) {
      gl._optvizBound = true;
      gl.on("plotly_afterplot", function () { drawLossMarker(S.k); });
    }
    const b2 = gd(IDS.contour);
    if (b2 && b2.on && !b2._optvizBound) {
      b2._optvizBound = true;
      const sync2 = function () {
        const t = gd(IDS.contourTop), fl = b2._fullLayout;
        if (!t || !t._fullLayout || !fl || !fl.xaxis) return;
        const xr = fl.xaxis.range, yr = fl.yaxis.range, tx = t._fullLayout.xaxis.range,
          ty = t._fullLayout.yaxis.range;
        if (xr[0] === tx[0] && xr[1] === tx[1] && yr[0] === ty[0] && yr[1] === ty[1]) return;
        Plotly.relayout(t, { "xaxis.range": xr.slice(), "yaxis.range": yr.slice() });
      };
      b2.on("plotly_relayout", sync2);
      b2.on("plotly_relayouting", sync2);
      b2.on("plotly_afterplot", sync2);
    }
    const b3 = gd(IDS.surface);
    if (b3 && b3.on && !b3._optvizBound) {
      b3._optvizBound = true;
      const sync3 = function (ev) {
        const t = gd(IDS.surfaceTop);
        if (!t || !t._fullLayout || !t._fullLayout.scene) return;
        const cam = (ev && ev["scene.camera"]) ||
          (b3._fullLayout && b3._fullLayout.scene && b3._fullLayout.scene._scene &&
            b3._fullLayout.scene._scene.getCamera());
        if (cam) Plotly.relayout(t, { "scene.camera": cam });
      };
      b3.on("plotly_relayout", sync3);
      b3.on("plotly_relayouting", sync3);
    }
  }

  function currentCamera() {
    const b3 = gd(IDS.surface);
    try {
      return b3._fullLayout.scene._scene.getCamera();
    } catch (e) {
      return null;
    }
  }

  // ------------------------------------------------------------------ keyboard

  document.addEventListener("keydown", function (e) {
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || (e.target && e.target.isContentEditable)) return;
    if (e.key === " ") { e.preventDefault(); S.playing ? pause() : play(); }
    else if (e.key === "ArrowRight") { if (S.playing) pause(); show(S.k + 1, true); }
    else if (e.key === "ArrowLeft") { if (S.playing) pause(); show(S.k - 1, true); }
    else if (e.key === "Home") { if (S.playing) pause(); show(0, true); }
    else if (e.key === "End") { if (S.playing) pause(); show(S.steps, true); }
  });

  document.addEventListener("input", function (e) {
    if (e.target && e.target.id === IDS.scrub) {
      if (S.playing) pause();
      show(+e.target.value, true);
    }
  });

  // ------------------------------------------------------------------ new runs, same frame

  // New runs whose overlay templates (everything but the runs' own data: start, window,
  // colours, labels, layout) are the ones drawn already — a hyperparameter, schedule or
  // noise change. Draw them now with the playback's own calls on the graphs as they are
  // (zoom and camera kept) and send no figures through Dash: a figure output re-plots
  // both graphs only after Dash has handled every other output and started the
  // follow-up callbacks (~200 ms later on a 2-core machine). The loss marker waits for
  // the frame that shows the views.
  function drawInPlace(traj) {
    const g2 = gd(IDS.contourTop), g3 = gd(IDS.surfaceTop);
    if (!S.templates || !g2 || !g3 || !g2.data || !g3.data) return false;
    // the figures last sent are on screen (a pending one would overwrite what is drawn here)
    if (!g2.layout || g2.layout.datarevision !== S.figRev ||
        !g3.layout || g3.layout.datarevision !== S.figRev) return false;
    if (g2.data.length !== traj.contour_top.data.length ||
        g3.data.length !== traj.surface_top.data.length) return false;
    if (JSON.stringify(S.templates[0]) !== JSON.stringify(traj.contour_top) ||
        JSON.stringify(S.templates[1]) !== JSON.stringify(traj.surface_top)) return false;
    S.templates = [traj.contour_top, traj.surface_top];
    // The contour: the playback's SVG fast path where it applies, made exact (Plotly's own
    // data for hover) once the frame showing it has gone out; otherwise restyle, which
    // draws at once (animate waits for its transition) but leaves arrowheads be.
    const key = crossesKey(S.k) + (S.arrows ? "a" : "");
    if (!S.arrows && key === g2._optvizKey && fastDraw2d(g2, S.k)) {
      requestAnimationFrame(function () {
        setTimeout(function () { if (!S.playing) draw2d(g2, S.k, "restyle"); }, 0);
      });
    } else {
      draw2d(g2, S.k, S.arrows ? "animate" : "restyle");
    }
    draw3d(g3, S.k);
    drawLabels(S.k);
    requestAnimationFrame(function () { setTimeout(function () { drawLossMarker(S.k); }, 0); });
    return true;
  }

  // ------------------------------------------------------------------ new runs, on arrival

  // The recompute's answer carries the new runs (its "traj" output). Before Dash hands them
  // to `load`, it applies every other output (scene store, loss plot, results table,
  // messages) and starts the callbacks that follow them, all before the page can paint
  // (~150 ms on a 2-core machine with this page's ~500 components). So the answer is read
  // here as it arrives: runs that fit the overlays on screen are drawn at once
  // (drawInPlace), and Dash gets the answer after the frame that shows them. Only the
  // newest recompute's answer is drawn early (an older one may be dropped by Dash); any
  // other answer, or runs that need new figures, go through Dash as before.
  const RECOMPUTE = '{"output":"..traj.data...';
  let recomputeSeq = 0;

  function afterFrame() {
    return new Promise(function (resolve) {
      let done = false;
      const go = function () { if (!done) { done = true; resolve(); } };
      requestAnimationFrame(function () {
        const ch = new MessageChannel();
        ch.port1.onmessage = go;
        ch.port2.postMessage(0);
      });
      setTimeout(go, 100);  // no frames in a hidden tab: Dash must not wait for one
    });
  }

  function drawArrived(data) {
    const traj = data && data.multi && data.response && data.response.traj &&
      data.response.traj.data;
    if (!traj || !traj.runs || S.data === traj) return false;
    const was = [S.data, S.runs, S.steps, S.k];
    S.arrivedAt = performance.now();
    S.data = traj;
    S.runs = traj.runs;
    S.steps = traj.steps;
    S.k = Math.min(S.k, S.steps);
    let drawn = false;
    try {
      drawn = drawInPlace(traj);
    } finally {
      if (!drawn) [S.data, S.runs, S.steps, S.k] = was;  // load draws them, as before
    }
    if (drawn) {
      S.arrived = traj;
      S.counters.arrived = (S.counters.arrived || 0) + 1;
    }
    return drawn;
  }

  if (window.fetch && !window.fetch.optviz) {
    const fetch0 = window.fetch;
    const wrapped = function (url, opts) {
      const p = fetch0.apply(this, arguments);
      const body = opts && opts.body;
      if (typeof body !== "string" || body.lastIndexOf(RECOMPUTE, 0) !== 0 ||
          String(url).indexOf("_dash-update-component") < 0) return p;
      const seq = ++recomputeSeq;
      return p.then(function (res) {
        if (!res || res.status !== 200 || typeof res.json !== "function") {
          setTimeout(flushSliders, 0);
          return res;
        }
        const json0 = res.json.bind(res);
        res.json = function () {
          return json0().then(function (data) {
            let drawn = false;
            try {
              drawn = seq === recomputeSeq && drawArrived(data);
            } catch (e) {
              drawn = false;  // Dash's own path (load) draws them
              setTimeout(function () { throw e; }, 0);  // reported, not swallowed
            }
            // sliders follow their boxes after Dash has handled the answer (a task runs
            // only once Dash's promise chain that applies it has run)
            if (!drawn) {
              setTimeout(flushSliders, 0);
              return data;
            }
            return afterFrame().then(function () {
              setTimeout(flushSliders, 0);
              return data;
            });
          });
        };
        return res;
      });
    };
    wrapped.optviz = true;
    window.fetch = wrapped;
  }

  // ------------------------------------------------------------------ typed values → sliders

  // A value typed into a hyperparameter's box (committed with Enter or by leaving the box,
  // as dcc.Input's debounce does) moves the slider beside it: log sliders hold log10 of the
  // value. Set with set_props once the recompute's answer has been handled: as a Dash
  // callback with the box among its outputs, it made Dash hold the recompute's request
  // until it had run (the recompute reads every box), and its store updates would hold up
  // the answer while it is awaited.
  function hyperBoxId(el) {
    if (!el || el.tagName !== "INPUT" || !el.id || el.id.charAt(0) !== "{") return null;
    let id = null;
    try { id = JSON.parse(el.id); } catch (e) { return null; }
    return id && id.type === "hyper" && id.opt && id.name ? id : null;
  }

  // the slider position for a typed value, or null where the slider cannot show it
  function sliderFromText(text, log) {
    const t = String(text === null || text === undefined ? "" : text).trim();
    const x = parseFloat(t);
    if (t === "" || !isFinite(x) || isNaN(Number(t))) return null;
    if (log) return x > 0 ? Math.log10(x) : null;
    return x;
  }

  function sliderOf(id) {
    const sid = { name: id.name, opt: id.opt, type: "hyper-slider" };
    return { id: sid, el: document.getElementById(JSON.stringify(sid)) };
  }

  function syncSlider(el, id, text) {
    const row = el.closest(".hyper-row");
    const v = sliderFromText(text, !!(row && row.classList.contains("log")));
    if (v === null) return;
    const s = sliderOf(id);
    if (!s.el) return;
    const h = s.el.querySelector("[aria-valuenow]");  // where the slider is now
    const at = h ? parseFloat(h.getAttribute("aria-valuenow")) : NaN;
    if (Math.abs(at - v) <= 1e-12 * Math.max(1, Math.abs(v))) return;
    window.dash_clientside.set_props(s.id, { value: v });
  }

  // Sliders move once the recompute's answer has been handled (flushSliders), so their
  // updates take no page time while the answer is awaited or the new runs are drawn;
  // at the latest after a second (a commit that started no recompute).
  const pendingSliders = new Map();
  let sliderTimer = 0;

  function flushSliders() {
    clearTimeout(sliderTimer);
    const jobs = Array.from(pendingSliders.values());
    pendingSliders.clear();
    for (const [el, id, text] of jobs) {
      // the box still shows what was committed (not what a moved slider wrote there since)
      if (el.isConnected && el.value === text) syncSlider(el, id, text);
    }
  }

  function hyperCommitted(el) {
    const id = hyperBoxId(el);
    if (!id) return;
    pendingSliders.set(el, [el, id, el.value]);
    clearTimeout(sliderTimer);
    sliderTimer = setTimeout(flushSliders, 1000);
  }

  document.addEventListener("keypress", function (e) {
    if (e.key === "Enter") hyperCommitted(e.target);
  });
  document.addEventListener("focusout", function (e) { hyperCommitted(e.target); });

  // ------------------------------------------------------------------ clientside callbacks

  function fmtNumber(v) {
    return String(parseFloat(Number(v).toPrecision(3)));
  }

  const api = {
    state: S,
    show: show,
    play: play,
    pause: pause,
    draw2d: draw2d,
    draw3d: draw3d,
    gd: gd,

    /* trajectories arrived: fill both overlay templates at the current step */
    load: function (traj) {
      const nu = window.dash_clientside.no_update;
      if (!traj || !traj.runs) return [nu, nu];
      if (traj === S.arrived && traj === S.data) return [nu, nu];  // drawn on arrival
      S.data = traj;
      S.runs = traj.runs;
      S.steps = traj.steps;
      S.k = Math.min(S.k, S.steps);
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
      const b2 = gd(IDS.contour);
      if (b2 && b2._fullLayout && b2._fullLayout.xaxis &&
          b2.layout && b2.layout.uirevision === top2.layout.uirevision) {
        top2.layout.xaxis.range = b2._fullLayout.xaxis.range.slice();
        top2.layout.yaxis.range = b2._fullLayout.yaxis.range.slice();
      }
      const cam = currentCamera();
      if (cam) top3.layout.scene.camera = cam;
      drawLabels(S.k);
      setTimeout(function () { bindSync(); drawLossMarker(S.k); }, 50);
      S.templates = [traj.contour_top, traj.surface_top];
      // drawInPlace waits until dcc.Graph has plotted these very figures
      S.figRev = (S.figRev || 0) + 1;
      top2.layout.datarevision = top3.layout.datarevision = S.figRev;
      return [top2, top3];
    },

    /* the analysis tabs: every pane stays mounted, only the chosen one is shown */
    showPane: function (value, paneIds) {
      // hidden panes keep their width (height 0, not display: none) so their graphs lay out
      const hidden = { visibility: "hidden", height: 0, overflow: "hidden" };
      const out = (paneIds || []).map((i) => (i.tab === value ? {} : hidden));
      // graphs that were hidden have no size yet: let them measure themselves
      setTimeout(function () { window.dispatchEvent(new Event("resize")); }, 30);
      return out;
    },

    /* playback buttons, speed, loop and arrows */
    controls: function (play_, back, fwd, first, end, speed, loop, arrows) {
      const trig = (window.dash_clientside.callback_context.triggered || []).map((t) => t.prop_id);
      S.speed = +speed || 1;
      S.loop = (loop || []).indexOf("on") >= 0;
      const arrowsNow = (arrows || []).indexOf("on") >= 0;
      const had = S.arrows;
      S.arrows = arrowsNow;
      bindSync();
      for (const p of trig) {
        if (p === "play.n_clicks" && play_) { S.playing ? pause() : play(); }
        else if (p === "step-back.n_clicks" && back) { if (S.playing) pause(); show(S.k - 1, true); }
        else if (p === "step-forward.n_clicks" && fwd) { if (S.playing) pause(); show(S.k + 1, true); }
        else if (p === "to-start.n_clicks" && first) { if (S.playing) pause(); show(0, true); }
        else if (p === "to-end.n_clicks" && end) { if (S.playing) pause(); show(S.steps, true); }
      }
      if (had !== arrowsNow && S.runs.length) show(S.k, true);
      document.body.classList.toggle("show-arrows", arrowsNow);
      return window.dash_clientside.no_update;
    },

    /* a moved hyperparameter slider: its value into the box beside it (the box is what
       the recompute reads); a value typed into the box moves the slider (hyperCommitted) */
    hyperFromSlider: function (slider, text, className) {
      const nu = window.dash_clientside.no_update;
      if (slider === null || slider === undefined) return nu;
      const v = (className || "").indexOf("log") >= 0 ? Math.pow(10, slider) : slider;
      const cur = parseFloat(text);
      if (isFinite(cur) && Math.abs(cur - v) <= 1e-3 * Math.abs(v)) return nu;
      return fmtNumber(v);
    },

    /* benchmark: draw as fast as the browser paints, for `seconds`; resolve the counts */
    benchLoop: function (id, kind, seconds, method) {
      return new Promise(function (resolve) {
        const g = gd(id) || document.getElementById(id);
        let k = 0, frames = 0, draws = 0, busy = false;
        const t0 = performance.now();
        function tick(t) {
          frames++;
          if (t - t0 >= seconds * 1000) {
            resolve({ frames: frames, draws: draws, seconds: (t - t0) / 1000 });
            return;
          }
          k = (k + 1) % (S.steps + 1);
          if (kind === "3d") {
            const u = update3d(g.data, k);
            Plotly.restyle(g, u.update, u.traces);
            draws++;
          } else if (!busy) {
            busy = true;
            draw2d(g, k, method).then(function () { busy = false; draws++; },
              function () { busy = false; });
          }
          requestAnimationFrame(tick);
        }
        requestAnimationFrame(tick);
      });
    },
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, { optviz: api });
})();
