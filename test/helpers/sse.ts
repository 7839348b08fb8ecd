// Reads a Server-Sent Events answer of the gateway in the background, for tests that must see frames and their ids.
import { expect } from "vitest";
import { until } from "./harness.ts";

export type Json = Record<string, unknown>;

export interface Event {
  id: string | undefined;
  message: Json;
}

/** Reads an SSE body in the background; `events` grows as frames arrive. */
export class Sse {
  readonly events: Event[] = [];
  ended = false;
  private buffer = "";
  constructor(res: Response) {
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    void this.pump(res);
  }
  private async pump(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        this.buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf("\n\n")) !== -1) {
          const block = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("id:")) id = line.slice(3).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0 && data.join("") !== "") this.events.push({ id, message: JSON.parse(data.join("\n")) as Json });
        }
      }
    } catch {
      // aborted by the test
    } finally {
      this.ended = true;
    }
  }
  async waitFor(predicate: (e: Event) => boolean, what: string, timeoutMs = 8000): Promise<Event> {
    await until(() => this.events.some(predicate) || this.ended, timeoutMs, what);
    const found = this.events.find(predicate);
    if (found === undefined) throw new Error(`stream ended without ${what}; got ${JSON.stringify(this.events.map((e) => e.message))}`);
    return found;
  }
}
