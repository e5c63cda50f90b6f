/** `tsgi/node`: serve any tsgi app on node:http. */
export { serve, requestListener, type NodeServeOptions, type RunningServer, type ListenAddress } from "./server.ts";
export { NodeSink, bodyOf } from "./sink.ts";
