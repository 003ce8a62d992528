"""Training on a Dask cluster with ``lightgbm.dask.DaskLGBMClassifier``.

It is the booster step of ``training.partitioned``, which builds the examples and features
partition by partition on the same cluster; calibration, baselines, evaluation and MLflow
logging are the local path's, so a model trained here is registered and served exactly like
a local one (``to_local()`` turns it into a plain booster).

LightGBM's Dask interface has no early stopping (microsoft/LightGBM#3712) and returned no
evaluation history here, so it trains the full number of rounds, scores the validation slice
tree by tree on the client, and keeps the trees up to the round with the lowest log loss:
the model size local early stopping would pick, without its saving of time.
Known pitfalls guarded here: a worker without a partition fails training
(microsoft/LightGBM#3882), so partitions without rows are left out;
ports collided on repeated runs (#3753), so each run lets LightGBM pick free ports.
"""

from __future__ import annotations

import os
import socket
import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from likecast.errors import UnavailableError, UserError
from likecast.redact import redact

CONNECT_TIMEOUT_S = 5.0  # for the scheduler's first words; Dask's own connect gets 20 s
WORKERS_TIMEOUT_S = 10.0  # for a cluster's first worker to be there
# the scheduler's first message (its handshake) is a few hundred bytes; far more is no Dask
LARGEST_HANDSHAKE = 1 << 20


def dask_trainer(client: Any, negative_rate: float = 1.0) -> Callable[..., lgb.Booster]:
    """A booster step for ``fit_set`` that trains on the cluster ``client`` is connected to,
    on Dask collections (the partitions' rows stay on the workers).

    When negatives were kept at ``negative_rate``, the booster's odds are 1/rate too high:
    the best round is judged on the corrected log-odds (logit p = logit q + log rate), and
    the blend, fitted on the calib slice's true rate, calibrates the answers after it.
    """

    def train(
        x_train: Any,
        y_train: Any,
        x_valid: pd.DataFrame,
        y_valid: np.ndarray,
        params: dict[str, Any],
    ) -> lgb.Booster:
        from lightgbm.dask import DaskLGBMClassifier

        if not client.scheduler_info()["workers"]:
            raise UserError("the Dask cluster has no workers")
        settings = dict(params)
        rounds = int(settings.pop("num_boost_round"))
        settings.pop("early_stopping_rounds", None)
        settings.pop("num_threads", None)  # each worker's threads are its own (--nthreads)
        model = DaskLGBMClassifier(client=client, n_estimators=rounds, **settings)
        with warnings.catch_warnings():  # n_jobs, which the sklearn face always sets
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
            model.fit(x_train, y_train, categorical_feature=["category"])
        booster = model.to_local().booster_
        best = best_round(booster, x_valid, y_valid, np.log(negative_rate))
        kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        kept.best_iteration = best
        return kept

    return train


def best_round(
    booster: lgb.Booster, x_valid: pd.DataFrame, y_valid: np.ndarray, shift: float = 0.0
) -> int:
    """The round with the lowest validation log loss, from one tree's scores at a time;
    ``shift`` is added to the booster's log-odds first."""
    from models.estimator import to_matrix

    matrix = to_matrix(x_valid)
    raw = np.full(len(matrix), shift)
    losses = []
    for tree in range(booster.current_iteration()):
        raw += booster.predict(matrix, start_iteration=tree, num_iteration=1, raw_score=True)
        # log loss from raw scores: log(1 + e^-z) for positives, log(1 + e^z) for negatives
        losses.append(float(np.mean(np.logaddexp(0.0, np.where(y_valid == 1, -raw, raw)))))
    return int(np.argmin(losses)) + 1


@contextmanager
def cluster(scheduler: str | None, workers: int | None) -> Iterator[object]:
    """A client on the given scheduler, or on a LocalCluster sized to this machine."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        check_scheduler(scheduler)
        with Client(scheduler, timeout="20s") as client:
            try:  # without one, every task would wait for ever
                client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
            except TimeoutError as exc:
                raise UnavailableError(
                    f"--scheduler {redact(scheduler)}: the cluster has no workers (none "
                    f"joined in {WORKERS_TIMEOUT_S:.0f} s); start some (dask worker ADDRESS)"
                ) from exc
            yield client
        return
    n = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as local,
        Client(local) as client,
    ):
        yield client


def check_scheduler(address: str, timeout_s: float | None = None) -> None:
    """Refuse, in one line, an address that is not a Dask scheduler answering now.

    Dask's client reads the first 8 bytes a server sends as the length of a message and
    allocates it: an HTTP server's ``HTTP/1.1`` made it ask for 3 EiB. A scheduler speaks
    first (its handshake, distributed/comm/core.py ``Listener.on_connection``) with a small
    length, so a server that is silent for ``timeout_s`` or says something else is refused
    before Dask reads anything. Only ``tcp://`` (Dask's default) is probed; TLS and other
    transports are left to Dask's own timeout.
    """
    timeout_s = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
    shown = redact(address)
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if "@" in rest:
        raise UserError(
            f"--scheduler {shown}: a Dask address carries no user or password; "
            "give tcp://HOST:PORT (secure a cluster with TLS: tls://)"
        )
    if scheme != "tcp":
        return
    host, _, port = rest.rstrip("/").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--scheduler {shown}: expected tcp://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as sock:
            first = sock.recv(8, socket.MSG_WAITALL)
    except TimeoutError as exc:
        raise UnavailableError(
            f"--scheduler {shown} said nothing in {timeout_s:.0f} s: not a Dask scheduler "
            "(is it another service's port? a scheduler listens on 8786 by default)"
        ) from exc
    except OSError as exc:
        raise UnavailableError(
            f"--scheduler {shown} cannot be reached ({exc.strerror or exc}); start the "
            "scheduler or correct the address"
        ) from exc
    length = struct.unpack("Q", first)[0] if len(first) == 8 else 0
    if not 0 < length <= LARGEST_HANDSHAKE:
        raise UnavailableError(
            f"--scheduler {shown} answered, but not as a Dask scheduler; give the scheduler's "
            "address (tcp://HOST:8786 by default)"
        )
