"""The web app: draw a digit in the browser and watch the network think.

:func:`create_app` builds the FastAPI application around a network (and optionally a dataset for
the explore and train-live panels); :func:`digitnet.web.server.serve` runs it under uvicorn on
127.0.0.1. The page itself (HTML, JS, CSS) ships in ``static/`` and fetches nothing from outside.
FastAPI, Uvicorn and matplotlib come with the ``web`` extra (``pip install 'digitnet[web]'``);
without it this package is one ImportError naming it.
"""

from digitnet.extras import missing, require

if missing("web"):
    require("web", "digitnet.web")  # one line naming the extra, not FastAPI's error

from digitnet.web.app import create_app

__all__ = ["create_app"]
