"""A Dask cluster to run on, for training and batch scoring alike.

A given scheduler is refused in one line when it is not one; without one, a local cluster
sized to this machine is started.

On the shared ground because both ``training/`` (``likecast train --engine dask``) and
``serving/batch/`` (``likecast score --engine dask``) start one (docs/adr/0042).
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from likecast.errors import UnavailableError, UserError
from likecast.redact import redact

CONNECT_TIMEOUT_S = 5.0  # for the scheduler's first words; Dask's own connect gets 20 s
WORKERS_TIMEOUT_S = 10.0  # for a cluster's first worker to be there
# the scheduler's first message (its handshake) is a few hundred bytes; far more is no Dask
LARGEST_HANDSHAKE = 1 << 20


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
