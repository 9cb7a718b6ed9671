// The gateway's API as generated from proto/ (protoc-gen-es, in
// clients/ts/src/gen): the console uses the very same generated code as the
// TypeScript client, so it has no API of its own.
export * from "../../clients/ts/src/gen/google/type/money_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/alerts_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/cache_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/catalog_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/common_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/governance_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/guardrails_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/identity_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/policy_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/routing_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/teams_pb.js";
export * from "../../clients/ts/src/gen/tollgate/v1/usage_pb.js";
