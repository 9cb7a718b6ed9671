from tollgate.v1 import alerts_pb2 as _alerts_pb2
from tollgate.v1 import cache_pb2 as _cache_pb2
from tollgate.v1 import governance_pb2 as _governance_pb2
from tollgate.v1 import guardrails_pb2 as _guardrails_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
