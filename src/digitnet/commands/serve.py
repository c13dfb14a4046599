"""``digitnet serve``: the web app, where you draw a digit and watch the network think.

Without a MODEL it serves the newest model file under ``runs/``, or, when there is none, trains
the lessons' network first (with a progress bar) and saves it as ``runs/model.npz``. It listens
on 127.0.0.1 (this machine only) unless ``--host`` says otherwise, and prints the address.
Networks trained live in the page are saved under ``runs/web/`` (at most
``digitnet.web.models.MAX_LIVE_MODELS`` of them): as ``candidate-*.npz`` until someone adopts one
in the page, then as ``live-*.npz``. The next ``digitnet serve`` starts from the newest model
file that is not a candidate.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from pathlib import Path
from typing import Any

from digitnet.errors import DigitnetError

RUNS = Path("runs")
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
WILDCARD = ("0.0.0.0", "::", "[::]")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve", help="draw digits in the browser and watch the network think", description=__doc__
    )
    p.add_argument("model", nargs="?", type=Path, help="model file (default: newest under runs/)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--data-dir", type=Path, help="folder holding mnist/ (for explore and training)")
    p.add_argument(
        "--runs", type=Path, default=RUNS, help="where models are found and saved (default runs/)"
    )
    p.set_defaults(func=run_serve)


def newest_model(runs: Path) -> Path | None:
    """The most recently written model file under ``runs`` (checkpoints, live runs' candidates
    that were never adopted and other ``.npz`` files skipped), or None."""
    from digitnet.model_io import read_header

    if not runs.is_dir():
        return None
    files = [
        p
        for p in runs.rglob("*.npz")
        if p.is_file()
        and not p.name.endswith(".checkpoint.npz")
        and not p.name.startswith("candidate-")
    ]
    for path in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            read_header(path)
        except DigitnetError:
            continue
        return path
    return None


def train_default(runs: Path, data_dir: Path | None) -> Path:
    """Train the lessons' network (the CLI's progress bar and table) into ``runs/model.npz``."""
    from digitnet.commands import recipe as options
    from digitnet.commands.run import checkpoint_path, run_training

    names: tuple[str, ...] = ("preset", "layers", "augment", "dataset", "activation", "output")
    names += ("cost", "init")
    names += ("dtype", *options.TRAINING_OPTIONS)
    recipe = options.recipe_from_args(argparse.Namespace(**dict.fromkeys(names)))
    out = runs / "model.npz"
    print(f"no model under {runs}/: training the lessons' network first ({out})", flush=True)
    resume = checkpoint_path(out).exists()  # an earlier start was interrupted
    run = run_training(recipe, out, data_dir, 10_000, resume=resume)
    if run.exit_code:
        raise DigitnetError("training was interrupted; run `digitnet serve` again to resume it")
    return out


def host_names(host: str) -> list[str]:
    """The names a browser may use in its Host header for a server listening on ``host``: the
    address itself, and for a wildcard address (0.0.0.0, ::) this machine's names and
    addresses too."""
    names = [host]
    if host in WILDCARD:
        name = socket.gethostname()
        names += [name, socket.getfqdn()]
        try:
            names += [str(info[4][0]) for info in socket.getaddrinfo(name, None)]
        except OSError:
            pass
    return list(dict.fromkeys(n for n in names if n))


def run_serve(args: argparse.Namespace) -> int:
    from digitnet.extras import require
    from digitnet.model_io import load_model

    require("web", "digitnet serve")  # before the port is taken or a network trained
    if not args.host.strip():
        raise DigitnetError(
            '--host "" would listen on every network; name an address, such as 127.0.0.1'
        )
    if not 0 < args.port < 65536:
        raise DigitnetError(f"--port must be 1..65535, got {args.port}")
    sock = listen(args.host, args.port)  # a busy port fails here, before any work
    with sock:
        path = args.model or newest_model(args.runs) or train_default(args.runs, args.data_dir)
        net, header = load_model(path)

        from digitnet.data import load

        dataset = header.get("dataset")
        name = dataset.get("name") if isinstance(dataset, dict) else None
        try:
            data = load(name or "mnist", data_dir=args.data_dir, validation=10_000)
            print(f"data: {data.source}", flush=True)
        except DigitnetError as err:
            data = None
            print(f"no test images for the explore panel: {err}", file=sys.stderr, flush=True)

        from digitnet.web import create_app
        from digitnet.web.server import serve

        app = create_app(
            net,
            header,
            data,
            data_dir=args.data_dir,
            save_dir=args.runs / "web",
            hosts=host_names(args.host),
        )
        print(f"model: {path} ({'-'.join(map(str, net.sizes))}, {net.activation})", flush=True)
        if args.host not in LOOPBACK:
            print(
                f"warning: listening on {args.host}, beyond this machine: anyone who can reach "
                f"port {args.port} can use this server (draw, train and adopt networks)",
                file=sys.stderr,
                flush=True,
            )
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(f"digitnet is at http://{shown}:{args.port}/  (Ctrl-C stops it)", flush=True)
        serve(app, args.host, args.port, sockets=[sock])
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` and listening, which the server then takes over; one
    line if the port is taken or the address is not this machine's."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as err:
        raise DigitnetError(f"--host {host}: not an address of this machine ({err})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise DigitnetError(
                f"port {port} on {host} is already in use (another server?); choose another "
                "with --port"
            ) from None
        raise DigitnetError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.set_inheritable(True)
    return sock
