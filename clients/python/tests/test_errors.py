"""Unit tests of the errors, the retry policy and the helpers (no gateway needed)."""

import unittest

import grpc

import tollgate
from tollgate.errors import _status_bytes, error_class


class _FakeRpcError(grpc.RpcError):
    def __init__(self, code, details, trailing=()):
        self._code, self._details, self._trailing = code, details, trailing

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailing

    def initial_metadata(self):
        return ()


class ErrorMappingTest(unittest.TestCase):
    def test_codes(self):
        cases = [
            (grpc.StatusCode.UNAUTHENTICATED, tollgate.AuthenticationError),
            (grpc.StatusCode.PERMISSION_DENIED, tollgate.PermissionDeniedError),
            (grpc.StatusCode.NOT_FOUND, tollgate.NotFoundError),
            (grpc.StatusCode.ALREADY_EXISTS, tollgate.AlreadyExistsError),
            (grpc.StatusCode.INVALID_ARGUMENT, tollgate.InvalidArgumentError),
            (grpc.StatusCode.FAILED_PRECONDITION, tollgate.FailedPreconditionError),
            (grpc.StatusCode.RESOURCE_EXHAUSTED, tollgate.RateLimitError),
            (grpc.StatusCode.UNAVAILABLE, tollgate.UnavailableError),
            (grpc.StatusCode.DEADLINE_EXCEEDED, tollgate.DeadlineExceededError),
            (grpc.StatusCode.CANCELLED, tollgate.CanceledError),
            (grpc.StatusCode.UNIMPLEMENTED, tollgate.UnimplementedError),
            (grpc.StatusCode.INTERNAL, tollgate.InternalError),
            (grpc.StatusCode.UNKNOWN, tollgate.InternalError),
        ]
        for code, cls in cases:
            with self.subTest(code=code.name):
                self.assertIs(error_class(code), cls)
                err = tollgate.from_rpc_error(_FakeRpcError(code, "boom", (("x-request-id", "req_1"),)))
                self.assertIsInstance(err, cls)
                self.assertIsInstance(err, tollgate.TollgateError)
                self.assertIs(err.code, code)
                self.assertEqual(err.message, "boom")
                self.assertEqual(err.request_id, "req_1")
                self.assertEqual(str(err), code.name.lower() + ": boom")

    def test_code_named_once(self):
        cases = [
            (grpc.StatusCode.UNAUTHENTICATED, "unauthenticated: unknown API key", "unknown API key"),
            (grpc.StatusCode.UNAUTHENTICATED, "unknown API key", "unknown API key"),
            (grpc.StatusCode.PERMISSION_DENIED, "permission denied: key may not use x", "key may not use x"),
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "resource_exhausted: budget b", "budget b"),
            (grpc.StatusCode.NOT_FOUND, "model not found: x", "model not found: x"),
        ]
        for code, details, message in cases:
            with self.subTest(details=details):
                err = tollgate.from_rpc_error(_FakeRpcError(code, details))
                self.assertEqual(err.message, message)
                self.assertEqual(str(err), code.name.lower() + ": " + message)

    def test_status_details(self):
        status = _status_bytes(8, "m", reason="RATE_LIMITED", metadata={"limit": "60", "remaining": "0"}, retry_after=1.25)
        err = tollgate.from_rpc_error(
            _FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "rate limit", (("grpc-status-details-bin", status),))
        )
        self.assertIsInstance(err, tollgate.RateLimitError)
        self.assertEqual(err.reason, "RATE_LIMITED")
        self.assertEqual(err.metadata, {"limit": "60", "remaining": "0"})
        self.assertEqual(err.retry_after, 1.25)
        self.assertTrue(err.retryable)
        # A malformed trailer leaves the error as it is.
        err = tollgate.from_rpc_error(
            _FakeRpcError(grpc.StatusCode.UNAVAILABLE, "down", (("grpc-status-details-bin", b"\xff\xff"),))
        )
        self.assertEqual((err.reason, err.metadata, err.retry_after), ("", {}, None))

    def test_retryable(self):
        def err(code, **kw):
            return tollgate.errors.error_class(code)(code, "m", **kw)

        R = grpc.StatusCode.RESOURCE_EXHAUSTED
        cases = [
            (err(grpc.StatusCode.UNAVAILABLE), True),
            (err(R, reason="RATE_LIMITED"), True),
            (err(R, retry_after=2.0), True),
            (err(R, reason="BUDGET_EXCEEDED"), False),
            (err(R), False),
            (err(grpc.StatusCode.UNAUTHENTICATED), False),
            (err(grpc.StatusCode.INTERNAL), False),
            (err(grpc.StatusCode.DEADLINE_EXCEEDED), False),
        ]
        for e, want in cases:
            with self.subTest(code=e.code.name, reason=e.reason):
                self.assertIs(e.retryable, want)

    def test_retry_delays(self):
        retry = tollgate.Retry(max_retries=3, initial_backoff=1.0, max_backoff=3.0, max_retry_after=30)
        unavailable = tollgate.UnavailableError(grpc.StatusCode.UNAVAILABLE, "down")
        for attempt, (lo, hi) in enumerate([(0.5, 1.0), (1.0, 2.0), (1.5, 3.0)]):
            with self.subTest(attempt=attempt):
                d = retry.delay(attempt, unavailable)
                self.assertTrue(lo <= d <= hi, d)
        self.assertIsNone(retry.delay(3, unavailable))
        hinted = tollgate.RateLimitError(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", retry_after=7.5)
        self.assertEqual(retry.delay(0, hinted), 7.5)
        too_long = tollgate.RateLimitError(grpc.StatusCode.RESOURCE_EXHAUSTED, "later", retry_after=3600)
        self.assertIsNone(retry.delay(0, too_long))
        self.assertIsNone(tollgate.Retry(max_retries=0).delay(0, unavailable))

    def test_unmapped_code_is_the_base_class(self):
        err = tollgate.from_rpc_error(_FakeRpcError(grpc.StatusCode.OK, "odd"))
        self.assertIs(type(err), tollgate.TollgateError)
        self.assertIsNone(err.request_id)


class HelpersTest(unittest.TestCase):
    def test_text(self):
        from tollgate.v1 import inference_pb2

        msg = inference_pb2.Message(
            role=inference_pb2.ROLE_ASSISTANT,
            content=[
                inference_pb2.ContentPart(reasoning=inference_pb2.Reasoning(text="hidden")),
                inference_pb2.ContentPart(text="a "),
                inference_pb2.ContentPart(text="b"),
            ],
        )
        self.assertEqual(tollgate.text(msg), "a b")
        resp = inference_pb2.ChatResponse(choices=[inference_pb2.Choice(message=msg)])
        self.assertEqual(tollgate.text(resp), "a b")
        self.assertEqual(tollgate.text(inference_pb2.ChatResponse()), "")
        event = inference_pb2.ChatStreamResponse(choices=[inference_pb2.ChoiceDelta(text="x"), inference_pb2.ChoiceDelta(text="y")])
        self.assertEqual(tollgate.text(event), "xy")
        with self.assertRaises(TypeError):
            tollgate.text("not a message")

    def test_targets(self):
        from tollgate._common import parse_target as _parse_target

        cases = [
            ("localhost:8080", ("localhost:8080", False)),
            ("http://127.0.0.1:9000", ("127.0.0.1:9000", False)),
            ("https://gw.example", ("gw.example:443", True)),
            ("http://gw.example/", ("gw.example:80", False)),
        ]
        for target, want in cases:
            with self.subTest(target=target):
                self.assertEqual(_parse_target(target), want)
        with self.assertRaises(ValueError):
            _parse_target("ftp://x")

    def test_money(self):
        m = tollgate.Money(currency_code="USD", units=1, nanos=500_000_000)
        from tollgate.v1 import governance_pb2

        budget = governance_pb2.Budget(id="b", limit=m)
        self.assertEqual(budget.limit.units, 1)

    def test_unknown_dimension(self):
        client = tollgate.Client("127.0.0.1:1")
        try:
            with self.assertRaises(ValueError):
                client.usage_summary(group_by=["colour"])
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
