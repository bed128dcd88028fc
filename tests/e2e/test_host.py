"""A study group on one server, in real browsers: the host (who opened the host link) and two visitors, each its own
browser context. The host link's key leaves the address; a visitor reads why what they may not do is missing, owns
and deletes their own runs, cannot delete another visitor's; a run deleted and a pin moved by the host are said in
the visitor's tab; a wrong key leaves a visitor a visitor; demo mode leaves visitors only exploring."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from collab_core.bench.harness import wait_for_app
from collab_core.runs.owners import owner_tag

from .conftest import browser_page, host_link, open_page, serving, wait_until_drawn
from .test_clicks import select_history_row

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory, save_small_run):
    root = tmp_path_factory.mktemp("host") / "runs"
    root.mkdir(parents=True)
    save_small_run(root, "host-run")
    save_small_run(root, "spare-run", name="Spare run")
    with serving(root) as url:
        yield url, root


def sidebar_says(page, text: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text(text).wait_for(timeout=30_000)


def save_run_of(page, root, run_id: str) -> None:
    """A copy of host-run saved as `run_id`, owned by the browser of `page` (its owner id from local storage), the
    newest run."""
    owner = page.evaluate("() => localStorage.getItem('collab-owner')")
    shutil.copytree(root / "host-run", root / run_id)
    meta = json.loads((root / run_id / "run.json").read_text())
    meta.update(owner=owner_tag(owner), created="2099-01-01T00:00:00+00:00")
    (root / run_id / "run.json").write_text(json.dumps(meta))


def rerun_by_a_page_change(page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    wait_for_app(page)


def test_host_and_visitors_each_rule_on_the_page(server, browser):
    url, root = server
    with browser_page(browser) as host, browser_page(browser) as visitor, browser_page(browser) as other:
        open_page(host, host_link(f"{url}/train?run=host-run"))
        host.wait_for_function("() => !location.search.includes('host=')", timeout=30_000)  # out of the address
        host.get_by_text("You are the host").wait_for(timeout=30_000)
        sidebar_says(host, "Host: every power on this server.")

        open_page(visitor, f"{url}/train")
        sidebar_says(visitor, "Visitor: your own runs")
        assert visitor.get_by_role("button", name="Pin as the default").count() == 0
        assert visitor.get_by_text("Visitors see each other's runs").count() == 0
        select_history_row(visitor, 0)
        assert visitor.get_by_role("button", name="Delete 1 selected").is_disabled()
        visitor.get_by_text("Only the host can delete runs that are not yours.").wait_for(timeout=30_000)

        save_run_of(visitor, root, "visitor-run")  # as if trained in that browser
        open_page(visitor, f"{url}/train")
        select_history_row(visitor, 0)  # the visitor's own run, listed first
        visitor.get_by_label("Name of the selected run").wait_for(timeout=30_000)  # may rename it

        open_page(other, f"{url}/train")  # a second visitor sees it (the host shares visitors' runs by default)
        select_history_row(other, 0)
        assert other.get_by_role("button", name="Delete 1 selected").is_disabled()
        assert other.get_by_label("Name of the selected run").count() == 0

        host.reload()  # the host turns visitors' runs private: the second visitor no longer lists the first's
        wait_for_app(host)
        host.get_by_text("Visitors see each other's runs").click()
        wait_for_app(host)
        assert json.loads((root / ".sharing.json").read_text()) == {"visitor_runs_shared": False}
        open_page(other, f"{url}/train")
        wait_until_drawn(other)
        listed = other.get_by_test_id("stDataFrame").first.text_content()
        assert "host-run" in listed and "visitor-run" not in listed
        host.get_by_text("Visitors see each other's runs").click()  # and shared again
        wait_for_app(host)
        assert json.loads((root / ".sharing.json").read_text()) == {"visitor_runs_shared": True}

        visitor.get_by_role("button", name="Delete 1 selected").click()
        visitor.get_by_text("Deleted 1 run(s).").wait_for(timeout=30_000)
        assert not (root / "visitor-run").exists() and (root / "host-run").is_dir()


def test_a_change_by_the_host_is_said_in_the_visitors_tab(server, browser):
    url, root = server
    with browser_page(browser) as host, browser_page(browser) as visitor:
        open_page(visitor, f"{url}/biases?run=spare-run")
        open_page(host, host_link(f"{url}/train?run=host-run"))
        runs = ["spare-run", "host-run"]  # newest first
        select_history_row(host, runs.index("host-run"))
        host.get_by_role("button", name="Pin as the default").click()
        host.get_by_text("New visitors now see").wait_for(timeout=30_000)
        rerun_by_a_page_change(visitor, "Neighbours")
        visitor.get_by_text(re.compile(r"The host pinned .*new visitors see it first")).wait_for(timeout=30_000)

        host.reload()
        wait_for_app(host)
        select_history_row(host, runs.index("spare-run"))
        host.get_by_role("button", name="Delete 1 selected").click()
        host.get_by_text("Deleted 1 run(s).").wait_for(timeout=30_000)
        rerun_by_a_page_change(visitor, "Biases")
        visitor.get_by_text(re.compile(r"Spare run.* was deleted by the host; this page shows .* now")).wait_for(
            timeout=30_000)
        visitor.wait_for_url(re.compile(r"run=host-run"), timeout=30_000)


def test_the_host_browsers_owner_id_gives_no_host_powers_elsewhere(server, browser):
    """The owner id is also a cookie, which every app on the same host name receives: copied into another browser it
    must not make that browser the host (the host is known by a pass in its local storage, per origin)."""
    url, _ = server
    with browser_page(browser) as host, browser_page(browser) as copycat:
        open_page(host, host_link(f"{url}/train"))
        sidebar_says(host, "Host: every power on this server.")
        owner = host.evaluate("() => localStorage.getItem('collab-owner')")
        copycat.context.add_cookies([{"name": "collab_owner", "value": owner, "url": url}])
        copycat.goto(url)
        copycat.evaluate("owner => localStorage.setItem('collab-owner', owner)", owner)
        open_page(copycat, f"{url}/train")
        sidebar_says(copycat, "Visitor: your own runs")
        host.reload()  # the real host stays the host after a reload, by its pass
        wait_for_app(host)
        sidebar_says(host, "Host: every power on this server.")


def test_a_wrong_host_key_leaves_a_visitor(server, browser):
    url, _ = server
    with browser_page(browser) as page:
        open_page(page, f"{url}/train?host=a-guessed-key-0123456789")
        page.get_by_text("This host link is not valid on this server").wait_for(timeout=30_000)
        sidebar_says(page, "Visitor: your own runs")
        page.wait_for_function("() => !location.search.includes('host=')", timeout=30_000)
        assert page.get_by_role("button", name="Pin as the default").count() == 0


def test_demo_mode_visitors_explore_and_the_host_keeps_every_power(tmp_path, save_small_run, browser):
    root = tmp_path / "runs"
    root.mkdir()
    save_small_run(root, "host-run")
    with serving(root, {"COLLAB_DEMO": "1"}) as url, browser_page(browser) as visitor, browser_page(browser) as host:
        open_page(visitor, f"{url}/train")
        visitor.get_by_text("This is a demo: visitors explore the host's runs").wait_for(timeout=30_000)
        assert visitor.get_by_role("button", name="Train", exact=True).count() == 0
        sidebar_says(visitor, "Visitor of a demo")
        open_page(visitor, f"{url}/data")
        assert visitor.get_by_text("Upload CSV / Parquet").count() == 0
        open_page(visitor, f"{url}/you")  # You works for a visitor of a demo
        open_page(host, host_link(f"{url}/train"))
        assert host.get_by_role("button", name="Train", exact=True).is_visible()
        sidebar_says(host, "Demo mode: visitors only explore.")
