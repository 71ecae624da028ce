"""Shared by the Python interop peer: flag parsing and the grpc.testing modules, loaded at run
time from the repository's protos with grpcio-tools."""

import os
import re
import sys
import tempfile

import grpc  # noqa: F401  (imported before the generated modules, which need it)
from grpc_tools import protoc

PROTOS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "protos"))


def _load():
    """Generates the grpc.testing modules into a temp dir. Their natural package,
    `grpc.testing`, would collide with grpcio's own `grpc` package, so the modules are
    flattened and their imports rewritten."""
    out = tempfile.mkdtemp(prefix="interop-py-")
    files = [f"grpc/testing/{name}.proto" for name in ("empty", "messages", "test")]
    if protoc.main(["protoc", f"-I{PROTOS}", f"--python_out={out}", f"--grpc_python_out={out}", *files]) != 0:
        raise SystemExit("grpc_tools.protoc failed on the interop protos")
    generated = os.path.join(out, "grpc", "testing")
    for name in os.listdir(generated):
        if name.endswith(".py"):
            with open(os.path.join(generated, name)) as f:
                code = re.sub(r"from grpc\.testing import (\w+) as", r"import \1 as", f.read())
            with open(os.path.join(out, name), "w") as f:
                f.write(code)
    sys.path.insert(0, out)


_load()
import empty_pb2  # noqa: E402
import messages_pb2  # noqa: E402
import test_pb2_grpc  # noqa: E402


def serve(srv, port):
    """Starts `srv`, tells the test its `port` (`listening on PORT`), and serves until the test
    closes stdin."""
    srv.start()
    print(f"listening on {port}", flush=True)
    sys.stdin.read()
    srv.stop(None)


def parse_flags(argv):
    """`--name value`, `--name=value` and bare booleans, as every interop binary takes them."""
    flags = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            raise SystemExit(f"unexpected argument {arg!r}")
        name = arg[2:]
        if "=" in name:
            name, value = name.split("=", 1)
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            i += 1
            value = argv[i]
        else:
            value = "true"
        flags[name] = value
        i += 1
    return flags


def flag(flags, name):
    return flags.get(name, "false").lower() in ("true", "1", "yes")
