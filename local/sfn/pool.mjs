// Runs many executions of the deployer's state machine in one process
// (execute.mjs), for benchmarks at a scale where a process per execution
// does not fit: reads one request per line on stdin, {"id": …, "request":
// {…}}, starts each at once, and writes every event and result line with
// the request's id added.
import { createInterface } from 'node:readline';
import { execute } from './execute.mjs';

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const running = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, request } = JSON.parse(line);
  running.push(
    execute(request, (o) => out({ ...o, id })).catch((e) =>
      out({ id, type: 'Result', status: 'FAILED', error: 'States.Runtime', cause: String(e?.message ?? e), timestamp: Date.now() }),
    ),
  );
}
await Promise.all(running);
