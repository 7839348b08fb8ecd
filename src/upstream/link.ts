// What the supervisor needs of a connection to an upstream, whatever carries it.
import type { Era } from "../protocol/versions.ts";
import type { Peer } from "./peer.ts";

/** One live connection to an upstream MCP server (a child process or an HTTP endpoint). */
export interface Link {
  readonly peer: Peer;
  /** Tells the transport which era the handshake settled on (HTTP headers differ by era). */
  setEra?(era: Era, protocolVersion: string): void;
  close(): Promise<void>;
}
