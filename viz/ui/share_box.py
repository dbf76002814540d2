"""The share link's components: the box in the header and the stores behind it.

Apart from ``viz.ui.share`` (its callbacks) so that the layout can place them without
importing the callbacks.
"""

from __future__ import annotations

from dash import dcc, html

from viz.ui import ids

SHARE_PENDING = "share-pending"  # the link's scene while it is being applied
SHARE_WRITTEN = "share-written"  # dummy output of the address-bar update


def components() -> list:
    return [
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.SHARE_CAMERA),
        dcc.Store(id=SHARE_PENDING),
        dcc.Store(id=SHARE_WRITTEN),
    ]


def header_box() -> html.Div:
    return html.Div(
        [
            dcc.Input(id=ids.SHARE_LINK, type="text", readOnly=True, className="share-link"),
            dcc.Clipboard(
                target_id=ids.SHARE_LINK,
                id=ids.SHARE_COPY,
                title="copy a link to this exact picture",
                className="share-copy",
            ),
            html.Span("Copy link", className="share-copy-label"),
            html.Div(id=ids.SHARE_MSG, className="msg share-msg", role="alert"),
        ],
        className="share-box",
    )
