"""What the end-to-end check files share: one PASS/FAIL line a check, typed AWS errors, a summary.

scripts/e2e.py and scripts/e2e_lambda.py import it (scripts/e2e.sh runs them from the repository's
root, with this folder on the module path as the running script's own).
"""

import sys
import traceback

import botocore.exceptions

_counts = {"passed": 0, "failed": 0}


def check(name):
    """Runs the decorated function at once as one check; an exception is its failure."""

    def run(fn):
        try:
            fn()
        except Exception:  # every failure of a check is reported, none stops the others
            _counts["failed"] += 1
            print(f"FAIL {name}")
            traceback.print_exc(limit=3, file=sys.stdout)
        else:
            _counts["passed"] += 1
            print(f"PASS {name}")
        sys.stdout.flush()
        return fn

    return run


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_client_error(client, code, fn, *args, **kwargs):
    """Calls fn and requires botocore's ClientError with AWS's error code, raised as the modelled
    exception class of that name on client when the service models one (scripts catch those)."""
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        expect(got == code, f"error code {got!r}, want {code!r}: {e.response['Error']}")
        modelled = getattr(client.exceptions, code, None)
        if modelled is not None:
            expect(isinstance(e, modelled), f"{type(e).__name__} is not {code}")
        return e
    raise AssertionError(f"no error, want {code}")


def finish():
    """Prints the count line and exits non-zero when a check failed."""
    print(f"{_counts['passed']} passed, {_counts['failed']} failed")
    sys.exit(1 if _counts["failed"] else 0)
