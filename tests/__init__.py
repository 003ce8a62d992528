"""likecast's tests.

Each test process, and what it starts, trains LightGBM on one thread unless the
environment says otherwise: `make test` already runs one pytest-xdist worker per core, and
LightGBM's threads spin while they wait for each other, so two threads per worker made a
training many times slower on a busy machine (docs/adr/0046).
"""

import os

os.environ.setdefault("LIKECAST_LGBM_THREADS", "1")
