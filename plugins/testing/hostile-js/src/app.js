// A conflict policy in JavaScript that misbehaves on request, to test the
// sandbox: {"mode": "ok" | "loop" | "alloc" | "busy-wait" | "fetch" |
// "read-env" | "print" | "throw"}. Built by the process tests onto a
// `hubsync plugin new --lang js` scaffold.

import { ConflictPolicy, TAKE_HUB, exports } from "./hubsync-pdk.js";

export class Hostile extends ConflictPolicy {
  static NAME = "hostile-js";
  static VERSION = "0.1.0";
  static DESCRIPTION = "Misbehaves on request, for sandbox tests.";
  static OPTIONS = { mode: "ok" };

  resolve(batch) {
    const mode = this.options.mode;
    if (mode === "loop") {
      let n = 0;
      for (;;) n += 1;
    }
    if (mode === "alloc") {
      const hoard = [];
      for (;;) hoard.push(new Uint8Array(16 << 20));
    }
    if (mode === "busy-wait") {
      const end = Date.now() + 3600_000;
      while (Date.now() < end) {}
    }
    if (mode === "fetch") {
      // Left out of the component (no HTTP): there is nothing to call.
      return fetch("http://127.0.0.1:5432/");
    }
    if (mode === "read-env") {
      // No process, no environment: a reference error.
      return process.env.HOME ? batch.conflicts.map(() => TAKE_HUB) : [];
    }
    if (mode === "print") {
      console.log("hostile-js was here, on stdout");
      console.error("hostile-js was here, on stderr");
    }
    if (mode === "throw") throw new Error("asked to fail");
    return batch.conflicts.map(() => TAKE_HUB);
  }
}

export const { describe, configure, conflictResolver } = exports(Hostile);
