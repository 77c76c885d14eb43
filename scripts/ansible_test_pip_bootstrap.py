#!/usr/bin/env python3
"""Make `ansible-test --requirements` work without its pip bootstrap host.

ansible-test bootstraps pip in each sanity venv with a get-pip script it
downloads from a host this project's machines cannot reach, cached at
~/.ansible/test/cache/get_pip_<version>.py. When that file is missing and the
download fails, this writes a stand-in that bootstraps pip from the standard
library (ensurepip) and then runs `pip install` with the arguments ansible-test
gave, so the package index configured on the machine is used.
"""

import os
import re
import sys
import urllib.request

STAND_IN = '''"""Stand-in for get-pip.py, written by ovhcloud.kms scripts/ansible_test_pip_bootstrap.py."""
import ensurepip
import os
import subprocess
import sys

# ensurepip blanks every PIP_* variable (and points PIP_CONFIG_FILE at
# /dev/null); put them back or pip forgets this machine's index and CA settings.
saved = dict((k, v) for k, v in os.environ.items() if k.startswith("PIP_"))
ensurepip.bootstrap(upgrade=True)
for name in [k for k in os.environ if k.startswith("PIP_")]:
    del os.environ[name]
os.environ.update(saved)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
'''


def ansible_test_pip_version():
    import ansible_test  # the one of the running interpreter's ansible-core

    source_path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source_path, encoding="utf-8") as handle:
        match = re.search(r"pip=['\"]([0-9.]+)['\"]", handle.read())
    if not match:
        sys.exit("cannot find the pip version ansible-test bootstraps in %s" % source_path)
    return match.group(1)


def main():
    version = ansible_test_pip_version()
    cache_path = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    if os.path.exists(cache_path):
        return
    os.makedirs(os.path.dirname(cache_path), exist_ok=True)
    url = "https://ci-files.testing.ansible.com/ansible-test/get-pip-%s.py" % version
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            content = response.read().decode("utf-8")
        origin = url
    except Exception as exc:  # any failure to download means: use the stand-in
        content = STAND_IN
        origin = "stand-in (download failed: %s)" % exc.__class__.__name__
    with open(cache_path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(content)
    os.replace(cache_path + ".tmp", cache_path)
    print("ansible-test pip %s bootstrap script: %s" % (version, origin))


if __name__ == "__main__":
    main()
