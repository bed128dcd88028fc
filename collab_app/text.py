"""Untrusted text (titles, file names, run names, URL values, error messages quoting them) made safe for the
Streamlit sinks that would otherwise read it as markup.

Streamlit renders the text of captions, alerts, markdown, titles and widget labels as GitHub-flavoured
Markdown with its own extensions (`:red[...]`, `:material/icon:`, `$math$`), so a movie title such as
`[Log in](https://evil.example)` or `![x](http://host/p.png)` would become a link or fetch an image.
`md()` backslash-escapes every ASCII punctuation character (CommonMark allows escaping any of them, and
the escaped text reads the same), which also breaks bare-URL autolinks (`http\\://...`). Newlines become
spaces, so text cannot start a heading or a list. Plotly's sink has its own helper (collab_app.charts.label)
and CSV cells theirs (collab_core.export.csv_cell).
"""
from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def md(value) -> str:
    """`value` as text that Streamlit's Markdown shows literally."""
    return _PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(value)))
