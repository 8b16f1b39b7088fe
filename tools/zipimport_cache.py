# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bytecode cache for code that Python imports from zip files, for the control venv (.venv).

Every Ansible module runs as an AnsiballZ payload: a zip of the module and its module_utils
(ansible-core's, openstack.cloud's, ours) that Python imports with zipimport. zipimport cannot
write .pyc files, so each task compiles the same sources again: about 0.15-0.2 s of CPU per
module run on 2 cores, a third of what a module costs before it does anything (measured with
an AnsiballZ_command.py kept by ANSIBLE_KEEP_REMOTE_FILES: 0.36-0.46 s of CPU as is, 0.22-0.30 s
with this cache). make test runs thousands of modules.

tools/venv.sh installs this file into the venv's site-packages with a .pth line that imports
it, so every Python of the venv (and only of the venv) uses it. It replaces
zipimport._compile_source, the function zipimport calls to compile a source file, with one
that keeps the compiled code under <venv>/zipimport-cache, keyed by a hash of the source, the
interpreter's bytecode magic number and the optimisation level; the cached code object gets the
file name of the zip it was imported from this time, so tracebacks name the right file. The
code is what compile() gives for that source: nothing runs differently, only sooner.
"""

import importlib.util
import marshal
import os
import sys
import zipimport

CACHE_DIR = os.path.join(sys.prefix, "zipimport-cache")
ORIGINAL_COMPILE = zipimport._compile_source  # pylint: disable=protected-access
CODE_TYPE = type(ORIGINAL_COMPILE.__code__)


def relocate(code, filename):
    """The code object, and every code object in its constants, with co_filename set."""
    consts = tuple(relocate(const, filename) if isinstance(const, CODE_TYPE) else const for const in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def cached_compile(pathname, source):
    """zipimport._compile_source(pathname, source), from the cache when it holds that source."""
    import hashlib  # pylint: disable=import-outside-toplevel

    digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + bytes([sys.flags.optimize]) + source).hexdigest()
    path = os.path.join(CACHE_DIR, digest[:2], digest)
    try:
        with open(path, "rb") as handle:
            code = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        code = ORIGINAL_COMPILE(pathname, source)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            partial = "%s.%d" % (path, os.getpid())
            with open(partial, "wb") as handle:
                handle.write(marshal.dumps(code))
            os.replace(partial, path)
        except OSError:
            pass  # a cache that cannot be written only costs the compile
        return code
    return relocate(code, pathname)


zipimport._compile_source = cached_compile  # pylint: disable=protected-access
