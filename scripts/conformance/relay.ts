// A test-only relay that lets the conformance suite (which sends no credentials) reach an authenticating gateway:
// it adds `Authorization: Bearer <key>` and otherwise forwards every byte both ways. Host and Origin naming the
// relay are translated to the gateway's port; any other Host or Origin (the suite's rebinding probes) passes unchanged.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Relay {
  url: string;
  close(): Promise<void>;
}

export async function startAuthRelay(target: string, bearer: string): Promise<Relay> {
  const to = new URL(target);
  let relayPort = 0;
  const translate = (value: string | undefined): string | undefined =>
    value?.replace(new RegExp(`^((?:https?://)?(?:localhost|127\\.0\\.0\\.1|\\[::1\\])):${relayPort}$`, "i"), `$1:${to.port}`);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const headers: http.OutgoingHttpHeaders = { ...req.headers, authorization: `Bearer ${bearer}` };
    headers["host"] = translate(req.headers.host);
    if (req.headers.origin !== undefined) headers["origin"] = translate(req.headers.origin);
    let done = false;
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on("end", () => (done = true));
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    // The suite closing a stream is a cancellation the gateway must see: pass the close on.
    res.on("close", () => {
      if (!done) upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  relayPort = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${relayPort}${to.pathname}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
