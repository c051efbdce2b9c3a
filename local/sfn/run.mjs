// Runs one execution of the deployer's state machine (execute.mjs): reads
// its request as one JSON document on stdin, writes each event of its log,
// then its result, as one JSON object per line on stdout.
import { execute } from './execute.mjs';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
await execute(req, (o) => process.stdout.write(JSON.stringify(o) + '\n'));
