"""Untrusted text (titles, file names, run names, URL values, error messages quoting them) made safe for the
Streamlit sinks that would otherwise read it as markup.

Streamlit renders the text of captions, alerts, markdown, titles and widget labels as GitHub-flavoured
Markdown with its own extensions (`:red[...]`, `:material/icon:`, `$math$`), so a movie title such as
`[Log in](https://evil.example)` or `![x](http://host/p.png)` would become a link or fetch an image.
`md()` backslash-escapes every ASCII punctuation character (CommonMark allows escaping any of them, and
the escaped text reads the same). Escapes do not stop GitHub's autolinks, though: Streamlit's renderer
turns a bare `https://...`, `www.` address or e-mail address in the text into a link after the escapes
are resolved (seen in the browser test). So `md()` also puts an invisible WORD JOINER (U+2060) inside
those patterns (`https:⁠//`, `www⁠.`, `⁠@`), which no reader sees and no autolink matches. Newlines become
spaces, so text cannot start a heading or a list. Plotly's sink has its own helper (collab_app.charts.label)
and CSV cells theirs (collab_core.runs.export.csv_cell).
"""
from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_AUTOLINK_STARTS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)  # where a joiner goes
WORD_JOINER = "\u2060"


MISSING = "–"  # how a missing value reads: every table passes it to st.dataframe as its placeholder


def md(value) -> str:
    """`value` as text that Streamlit's Markdown shows literally: no formatting, no link, no image."""
    text = _LINE_BREAKS.sub(" ", str(value))
    text = _AUTOLINK_STARTS.sub(WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)
