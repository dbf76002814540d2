"""Figures, GIF rendering, scene presets and the Dash app's parts."""
