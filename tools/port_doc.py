"""Copy the one port shape of RETURN into every module that returns ports, or check the copies.

The shape is written once, in plugins/modules/port_security.py, between the marker comments
below (YAML comments inside RETURN); allowed_address_pair returns the same `port`, and each
entry of port_security_info's `ports` is that shape plus the audit's keys. `--check` exits 1
when a copy differs (run by the docs stage); without it, the copies are rewritten (make docs).
"""
import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULES = ROOT / "plugins" / "modules"
SOURCE = MODULES / "port_security.py"
COPIES = (MODULES / "allowed_address_pair.py", MODULES / "port_security_info.py")
BEGIN = "    # The port shape of every module:"
END = "    # end of the port shape\n"


def split(text, path):
    """(before, block, after) around the marked block; the block keeps its marker lines."""
    start = text.find(BEGIN)
    end = text.find(END, start)
    if start < 0 or end < 0:
        sys.exit("%s: no port shape between %r and %r" % (path, BEGIN.strip(), END.strip()))
    end += len(END)
    return text[:start], text[start:end], text[end:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a copy differs")
    args = parser.parse_args()
    _before, shape, _after = split(SOURCE.read_text(encoding="utf-8"), SOURCE)
    stale = []
    for path in COPIES:
        before, block, after = split(path.read_text(encoding="utf-8"), path)
        if block == shape:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(before + shape + after, encoding="utf-8")
    if args.check and stale:
        print("port shape differs from %s in: %s; run make docs" % (
            SOURCE.relative_to(ROOT), ", ".join(str(path) for path in stale)))
        return 1
    print("port shape: %d copies %s" % (len(COPIES), "current" if not stale else "rewritten"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
