"""The browser behind a session: who it is (an owner id that survives a reload and is shared by its tabs) and one
rule for its history. Both come from one small component (st.components.v2) that the frame mounts on every run.

Owner: a reload or a second tab is a new Streamlit session, so anything kept per session (the training a tab
started, the settings it typed) would be lost on a reload. Each browser gets a random id instead, kept in its local
storage and in a cookie: the cookie reaches the server with the first request of every later session
(st.context.cookies), so a reloaded page knows its owner from its first script run; the local storage wins when
the two disagree (the cookie was cleared). A browser seen for the first time takes the id this server proposed for
it. The id is random (never a name) and only says "the same browser as before". It is no credential for host
powers: the cookie goes to every port of the same host name (any other app on the machine), so the host's browser
is known by a separate host pass (collab_app.access) that the component keeps in local storage only (per origin,
port included) and reports with the owner.

History: Streamlit pushes a new history entry whenever the query string changes, so the page's own sync of its
options into the address (state.to_url) would add a second entry to every page visit, and Back would need two or
three presses per page. There is no public setting for this, so this is the one place that works around it: the
component wraps `history.pushState` once per document. A change of page pushes an entry, as Streamlit does; a change of
the query alone replaces the query of the current entry, a moment later and once the script run is over: during a
page change Streamlit writes the new page's query a little before it pushes the new page's path (which then
carries that query), and written at once it would rewrite the previous page's entry. "Over" is read from the
`data-test-script-state` attribute Streamlit keeps on its app element (the attribute its own browser tests and
ours wait on). One page visit is one entry; the address still
follows the view, so a copied link reproduces it, and Back and Forward step one page at a time. Until the
component has run (the first script run of a fresh page), the address is left as the browser sent it (`ready()`),
so that no sync slips in before the wrapper. The frame draws nothing in that first run; the component ends it at
once by reporting, so the page is drawn once and no one-shot message is shown in a run that is then replaced.
"""
from __future__ import annotations

import re
import secrets

import streamlit as st

COOKIE = "collab_owner"
_OWNER_PATTERN = re.compile(r"[0-9a-f]{32}")
_KEY = "_browser"  # the component's state: {"owner": ..., "ready": ...}
_PROPOSED = "_proposed_owner"  # the id this server proposes to a browser it has not seen
_PASS_TO_KEEP = "_host_pass_to_keep"  # a host pass on its way to the browser's storage

_JS = r"""
export default function (component) {
  const { data, setStateValue } = component;
  if (!window.__collabHistory) {  // once per document; see the module docstring
    window.__collabHistory = true;
    const push = window.history.pushState.bind(window.history);
    const replace = window.history.replaceState.bind(window.history);
    const running = () => ["running", "rerunRequested"].includes(
      document.querySelector("[data-testid='stApp']")?.getAttribute("data-test-script-state"));
    let query = null;  // the newest query string asked for and not yet written
    let timer = null;
    const flush = () => {
      timer = null;
      if (query === null) return;
      if (running()) { timer = setTimeout(flush, 250); return; }
      replace(window.history.state, "", window.location.pathname + query + window.location.hash);
      query = null;
    };
    window.history.pushState = function (state, title, url) {
      const next = new URL(url, window.location.href);
      if (next.pathname !== window.location.pathname) {  // another page: a new entry, with the newest query
        query = null;
        return push(state, title, url);
      }
      query = next.search;  // the same page, or so it seems while the next page's path is on its way: later
      if (timer === null) timer = setTimeout(flush, 250);
    };
    // Back or Forward: a query still waiting belongs to the page just left, not to the entry now shown
    window.addEventListener("popstate", () => { query = null; });
    // whether an address is still to be written (browser tests wait for it: collab_core.bench.harness)
    window.__collabAddressPending = () => query !== null;
  }
  let owner = null;
  try {
    owner = window.localStorage.getItem(data.storage_key);
  } catch (error) {}  // storage refused (a locked-down browser): the cookie alone
  if (!/^[0-9a-f]{32}$/.test(owner || "")) {
    owner = data.proposed;
    try { window.localStorage.setItem(data.storage_key, owner); } catch (error) {}
  }
  document.cookie = `${data.cookie}=${owner}; path=/; max-age=31536000; SameSite=Lax`;
  // the host pass: local storage only (per origin, port included), never a cookie; see host_pass()
  let pass = null;
  try {
    if (data.host_pass) window.localStorage.setItem(data.host_key, data.host_pass);
    pass = window.localStorage.getItem(data.host_key);
  } catch (error) {}
  setStateValue("host", /^[A-Za-z0-9_-]{20,100}$/.test(pass || "") ? pass : null);
  setStateValue("owner", owner);
  setStateValue("ready", true);
}
"""
_component = st.components.v2.component("collab_browser", js=_JS)


def _nothing() -> None:
    """The component's state changes need a callback to be accepted; the frame reads the state itself."""


def connect() -> None:
    """Mount the component (the frame calls this first on every run; it draws nothing, in the sidebar)."""
    with st.sidebar:
        _component(key=_KEY, data={"proposed": _proposed(), "cookie": COOKIE, "storage_key": "collab-owner",
                                   "host_key": "collab-host", "host_pass": _pass_to_keep()},
                   default={"owner": None, "ready": False, "host": None}, height=0, on_owner_change=_nothing,
                   on_ready_change=_nothing, on_host_change=_nothing)


def keep_host_pass(value: str) -> None:
    """Have this browser keep `value` (collab_server.rules.HostPasses) in its local storage, from the next run on,
    until it reports it back."""
    st.session_state[_PASS_TO_KEEP] = value


def host_pass() -> str | None:
    """The host pass this browser keeps, if any (checked by collab_app.access, not here)."""
    return (st.session_state.get(_KEY) or {}).get("host")


def _pass_to_keep() -> str | None:
    value = st.session_state.get(_PASS_TO_KEEP)
    if value is not None and host_pass() == value:  # kept: no need to send it again
        st.session_state.pop(_PASS_TO_KEEP)
        return None
    return value


def owner() -> str:
    """This browser's id (see `choose_owner`)."""
    return choose_owner((st.session_state.get(_KEY) or {}).get("owner"), st.context.cookies.get(COOKIE), _proposed())


def choose_owner(reported, cookie, proposed: str) -> str:
    """What the browser's storage reported, else its cookie, else the id this server proposed to it; a value that
    is not an id (a forged or damaged cookie) is not one."""
    return next(value for value in (reported, cookie, proposed) if _valid(value) or value is proposed)


def ready() -> bool:
    """Whether the address may be written: the component has run in this page, or no browser runs scripts here
    (AppTest and other clients without a browser: nothing would ever report)."""
    return bool((st.session_state.get(_KEY) or {}).get("ready")) or not st.context.headers


def _proposed() -> str:
    if _PROPOSED not in st.session_state:
        cookie = st.context.cookies.get(COOKIE)
        st.session_state[_PROPOSED] = cookie if _valid(cookie) else secrets.token_hex(16)
    return st.session_state[_PROPOSED]


def _valid(value) -> bool:
    return isinstance(value, str) and _OWNER_PATTERN.fullmatch(value) is not None
