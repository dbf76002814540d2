/*
 * The request hook (a speed hook; everything works without it, one frame later).
 *
 * The recompute's answer carries the new runs (its TRAJ output). Before Dash hands them to
 * `load`, it applies every other output (scene store, loss plot, results, messages) and
 * starts the callbacks that follow them, all before the page can paint (~150 ms on a
 * 2-core machine). So window.fetch is wrapped to read the answer as it arrives: runs that
 * fit the overlays on screen are drawn at once (optviz-30-overlay.js drawArrived), and
 * Dash gets the answer after the frame that shows them. Only the newest recompute's answer
 * is drawn early (Dash may drop an older one); anything else goes through Dash as before.
 * The preset and surface lists answer with the new scene themselves (callbacks.drawn_now):
 * the newest such answer's runs are drawn in both overlays as it arrives (drawListed).
 *
 * It depends on Dash's wire format: a POST to _dash-update-component whose JSON body's
 * "output" names TRAJ's "data" ("..a.b...traj.data.." for several outputs), answered with
 * {"response": {TRAJ: {"data": {...runs...}}}}. `requestHook` counts what it saw and what
 * it recognised; tests/e2e/test_js.py fails when a real answer is not recognised.
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  const I = (O.internal = O.internal || {});
  const hook = (O.requestHook = {
    requests: 0, answers: 0, recognised: 0, drawn: 0, listed: 0, last: null,
  });
  let seq = 0;

  /* Whether a request is the recompute: its outputs include TRAJ's data. */
  function isRecompute(url, body) {
    if (typeof body !== "string" || String(url).indexOf("_dash-update-component") < 0) return false;
    const target = O.ids.TRAJ + ".data";
    if (body.indexOf(target) < 0) return false;
    let output = null;
    try { output = JSON.parse(body).output; } catch (e) { return false; }
    if (typeof output !== "string") return false;
    // several outputs: "..a.prop...b.prop.." (Dash's own separator); one: "a.prop"
    const parts = output.indexOf("..") === 0 ? output.slice(2, -2).split("...") : [output];
    return parts.indexOf(target) >= 0;
  }

  /* Whether a request is the preset or surface list's own: it answers with the new scene
     (TRAJ written a second time, and a token in the list's store). */
  function isListAnswer(url, body) {
    if (typeof body !== "string" || String(url).indexOf("_dash-update-component") < 0) return false;
    return [O.ids.PRESET_DRAWN, O.ids.SURFACE_DRAWN].some(function (id) {
      return body.indexOf("..." + id + ".data..") >= 0;
    });
  }

  /* The runs in a recompute's answer, or null when the answer is not of the shape read. */
  function runsOf(answer) {
    const out = answer && answer.response && answer.response[O.ids.TRAJ];
    const traj = out && out.data;
    return traj && Array.isArray(traj.runs) ? traj : null;
  }

  function afterFrame() {
    return new Promise(function (resolve) {
      let done = false;
      const go = function () { if (!done) { done = true; resolve(); } };
      requestAnimationFrame(function () {
        const ch = new MessageChannel();
        ch.port1.onmessage = go;
        ch.port2.postMessage(0);
      });
      setTimeout(go, 100); // no frames in a hidden tab: Dash must not wait for one
    });
  }

  // sliders follow their boxes after Dash has handled the answer (a task runs only once
  // Dash's promise chain that applies it has run)
  function flushLater() {
    setTimeout(function () { if (I.flushSliders) I.flushSliders(); }, 0);
  }

  function onAnswer(mine, data) {
    hook.answers++;
    const traj = runsOf(data);
    hook.last = {
      outputs: Object.keys((data && data.response) || {}),
      recognised: !!traj,
    };
    if (!traj) return false;
    hook.recognised++;
    let drawn = false;
    try {
      drawn = mine === seq && I.drawArrived(traj);
    } catch (e) {
      drawn = false; // Dash's own path (load) draws them
      setTimeout(function () { throw e; }, 0); // reported, not swallowed
    }
    if (drawn) hook.drawn++;
    return drawn;
  }

  /* A list's answer: its runs drawn in both overlays as it arrives, before Dash applies the
     rest (the backgrounds, the controls). Through a callback of Dash's, the drawing would
     wait for the callbacks the same answer starts (the recompute, the cards) to answer,
     and behind Dash's rendering of the controls; `load` later finds them drawn. */
  let listSeq = 0;
  function drawListed(p) {
    const mine = ++listSeq;
    return p.then(function (res) {
      if (!res || res.status !== 200 || typeof res.json !== "function") return res;
      const json0 = res.json.bind(res);
      res.json = function () {
        return json0().then(function (data) {
          const traj = mine === listSeq ? runsOf(data) : null, nu = dc.no_update;
          try {
            const figs = traj ? O.load(traj) : [nu, nu];
            if (figs[0] !== nu) dc.set_props(O.ids.CONTOUR_TOP, { figure: figs[0] });
            if (figs[1] !== nu) dc.set_props(O.ids.SURFACE3D_TOP, { figure: figs[1] });
            if (figs[0] !== nu) hook.listed++;
          } catch (e) {
            setTimeout(function () { throw e; }, 0); // reported; Dash's `load` draws them
          }
          return data;
        });
      };
      return res;
    });
  }

  if (window.fetch && !window.fetch.optviz) {
    const fetch0 = window.fetch;
    const wrapped = function (url, opts) {
      const p = fetch0.apply(this, arguments);
      if (isListAnswer(url, opts && opts.body)) return drawListed(p);
      if (!isRecompute(url, opts && opts.body)) return p;
      hook.requests++;
      const mine = ++seq;
      return p.then(function (res) {
        if (!res || res.status !== 200 || typeof res.json !== "function") {
          flushLater();
          return res;
        }
        const json0 = res.json.bind(res);
        res.json = function () {
          return json0().then(function (data) {
            if (!onAnswer(mine, data)) {
              flushLater();
              return data;
            }
            return afterFrame().then(function () {
              flushLater();
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
})();
