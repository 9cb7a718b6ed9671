"""Retries and deadlines against an in-process gRPC server that fails on
purpose (no gateway needed): what is retried, how often, and what is not."""

import asyncio
import threading
import unittest
from concurrent import futures

import grpc

import tollgate
from tollgate.errors import _status_bytes
from tollgate.v1 import inference_pb2, inference_pb2_grpc


class _Flaky(inference_pb2_grpc.InferenceServiceServicer):
    """Fails the first `failures` calls with `code` (and the google.rpc
    details of `reason` and `retry_after`), then answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = 0
        self.failures = 0
        self.code = grpc.StatusCode.UNAVAILABLE
        self.reason = ""
        self.retry_after = None
        self.fail_after_first_event = False
        self.hang = threading.Event()

    def _fail(self, context):
        with self.lock:
            self.calls += 1
            fail = self.calls <= self.failures
        if fail:
            if self.reason or self.retry_after is not None:
                status = _status_bytes(self.code.value[0], "refused", reason=self.reason, retry_after=self.retry_after)
                context.set_trailing_metadata((("grpc-status-details-bin", status),))
            context.abort(self.code, "refused on purpose")

    def Chat(self, request, context):
        if request.model == "hang":
            self.hang.wait(10)
            context.abort(grpc.StatusCode.INTERNAL, "the client's deadline did not apply")
        self._fail(context)
        msg = inference_pb2.Message(role=inference_pb2.ROLE_ASSISTANT, content=[inference_pb2.ContentPart(text="ok")])
        return inference_pb2.ChatResponse(id="req_1", choices=[inference_pb2.Choice(message=msg)])

    def ChatStream(self, request, context):
        self._fail(context)
        yield inference_pb2.ChatStreamResponse(choices=[inference_pb2.ChoiceDelta(text="a")])
        if self.fail_after_first_event:
            context.abort(grpc.StatusCode.UNAVAILABLE, "gone mid-stream")
        yield inference_pb2.ChatStreamResponse(choices=[inference_pb2.ChoiceDelta(text="b")])


class RetryTest(unittest.TestCase):
    def setUp(self):
        self.flaky = _Flaky()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        inference_pb2_grpc.add_InferenceServiceServicer_to_server(self.flaky, self.server)
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.target = f"127.0.0.1:{port}"

    def tearDown(self):
        self.flaky.hang.set()
        self.server.stop(None)

    def client(self, **kw):
        kw.setdefault("retry_backoff", 0.001)
        return tollgate.Client(self.target, "tg-test", **kw)

    def test_unavailable_is_retried(self):
        self.flaky.failures = 2
        with self.client() as c:
            self.assertEqual(tollgate.text(c.chat("m", "hi")), "ok")
        self.assertEqual(self.flaky.calls, 3)

    def test_retries_run_out(self):
        self.flaky.failures = 5
        with self.client(max_retries=2) as c:
            with self.assertRaises(tollgate.UnavailableError) as ctx:
                c.chat("m", "hi")
        self.assertEqual(self.flaky.calls, 3)
        self.assertEqual(str(ctx.exception), "unavailable: refused on purpose")

    def test_no_retries(self):
        self.flaky.failures = 1
        with self.client(max_retries=0) as c:
            with self.assertRaises(tollgate.UnavailableError):
                c.chat("m", "hi")
        self.assertEqual(self.flaky.calls, 1)

    def test_rate_limit_is_retried_after_the_hint(self):
        self.flaky.failures, self.flaky.code = 1, grpc.StatusCode.RESOURCE_EXHAUSTED
        self.flaky.reason, self.flaky.retry_after = "RATE_LIMITED", 0.01
        with self.client() as c:
            self.assertEqual(tollgate.text(c.chat("m", "hi")), "ok")
        self.assertEqual(self.flaky.calls, 2)

    def test_budget_is_not_retried(self):
        self.flaky.failures, self.flaky.code, self.flaky.reason = 1, grpc.StatusCode.RESOURCE_EXHAUSTED, "BUDGET_EXCEEDED"
        with self.client() as c:
            with self.assertRaises(tollgate.RateLimitError) as ctx:
                c.chat("m", "hi")
        self.assertEqual(ctx.exception.reason, "BUDGET_EXCEEDED")
        self.assertEqual(self.flaky.calls, 1)

    def test_other_codes_are_not_retried(self):
        for code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL):
            with self.subTest(code=code.name):
                self.flaky.calls, self.flaky.failures, self.flaky.code = 0, 1, code
                with self.client() as c:
                    with self.assertRaises(tollgate.TollgateError) as ctx:
                        c.chat("m", "hi")
                self.assertIs(ctx.exception.code, code)
                self.assertEqual(self.flaky.calls, 1)

    def test_stream_retried_before_its_first_event(self):
        self.flaky.failures = 1
        with self.client() as c:
            self.assertEqual("".join(tollgate.text(e) for e in c.chat_stream("m", "hi")), "ab")
        self.assertEqual(self.flaky.calls, 2)

    def test_stream_not_retried_after_an_event(self):
        self.flaky.fail_after_first_event = True
        got = []
        with self.client() as c:
            with self.assertRaises(tollgate.UnavailableError):
                for e in c.chat_stream("m", "hi"):
                    got.append(tollgate.text(e))
        self.assertEqual(got, ["a"])
        self.assertEqual(self.flaky.calls, 1)

    def test_deadline(self):
        with self.client(timeout=30) as c:
            with self.assertRaises(tollgate.DeadlineExceededError):
                c.chat("hang", "hi", timeout=0.2)

    def test_async_retries(self):
        self.flaky.failures = 2

        async def run():
            async with tollgate.AsyncClient(self.target, "tg-test", retry_backoff=0.001) as c:
                self.assertEqual(tollgate.text(await c.chat("m", "hi")), "ok")
                self.flaky.calls, self.flaky.failures = 0, 1
                self.assertEqual("".join([tollgate.text(e) async for e in c.chat_stream("m", "hi")]), "ab")
                self.flaky.calls, self.flaky.failures = 0, 9
                with self.assertRaises(tollgate.UnavailableError):
                    await c.chat("m", "hi")
                with self.assertRaises(tollgate.DeadlineExceededError):
                    await c.chat("hang", "hi", timeout=0.2)

        asyncio.run(run())
        self.assertEqual(self.flaky.calls, 3)


if __name__ == "__main__":
    unittest.main()
