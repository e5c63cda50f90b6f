/** `tsgi/node`: serve any tsgi app on node:http. */
export { serve, listen, requestListener, type NodeServeOptions, type NodeListenOptions, type ListenAddress } from "./server.ts";
export type { RunningServer } from "../../src/index.ts";
export { NodeSink, bodyOf, continueOnPull } from "./sink.ts";
export { accessLine } from "./access-log.ts";
