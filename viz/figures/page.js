/*
 * The standalone page's playback (viz/figures/page.py inlines it, with plotly.js and the
 * scene's data): play / pause, a scrub slider, the step counter, and both views drawn at
 * step k. Same drawing rules as the app's assets/optviz-*.js: the contour map is a static
 * background under a transparent overlay that alone is redrawn (Plotly.restyle of its
 * trails, dots and ✕ marks); the 3-D paths are redrawn at most ~12 times a second while
 * playing (software WebGL is slow) and exactly on pause and scrub. No Dash, no network.
 */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("optviz-data").textContent);
  const runs = D.runs, steps = D.steps;
  const S = { k: 0, playing: false, last: 0, acc: 0, next3d: 0, hold: 0 };
  window.optvizPage = S; // for tests and curious readers: the step shown, the state

  const el = (id) => document.getElementById(id);
  const upto = (r, k) => Math.min(k + 1, r.x.length);
  const roles = (fig) => {
    const out = {};
    fig.data.forEach((t, i) => {
      const m = t.meta || {};
      const key = m.run === undefined ? m.role : m.role + ":" + m.run;
      if (key) out[key] = i;
    });
    return out;
  };

  function draw2d(k) {
    const g = el("contour-top");
    if (!g) return Promise.resolve();
    const R = roles(D.contour_top), xs = [], ys = [], idx = [];
    runs.forEach((r, i) => {
      const n = upto(r, k);
      xs.push(r.x.slice(0, n));
      ys.push(r.y.slice(0, n));
      idx.push(R["trail:" + i]);
    });
    const dots = runs.map((r) => upto(r, k) - 1);
    xs.push(runs.map((r, i) => r.x[dots[i]]));
    ys.push(runs.map((r, i) => r.y[dots[i]]));
    idx.push(R.dots);
    const gone = runs.filter((r) => r.diverged_at !== null && k >= r.diverged_at);
    xs.push(gone.map((r) => r.x[upto(r, k) - 1]));
    ys.push(gone.map((r) => r.y[upto(r, k) - 1]));
    idx.push(R.crosses);
    return Plotly.restyle(g, { x: xs, y: ys }, idx);
  }

  function draw3d(k) {
    const g = el("surface");
    if (!g) return;
    const R = roles(D.surface), xs = [], ys = [], zs = [], idx = [];
    runs.forEach((r, i) => {
      const n = upto(r, k), z = r.z.slice(0, n);
      xs.push(r.x.slice(0, n).map((v, j) => (z[j] === null ? null : v)));
      ys.push(r.y.slice(0, n).map((v, j) => (z[j] === null ? null : v)));
      zs.push(z);
      idx.push(R["path:" + i]);
    });
    const now = runs.map((r) => upto(r, k) - 1);
    xs.push(runs.map((r, i) => (r.z[now[i]] === null ? null : r.x[now[i]])));
    ys.push(runs.map((r, i) => (r.z[now[i]] === null ? null : r.y[now[i]])));
    zs.push(runs.map((r, i) => r.z[now[i]]));
    idx.push(R.dots3d);
    Plotly.restyle(g, { x: xs, y: ys, z: zs }, idx);
  }

  function drawStrip(k) {
    const g = el("strip");
    if (!g) return;
    const moved = {};
    for (let i = 0; i < D.strip.markers; i++) {
      moved["shapes[" + i + "].x0"] = k;
      moved["shapes[" + i + "].x1"] = k;
    }
    Plotly.relayout(g, moved);
  }

  function show(k, exact) {
    S.k = Math.max(0, Math.min(k, steps));
    draw2d(S.k);
    const t = performance.now();
    if (exact || t >= S.next3d) {
      draw3d(S.k);
      drawStrip(S.k);
      S.next3d = t + Math.max(3 * (performance.now() - t), 80);
    }
    el("counter").textContent = "step " + S.k + " / " + steps;
    const sc = el("scrub");
    if (+sc.value !== S.k) sc.value = S.k;
  }

  function frame(t) {
    if (!S.playing) return;
    requestAnimationFrame(frame);
    const dt = S.last ? Math.min((t - S.last) / 1000, 0.1) : 0;
    S.last = t;
    if (S.hold > 0) { S.hold -= dt; return; }
    S.acc += dt * D.steps_per_second;
    if (S.acc < 1) return;
    const adv = Math.floor(S.acc);
    S.acc -= adv;
    let k = S.k + adv;
    if (k >= steps) {
      if (S.k >= steps) k = 0; // loop, after holding the last step a moment
      else { k = steps; S.hold = 1.0; }
    }
    show(k, k === steps);
  }

  function play(on) {
    S.playing = on;
    el("play").textContent = on ? "❚❚ Pause" : "▶ Play";
    el("play").setAttribute("aria-pressed", on ? "true" : "false");
    if (on) {
      if (S.k >= steps) show(0, true);
      S.last = 0;
      S.acc = 0;
      requestAnimationFrame(frame);
    } else {
      show(S.k, true);
    }
  }

  const config = { displaylogo: false, responsive: false, scrollZoom: false };
  const flat = { ...config, staticPlot: true };
  const plots = [];
  if (D.contour) {
    plots.push(Plotly.newPlot("contour-bg", D.contour.data, D.contour.layout, flat));
    plots.push(Plotly.newPlot("contour-top", D.contour_top.data, D.contour_top.layout, flat));
  }
  if (D.surface) {
    plots.push(Plotly.newPlot("surface", D.surface.data, D.surface.layout, config));
  }
  if (D.strip) {
    const F = D.strip.figure;
    plots.push(Plotly.newPlot("strip", F.data, F.layout, flat));
  }
  const sc = el("scrub");
  sc.max = steps;
  sc.addEventListener("input", () => { if (S.playing) play(false); show(+sc.value, true); });
  el("play").addEventListener("click", () => play(!S.playing));
  document.addEventListener("keydown", (e) => {
    if (e.target === sc) return;
    if (e.key === " ") { e.preventDefault(); play(!S.playing); }
  });
  Promise.all(plots).then(() => {
    show(D.start_step, true);
    document.body.dataset.ready = "1";
    if (D.autoplay) play(true);
  });
})();
