"""COLLAB_* environment variables: read in one place, and a bad value is one clear line, never a traceback."""
import re
from pathlib import Path

import pytest

from collab_core import settings
from collab_core.settings import SettingError

ROOT = Path(__file__).resolve().parents[2]
BAD_VALUES = {"COLLAB_RUNS_DIR": "", "COLLAB_DATA_DIR": "", "COLLAB_DATA_ROOTS": ":",
              "COLLAB_UPLOAD_LIMIT_MB": "abc", "COLLAB_MAX_TRAININGS": "-1", "COLLAB_TORCH_THREADS": "0",
              "COLLAB_UMAP_WORKER": "maybe", "COLLAB_UMAP_PREWARM": "2", "COLLAB_DEFAULT_RUN": "../etc",
              "COLLAB_MOVIELENS_URL": "ftp://example.org", "COLLAB_TIMING_LOG": "sometimes",
              "COLLAB_HOST_TOKEN": "short+secret", "COLLAB_DEMO": "perhaps"}


def test_every_setting_has_a_bad_value_case():
    assert set(BAD_VALUES) == set(settings.SETTINGS)


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_a_bad_value_names_the_variable_and_what_is_accepted(name, monkeypatch):
    value = BAD_VALUES[name]
    monkeypatch.setenv(name, value)
    if value.strip() == "" and name != "COLLAB_DATA_ROOTS":  # empty means unset: the default applies
        assert settings.get(name) == settings.SETTINGS[name].default()
        return
    with pytest.raises(SettingError) as caught:
        settings.get(name)
    message = str(caught.value)
    assert name in message and "unset it to use the default" in message and "\n" not in message
    with pytest.raises(SettingError):
        settings.check_all()


def test_a_bad_host_key_is_never_repeated_in_the_message(monkeypatch):
    monkeypatch.setenv("COLLAB_HOST_TOKEN", "almost-a-good-key+0123456789")
    with pytest.raises(SettingError) as caught:
        settings.get("COLLAB_HOST_TOKEN")
    assert "COLLAB_HOST_TOKEN" in str(caught.value) and "almost-a-good-key" not in str(caught.value)


def test_good_values_parse(monkeypatch, tmp_path):
    monkeypatch.setenv("COLLAB_UPLOAD_LIMIT_MB", " 12 ")
    monkeypatch.setenv("COLLAB_UMAP_WORKER", "off")
    monkeypatch.setenv("COLLAB_DATA_ROOTS", f"{tmp_path}/a:{tmp_path}/b")
    monkeypatch.setenv("COLLAB_MOVIELENS_URL", "http://127.0.0.1:8000/movielens/")
    assert settings.get("COLLAB_UPLOAD_LIMIT_MB") == 12
    assert settings.get("COLLAB_UMAP_WORKER") is False
    assert settings.get("COLLAB_DATA_ROOTS") == (tmp_path / "a", tmp_path / "b")
    assert settings.get("COLLAB_MOVIELENS_URL") == "http://127.0.0.1:8000/movielens"


def test_no_module_reads_a_collab_variable_around_the_table():
    """The class of bug: a COLLAB_* value parsed ad hoc (int(os.environ[...])) ends in a traceback."""
    pattern = re.compile(r"""(environ\.get\(|environ\[|getenv\()\s*["']COLLAB_""")
    offenders = []
    for folder in ("collab_core", "collab_app", "pages", "collab_server"):
        for path in (ROOT / folder).rglob("*.py") if (ROOT / folder).is_dir() else []:
            if path.name != "settings.py" and pattern.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    if pattern.search((ROOT / "app.py").read_text()):
        offenders.append("app.py")
    assert offenders == [], f"read COLLAB_* through collab_core.settings.get(): {offenders}"
