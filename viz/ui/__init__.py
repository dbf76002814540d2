"""The Dash UI: the only package that imports dash (ids, layout, callbacks, panels)."""
