"""Unit tests of the status-code → exception mapping (no gateway needed)."""

import unittest

import grpc

import tollgate
from tollgate.errors import error_class


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
        from tollgate.client import _parse_target

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

    def test_unknown_dimension(self):
        client = tollgate.Client("127.0.0.1:1")
        try:
            with self.assertRaises(ValueError):
                client.usage_summary(group_by=["colour"])
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
