/*
 * Hyperparameter slider ↔ box. The box is the source of truth (the recompute reads it);
 * log sliders hold log10 of the value.
 *   slider → box: the clientside callback `hyperFromSlider`;
 *   box → slider: a value committed in the box (Enter, or leaving it, as dcc.Input's
 *   debounce does) moves its slider with set_props once the recompute's answer has been
 *   handled (flushSliders, called by optviz-70-request-hook.js). As a Dash callback with
 *   the box among its outputs, it made Dash hold the recompute's request until it had run,
 *   and its store updates would hold up the answer while it is awaited.
 */
(function () {
  "use strict";
  const dc = (window.dash_clientside = window.dash_clientside || {});
  const O = (dc.optviz = dc.optviz || {});
  const I = (O.internal = O.internal || {});
  const SLIDER_DIGITS = 3; // a log slider's step (0.01 in log10) moves the value by 2.3 %

  function hyperBoxId(el) {
    if (!el || el.tagName !== "INPUT" || !el.id || el.id.charAt(0) !== "{") return null;
    let id = null;
    try { id = JSON.parse(el.id); } catch (e) { return null; }
    return id && id.type === O.ids.HYPER && id.opt && id.name ? id : null;
  }

  /* The slider position for a typed value, or null where the slider cannot show it. */
  function sliderFromText(text, log) {
    const t = String(text === null || text === undefined ? "" : text).trim();
    const x = parseFloat(t);
    if (t === "" || !isFinite(x) || isNaN(Number(t))) return null;
    if (log) return x > 0 ? Math.log10(x) : null;
    return x;
  }

  function syncSlider(el, id, text) {
    const row = el.closest(".hyper-row");
    const v = sliderFromText(text, !!(row && row.classList.contains("log")));
    if (v === null) return;
    // key order of Dash's own element ids for a dict id: sorted
    const sid = { name: id.name, opt: id.opt, type: O.ids.HYPER_SLIDER };
    const slider = document.getElementById(JSON.stringify(sid));
    if (!slider) return;
    const h = slider.querySelector("[aria-valuenow]"); // where the slider is now
    const at = h ? parseFloat(h.getAttribute("aria-valuenow")) : NaN;
    if (Math.abs(at - v) <= 1e-12 * Math.max(1, Math.abs(v))) return;
    window.dash_clientside.set_props(sid, { value: v });
  }

  // Sliders move once the recompute's answer has been handled, so their updates take no
  // page time while the answer is awaited or the new runs are drawn; at the latest after
  // a second (a commit that started no recompute).
  const pending = new Map();
  let timer = 0;

  I.flushSliders = function () {
    clearTimeout(timer);
    const jobs = Array.from(pending.values());
    pending.clear();
    for (const [el, id, text] of jobs) {
      // the box still shows what was committed (not what a moved slider wrote there since)
      if (el.isConnected && el.value === text) syncSlider(el, id, text);
    }
  };

  function committed(el) {
    const id = hyperBoxId(el);
    if (!id) return;
    pending.set(el, [el, id, el.value]);
    clearTimeout(timer);
    timer = setTimeout(I.flushSliders, 1000);
  }

  document.addEventListener("keypress", function (e) {
    if (e.key === "Enter") committed(e.target);
  });
  document.addEventListener("focusout", function (e) { committed(e.target); });

  /* Clientside callback: a moved slider writes its value into the box beside it, as the
     Python side writes numbers (%g), to the slider's resolution. */
  O.hyperFromSlider = function (slider, text, className) {
    const nu = window.dash_clientside.no_update;
    if (slider === null || slider === undefined) return nu;
    const v = (className || "").indexOf("log") >= 0 ? Math.pow(10, slider) : slider;
    const cur = parseFloat(text);
    if (isFinite(cur) && Math.abs(cur - v) <= 1e-3 * Math.abs(v)) return nu;
    return I.fmtG(v, SLIDER_DIGITS);
  };
})();
