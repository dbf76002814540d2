/*
 * Playback: the clock (requestAnimationFrame), play / pause / step / scrub, the keyboard
 * shortcuts and the playback buttons' clientside callback (`controls`).
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  const I = (O.internal = O.internal || {});

  function drawLabels(k) {
    const S = O.state;
    const lab = document.getElementById(O.ids.STEP_LABEL);
    if (lab) lab.textContent = "step " + k + " / " + S.steps;
    const sc = document.getElementById(O.ids.SCRUB);
    if (sc) {
      // also while it has focus: its keys (arrows, space to play) move the playback
      if (+sc.max !== S.steps) sc.max = S.steps;
      if (+sc.value !== k) sc.value = k;
    }
  }

  // The contour at S.k, one draw at a time (Plotly.animate resolves later). An exact draw
  // asked for while one is in flight (pause, then End) follows it, at the step shown then;
  // a playback frame's is dropped (the next frame draws).
  function draw2dShown(exact) {
    const S = O.state;
    S.busy2d = true;
    const done = () => {
      S.busy2d = false;
      if (S.again2d) {
        S.again2d = false;
        draw2dShown(true);
      }
    };
    O.draw2d(O.gd(O.ids.CONTOUR_TOP), S.k, exact ? "animate" : "fast").then(done, done);
  }

  /* Draw step k; `exact` also brings the 3-D view and the loss marker up to date. */
  O.show = function (k, exact) {
    const S = O.state;
    S.k = Math.max(0, Math.min(k, S.steps));
    S.tick++;
    if (!S.busy2d) draw2dShown(exact);
    else if (exact) S.again2d = true;
    // 3-D: exactly on pause/step; while playing, at most 20 times a second and for no
    // more than a quarter of the time (its redraw blocks the contour's frames)
    const now = performance.now();
    if (exact || now >= S.next3d) {
      O.draw3d(O.gd(O.ids.SURFACE3D_TOP), S.k);
      const took = performance.now() - now;
      S.next3d = now + Math.max(3 * took, 1000 / 20);
    }
    if (exact || S.tick % 15 === 0) I.drawLossMarker(S.k);
    drawLabels(S.k);
  };

  function stepsPerSecond() {
    // 1x plays the whole run in about 8 s (at least 20 steps a second)
    const S = O.state;
    return Math.max(20, S.steps / 8) * S.speed;
  }

  function frame(t) {
    const S = O.state;
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
        if (S.loop) S.hold = 1.0; else { O.show(k, true); O.pause(); return; }
      }
    }
    O.show(k, false);
  }

  function setPlayButton() {
    const S = O.state, b = document.getElementById(O.ids.PLAY);
    if (b) {
      b.textContent = S.playing ? "❚❚" : "▶";
      b.classList.toggle("playing", S.playing);
      b.setAttribute("aria-pressed", S.playing ? "true" : "false");
    }
  }

  O.play = function () {
    const S = O.state;
    if (!S.runs.length) return;
    if (S.k >= S.steps) S.k = 0;
    S.playing = true; S.last = 0; S.acc = 0; S.hold = 0;
    setPlayButton();
    cancelAnimationFrame(S.raf);
    S.raf = requestAnimationFrame(frame);
  };

  /* Playback stops where it is; nothing is drawn (new runs are about to be). */
  O.stop = function () {
    O.state.playing = false;
    cancelAnimationFrame(O.state.raf);
    setPlayButton();
  };

  O.pause = function () {
    O.stop();
    O.show(O.state.k, true);
  };

  function toggle() {
    if (O.state.playing) O.pause(); else O.play();
  }

  function stepTo(k) {
    if (O.state.playing) O.pause();
    O.show(k, true);
  }

  // ------------------------------------------------------------------ keyboard

  // Widgets that own their keys (a hyperparameter slider's arrows move that slider, a
  // dropdown's move its options): playback leaves them be.
  const WIDGET_ROLES = new Set(["slider", "spinbutton", "combobox", "listbox", "option",
    "textbox", "menu", "menuitem", "radio", "tab", "grid", "tree"]);

  /* Whether a key pressed with `el` focused is a playback shortcut: yes on the page, the
     scrub range and the playback buttons; no in anything the user types into or that
     handles its own keys (other buttons keep space and Enter for clicking). */
  function keysArePlaybacks(el) {
    if (!el || el === document.body || el === document.documentElement) return true;
    const ids = O.ids;
    const own = [ids.SCRUB, ids.PLAY, ids.STEP_BACK, ids.STEP_FORWARD, ids.TO_START, ids.TO_END];
    if (own.indexOf(el.id) >= 0) return true;
    if (el.isContentEditable) return false;
    const tag = el.tagName;
    if (["TEXTAREA", "SELECT", "BUTTON", "A"].indexOf(tag) >= 0) return false;
    if (tag === "INPUT") return false; // text, or a control whose keys are its own
    const role = el.getAttribute && el.getAttribute("role");
    if (role && WIDGET_ROLES.has(role)) return false;
    return !(el.closest && el.closest("[role=combobox], [role=listbox], .dash-dropdown"));
  }

  const KEYS = {
    " ": toggle,
    ArrowRight: () => stepTo(O.state.k + 1),
    ArrowLeft: () => stepTo(O.state.k - 1),
    Home: () => stepTo(0),
    End: () => stepTo(O.state.steps),
  };

  document.addEventListener("keydown", function (e) {
    const act = KEYS[e.key];
    if (!act || e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
    if (!keysArePlaybacks(e.target)) return;
    // the scrub's own arrows/Home/End and a focused button's space-click would act twice
    e.preventDefault();
    if (!O.state.runs.length) return;
    act();
  });

  document.addEventListener("input", function (e) {
    if (e.target && e.target.id === O.ids.SCRUB) stepTo(+e.target.value);
  });

  // ------------------------------------------------------------------ playback buttons

  /* Clientside callback: playback buttons, speed, loop and arrows. */
  O.controls = function (play_, back, fwd, first, end, speed, loop, arrows) {
    const S = O.state, ids = O.ids;
    const trig = (window.dash_clientside.callback_context.triggered || []).map((t) => t.prop_id);
    S.speed = +speed || 1;
    S.loop = (loop || []).indexOf("on") >= 0;
    const arrowsNow = (arrows || []).indexOf("on") >= 0;
    const had = S.arrows;
    S.arrows = arrowsNow;
    I.bindSync();
    const clicked = (id, n) => n && trig.indexOf(id + ".n_clicks") >= 0;
    if (clicked(ids.PLAY, play_)) toggle();
    if (clicked(ids.STEP_BACK, back)) stepTo(S.k - 1);
    if (clicked(ids.STEP_FORWARD, fwd)) stepTo(S.k + 1);
    if (clicked(ids.TO_START, first)) stepTo(0);
    if (clicked(ids.TO_END, end)) stepTo(S.steps);
    if (had !== arrowsNow && S.runs.length) O.show(S.k, true);
    document.body.classList.toggle("show-arrows", arrowsNow);
    return window.dash_clientside.no_update;
  };

  I.drawLabels = drawLabels;
})();
