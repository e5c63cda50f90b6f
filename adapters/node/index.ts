/** `tsgi/node`: serve any tsgi app on node:http. */
export { serve, listen, requestListener, type NodeServeOptions, type NodeListenOptions, type RunningServer, type ListenAddress } from "./server.ts";
export { NodeSink, bodyOf, continueOnPull } from "./sink.ts";
export { accessLine } from "./access-log.ts";
