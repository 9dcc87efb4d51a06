/**
 * The tools a step or an agent may call, and the sandboxes they run in: a registry that checks every
 * call's arguments against the tool's JSON Schema and remembers results by idempotency key, a WASM
 * sandbox (Chicory, in-process), a process sandbox for Python and shell snippets (Linux namespaces,
 * an unprivileged user, {@code prlimit}), and an HTTP fetch tool with an allowlist. Depends only on
 * runtime-core's ports.
 */
package dev.orrery.sandbox;
