"""`pixels install-plugin`: where each host's plug-ins go on each system, and what lands
there, from the checkout or from a built bundle. (The host tests then run the installed
plug-ins in the real GIMP and Krita.)"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PureWindowsPath

import pytest

from pixels_cli import install as install_module
from pixels_cli.install import config_dirs, gimp_plugin_dirs, install
from pixels_engine.errors import PixelsError

HOME = Path("/home/ann")


def test_linux_dirs_follow_xdg():
    dirs = config_dirs("linux", {}, HOME)
    assert dirs["gimp"] == HOME / ".config/GIMP"
    assert dirs["krita"] == HOME / ".local/share/krita/pykrita"
    assert dirs["kritarc"] == HOME / ".config/kritarc"
    moved = config_dirs("linux", {"XDG_CONFIG_HOME": "/c", "XDG_DATA_HOME": "/d"}, HOME)
    assert moved["gimp"] == Path("/c/GIMP") and moved["krita"] == Path("/d/krita/pykrita")


def test_windows_dirs_use_appdata():
    env = {
        "APPDATA": r"C:\Users\ann\AppData\Roaming",
        "LOCALAPPDATA": r"C:\Users\ann\AppData\Local",
    }
    dirs = {k: PureWindowsPath(v) for k, v in config_dirs("win32", env, HOME).items()}
    assert dirs["gimp"] == PureWindowsPath(env["APPDATA"], "GIMP")
    assert dirs["krita"] == PureWindowsPath(env["APPDATA"], "krita/pykrita")
    assert dirs["kritarc"] == PureWindowsPath(env["LOCALAPPDATA"], "kritarc")


def test_macos_dirs_are_in_library():
    dirs = config_dirs("darwin", {}, HOME)
    assert dirs["gimp"] == HOME / "Library/Application Support/GIMP"
    assert dirs["krita"] == HOME / "Library/Application Support/krita/pykrita"
    assert dirs["kritarc"] == HOME / "Library/Preferences/kritarc"


def test_gimp_goes_into_every_gimp_3_profile_newest_first(tmp_path):
    for name in ("2.10", "3.0", "3.2", "3.10", "3.2-old", "4.0"):
        (tmp_path / name).mkdir()
    (tmp_path / "3.4").touch()  # a file, not a profile
    expected = [tmp_path / v / "plug-ins" for v in ("3.10", "3.2", "3.0")]
    assert gimp_plugin_dirs(tmp_path) == expected
    assert gimp_plugin_dirs(tmp_path / "missing") == []


def test_command_installs_gimp_into_each_profile_or_says_how_to_make_one(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": ""}
    command = [sys.executable, "-m", "pixels_cli", "install-plugin", "gimp"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode != 0 and "start GIMP 3 once" in done.stderr
    gimp = tmp_path / ".config/GIMP"
    for version in ("3.0", "3.2"):
        (gimp / version).mkdir(parents=True)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    for version in ("3.0", "3.2"):
        assert f"installed {gimp / version / 'plug-ins/pixels_gimp'}" in done.stdout
        assert (gimp / version / "plug-ins/pixels_gimp/pixels_gimp.py").is_file()


def test_gimp_from_the_checkout_replaces_an_old_install(tmp_path):
    old = tmp_path / "pixels_gimp" / "stale.py"
    old.parent.mkdir()
    old.write_text("")
    assert install("gimp", tmp_path) == [tmp_path / "pixels_gimp"]
    plugin = tmp_path / "pixels_gimp"
    assert not old.exists() and os.access(plugin / "pixels_gimp.py", os.X_OK)
    assert (plugin / "pixels_client/_vendor/websockets/sync/client.py").is_file()


@pytest.mark.parametrize(
    "host, names", [("gimp", ["pixels_gimp"]), ("krita", ["pixels_krita.desktop", "pixels_krita"])]
)
def test_bundle_zip_installs_its_entries(tmp_path, bundles, host, names):
    written = install(host, tmp_path / "profile", bundles / f"pixels-{host}.zip")
    assert written == [tmp_path / "profile" / name for name in names]
    client = tmp_path / "profile" / f"pixels_{host}" / "pixels_client"
    assert (client / "_vendor/websockets/version.py").read_text().count('"15.0.1"')
    assert not (client / "vendor.py").exists()


def test_the_wrong_bundle_is_refused_with_the_fix(tmp_path, bundles):
    with pytest.raises(
        PixelsError, match="not the gimp plug-in: it lacks pixels_gimp.*pixels-gimp.zip"
    ):
        install("gimp", tmp_path, bundles / "pixels-krita.zip")
    with pytest.raises(PixelsError, match="not a zip file or a folder"):
        install("krita", tmp_path, tmp_path / "missing.zip")


def test_command_says_where_it_went_and_how_to_enable_krita(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": ""}
    done = subprocess.run(
        [sys.executable, "-m", "pixels_cli", "install-plugin", "krita"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pykrita = tmp_path / ".local/share/krita/pykrita"
    assert f"installed {pykrita / 'pixels_krita'}" in done.stdout
    assert (
        f"enable_pixels_krita=true under [python] in {tmp_path / '.config/kritarc'}" in done.stdout
    )
    assert (pykrita / "pixels_krita.desktop").is_file()


def test_the_bundle_a_built_program_carries_comes_first(tmp_path, bundles, monkeypatch):
    carried = tmp_path / "plugins"
    carried.mkdir()
    shutil.copy(bundles / "pixels-gimp.zip", carried)
    with zipfile.ZipFile(carried / "pixels-gimp.zip", "a") as z:
        z.writestr("pixels_gimp/carried.txt", "")
    monkeypatch.setattr(install_module, "CARRIED", carried)
    install("gimp", tmp_path / "profile")
    assert (tmp_path / "profile/pixels_gimp/carried.txt").is_file()
