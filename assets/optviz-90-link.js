/* The playback step in the share link: `#v2=<scene>&k=<step>`.
 *
 * The scene part is written by the server (viz/ui/share.py); the step moves too often for
 * a round trip, so it is kept here: read from the address when the page (or a pasted link)
 * opens and shown once the runs are drawn, written back whenever the playback rests on a
 * step. Only the page's public DOM is used: the scrub range input, the step label and the
 * share-link box (through dash_clientside.set_props, so Dash knows the new value).
 */
(function () {
  "use strict";
  const IDS = window.dash_clientside.optviz.ids;
  const SCRUB = IDS.SCRUB, LABEL = IDS.STEP_LABEL, PLAY = IDS.PLAY, LINK = IDS.SHARE_LINK;
  const STEP = /&k=(\d+)$/;

  let wanted = null; // a link's step, until the runs it belongs to are drawn
  let before = null; // the share box's link when the step was asked for

  function stepOf(text) {
    const m = STEP.exec(text || "");
    return m ? +m[1] : null;
  }

  function shown() { // [step, steps] from "step k / n", or null before any run is drawn
    const el = document.getElementById(LABEL);
    const m = el && /step (\d+) \/ (\d+)/.exec(el.textContent || "");
    return m ? [+m[1], +m[2]] : null;
  }

  function box() {
    const el = document.getElementById(LINK);
    return el ? el.value || "" : "";
  }

  function want(text) {
    wanted = stepOf(text);
    before = box();
  }

  // The server writes the share box once the link's scene is computed (and never while
  // it is being applied): a new link in the box means the link's runs are the ones drawn.
  function seek() {
    const at = shown(), sc = document.getElementById(SCRUB);
    if (wanted === null || !at || !sc || at[1] < wanted) return;
    if (!box() || box() === before) return;
    sc.value = String(wanted);
    sc.dispatchEvent(new Event("input", { bubbles: true })); // the playback shows it
    wanted = null;
  }

  function record() {
    const link = box(), at = shown(), play = document.getElementById(PLAY);
    if (!link || !at || wanted !== null) return;
    if (play && play.classList.contains("playing")) return; // only a resting step is kept
    const base = link.replace(STEP, "");
    const next = at[0] > 0 ? base + "&k=" + at[0] : base;
    if (next !== link && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(LINK, { value: next });
    }
  }

  want(window.location.hash);
  window.addEventListener("hashchange", function () { want(window.location.hash); });
  window.setInterval(function () { seek(); record(); }, 250);
})();
