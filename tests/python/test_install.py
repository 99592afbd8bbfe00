"""`cmake --install` puts the package where Debian's python3 finds it, and the installed extension
finds the libauthstore installed with it, with no PYTHONPATH into the build tree. The extension has
no RUNPATH (Debian policy): ld.so finds libauthstore in <prefix>/lib, on its path for /usr/local."""

import glob
import os
import subprocess
import sys
import sysconfig

import pytest


def test_installed_package_imports(tmp_path):
    build = os.environ.get("AUTHSTORE_BUILD_DIR")
    if not build:
        pytest.skip("AUTHSTORE_BUILD_DIR not set (run through ctest)")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", build, "--prefix", str(prefix)], check=True,
                   stdout=subprocess.DEVNULL)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = prefix / "lib" / version / "dist-packages"
    assert (site / "authstore" / "__init__.py").is_file()
    # With the default prefix /usr/local this directory is on Debian's python3 path.
    assert f"/usr/local/lib/{version}/dist-packages" in sys.path
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(site)  # stands for /usr/local/lib/python3.X/dist-packages
    # Likewise <prefix>/lib stands for /usr/local/lib, where ld.so looks without being told.
    ld_conf = "".join(open(f).read() for f in glob.glob("/etc/ld.so.conf.d/*.conf"))
    assert "/usr/local/lib" in ld_conf.split()
    env["LD_LIBRARY_PATH"] = str(prefix / "lib")
    ext = [f for f in os.listdir(site / "authstore") if f.endswith(".so")]
    dyn = subprocess.run(["readelf", "-d", str(site / "authstore" / ext[0])], check=True,
                         capture_output=True, text=True).stdout
    assert "RUNPATH" not in dyn and "RPATH" not in dyn, dyn
    code = ("import authstore, sys; s = authstore.open('memory://', development_mode=True); "
            "print(authstore.__file__); print(s.codes.issue(authstore.CodeGrant(client_id='c', "
            "subject='s', redirect_uri='https://a/cb')).ok)")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True, cwd=tmp_path).stdout.split()
    assert out == [str(site / "authstore" / "__init__.py"), "True"]
    assert sysconfig.get_config_var("EXT_SUFFIX") in "".join(os.listdir(site / "authstore"))
