"""Database exceptions -> APIError, in one place.  No raw SQLAlchemy or driver error escapes a call."""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, SQLAlchemyError, StatementError

from taskstore.db.types import NotJSONError
from taskstore.errors import APIError

# PostgreSQL SQLSTATEs worth retrying the whole call for: deadlock, serialization, lock timeout.
_PG_RETRY = {"40P01", "40001", "55P03"}


def is_transient(exc: BaseException) -> bool:
    """A failure that running the same call again may not meet (lock contention, deadlock)."""
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in _PG_RETRY:
        return True
    text = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and ("database is locked" in text or "database table is locked" in text)


def translate(exc: SQLAlchemyError) -> APIError:
    if isinstance(exc, StatementError) and isinstance(exc.orig, NotJSONError):
        err = APIError(400, 12, f"validation error (a value is not JSON data: {exc.orig})")
    elif isinstance(exc, DataError) and getattr(exc.orig, "sqlstate", None) == "2201B":
        err = APIError(400, 21, f"malformed regular expression ({exc.orig})")  # PostgreSQL refused a pattern
    elif isinstance(exc, DataError):  # e.g. a NUL character or an out-of-range number for the column
        err = APIError(400, 800, f"data validation error ({exc.orig})")
    elif isinstance(exc, IntegrityError):
        err = APIError(400, 801, f"data integrity error ({exc.orig})")
    elif is_transient(exc):
        err = APIError(500, 102, "database unavailable (the database stayed busy; try again)")
    elif isinstance(exc, OperationalError):
        err = APIError(500, 100, f"general data error ({exc.orig})")
    else:
        err = APIError(500, 1, f"internal server error ({type(exc).__name__}: {exc})")
    err.__cause__ = exc
    return err
