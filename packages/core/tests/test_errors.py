"""The PEP 249 tree and the failover outcomes bound to each driver."""

from __future__ import annotations

import mysql.connector
import psycopg
import pytest

import awsdb
from awsdb.drivers._mysql import MySQLConnectorDialect
from awsdb.drivers._psycopg import PsycopgDialect
from awsdb.errors import bind_driver_errors


def test_pep249_tree() -> None:
    assert issubclass(awsdb.OperationalError, awsdb.DatabaseError)
    assert issubclass(awsdb.DatabaseError, awsdb.Error)
    assert issubclass(awsdb.InterfaceError, awsdb.Error)
    for name in (
        "DataError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        assert issubclass(getattr(awsdb, name), awsdb.DatabaseError)
    assert awsdb.apilevel == "2.0" and awsdb.paramstyle == "pyformat"


@pytest.mark.parametrize(
    ("dialect", "driver_error"),
    [
        (PsycopgDialect(), psycopg.OperationalError),
        (MySQLConnectorDialect(), mysql.connector.errors.OperationalError),
    ],
)
def test_failover_errors_derive_from_both_trees(dialect: object, driver_error: type) -> None:
    bound = dialect.failover_errors()  # type: ignore[attr-defined]
    for cls, base, state in [
        (bound.success, awsdb.FailoverSuccessError, "08S02"),
        (bound.unknown_transaction, awsdb.TransactionResolutionUnknownError, "08007"),
        (bound.failed, awsdb.FailoverFailedError, "08001"),
    ]:
        assert issubclass(cls, base)
        assert issubclass(cls, awsdb.OperationalError)
        assert issubclass(cls, driver_error)
        original = ConnectionResetError("peer reset")
        try:
            try:
                raise original
            except ConnectionResetError as exc:
                raise cls("failed over to instance-2") from exc
        except driver_error as caught:
            assert caught.__cause__ is original
            assert caught.sqlstate == state
    assert dialect.failover_errors() is bound  # type: ignore[attr-defined]


def test_bound_classes_are_made_once_per_driver() -> None:
    assert bind_driver_errors(psycopg.OperationalError) is bind_driver_errors(
        psycopg.OperationalError
    )
    assert (
        bind_driver_errors(psycopg.OperationalError).success
        is not bind_driver_errors(mysql.connector.errors.OperationalError).success
    )
