/** `tsgi/testing`: the in-process test client and an in-memory response sink. */
export { TestClient, request, type TestRequestInit, type TestResponse, type TestBody, type TestClientOptions } from "./client.ts";
export { MemorySink } from "./sink.ts";
export * from "./battery/index.ts";
