/*
 * Progress bars of the analysis panels (viz/ui/progress.py). A request pending for a
 * while is asked after every POLL_MS; the server answers with its budget's reports, and
 * a bar shows how far the panel's request has got until its answer arrives.
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  const CLS = "export-progress analysis-progress";
  const DRAW_MS = 15000;

  function fired() {
    const ctx = dc.callback_context;
    return ((ctx && ctx.triggered) || []).map((t) => String(t.prop_id).split(".")[0]);
  }

  /* A panel's request was sent: note when (a choice counts once its button was pressed). */
  O.progressStart = function (triggers, buttons, args) {
    const n = triggers.length;
    const clicks = {};
    buttons.forEach((b, i) => { clicks[b] = args[n + i]; });
    const pending = Object.assign({}, args[args.length - 1] || {});
    const ids = fired();
    let changed = false;
    triggers.forEach(([panel, id, button]) => {
      if (ids.indexOf(id) < 0 || (button && !clicks[button])) return;
      pending[panel] = Date.now();
      changed = true;
    });
    return changed ? pending : dc.no_update;
  };

  /* A panel's answer arrived: it no longer waits. */
  O.progressEnd = function (ends, args) {
    const pending = Object.assign({}, args[args.length - 1] || {});
    const ids = fired();
    let changed = false;
    ends.forEach(([panel, id]) => {
      if (ids.indexOf(id) >= 0 && panel in pending) {
        delete pending[panel];
        changed = true;
      }
    });
    return changed ? pending : dc.no_update;
  };

  /* Every tick: ask after the panels that have waited showAfter ms or more, once the last
   * ask is answered (or lost: retryMs). Dash drops the answer of a callback that fired
   * again before it came back, so asks faster than the round trip would draw nothing. */
  O.progressAsk = function (pending, showAfter, retryMs, asked, seen) {
    const now = Date.now();
    const t = asked && asked.t;
    if (t && !(seen && seen.t >= t) && now - t < retryMs) return dc.no_update;
    const panels = Object.keys(pending || {}).filter((p) => now - pending[p] >= showAfter);
    return panels.length ? { panels: panels, t: now } : dc.no_update;
  };

  function label(r) {
    if (r.f >= 1) return "computed in " + r.s.toFixed(1) + " s · drawing…";
    let text = Math.floor(100 * r.f) + " % · " + r.s.toFixed(1) + " s";
    if (r.f >= 0.05 && r.f < 1) {
      text += " · about " + Math.max(1, Math.round((r.s * (1 - r.f)) / r.f)) + " s left";
    }
    return text;
  }

  /* The bars: shown for a panel still waiting whose report is newer than its request. */
  O.progressDraw = function (order, seen, pending, waitMs) {
    const now = Date.now();
    const cls = [], val = [], lab = [];
    let waiting = false;
    order.forEach((p) => {
      const since = pending && pending[p];
      const live = since && now - since < waitMs;
      if (live) waiting = true;
      const r = live && seen && seen.t >= since && seen.panels && seen.panels[p];
      // done: the answer is on its way (drawn, sent); if it got lost, stop after DRAW_MS
      const show = r && !(r.done && now - since > 1000 * r.s + DRAW_MS);
      cls.push(show ? CLS + " running" : CLS);
      val.push(show ? r.f : 0);
      lab.push(show ? label(r) : "");
    });
    return [!waiting].concat(cls, val, lab);
  };
})();
