// Runs the deployer's state machine in aws-local-stepfunctions, an independent
// ASL interpreter, with every Task state invoking the real Lambda binaries
// under the Lambda Runtime Interface Emulator.
//
// Reads one JSON request on stdin:
//   definition  the ASL document (placeholders already substituted)
//   input       the execution input
//   context     the context object: Execution (Id, Name) and StateMachine (Id, Name)
//   functions   Lambda ARN → RIE invocation URL
//   waitMs      Wait state name → milliseconds (the time factor, applied by the caller)
//   retryMs     state name → milliseconds between Retry attempts
//   faults      Task state name → how many invocations lose their response
//   timeScale   (benchmarks) run every Wait state for its SecondsPath value
//               divided by timeScale; the state keeps its name, so the count
//               of state transitions is unchanged
// Writes one JSON object per line on stdout: each event of the execution log,
// then {"type":"Result", status, output | error, cause}.
import { StateMachine, ExecutionError, ExecutionTimeoutError } from 'aws-local-stepfunctions';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// An error thrown by a Task override surfaces with error.name as the error and
// error.message as the cause, which is what Step Functions reports for a
// Lambda function error: Error = errorType, Cause = the error payload as JSON.
class LambdaError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

const faults = { ...(req.faults ?? {}) };

async function invoke(stateName, url, payload) {
  let res;
  try {
    res = await fetch(url, { method: 'POST', body: JSON.stringify(payload), headers: { 'Content-Type': 'application/json' } });
  } catch (e) {
    throw new LambdaError('Lambda.SdkClientException', `Unable to invoke ${url}: ${e.message}`);
  }
  const body = await res.text();
  if (res.status >= 500 || res.status === 429) {
    throw new LambdaError(res.status === 429 ? 'Lambda.TooManyRequestsException' : 'Lambda.ServiceException', body || `HTTP ${res.status}`);
  }
  if (faults[stateName] > 0) {
    // The function ran, but its response is lost on the way back: Step
    // Functions sees a Lambda service error and retries the whole invocation.
    faults[stateName]--;
    emit({ type: 'FaultInjected', state: { name: stateName, type: 'Task' }, timestamp: Date.now(), detail: 'response dropped after the function ran' });
    throw new LambdaError('Lambda.ServiceException', 'ecr-deployer local stack: injected Lambda service fault after the function ran');
  }
  const functionError = res.headers.get('x-amz-function-error');
  let parsed;
  try {
    parsed = body === '' ? null : JSON.parse(body);
  } catch {
    throw new LambdaError('Lambda.Unknown', body);
  }
  if (functionError || (parsed && typeof parsed === 'object' && typeof parsed.errorType === 'string' && 'errorMessage' in parsed)) {
    throw new LambdaError(parsed?.errorType ?? 'Lambda.Unknown', body);
  }
  return parsed;
}

const overrides = { taskResourceLocalHandlers: {}, waitTimeOverrides: req.waitMs ?? {}, retryIntervalOverrides: req.retryMs ?? {} };
for (const [name, state] of Object.entries(req.definition.States)) {
  if (state.Type !== 'Task') continue;
  const url = req.functions[state.Resource];
  if (!url) throw new Error(`no function endpoint for ${state.Resource} (state ${name})`);
  overrides.taskResourceLocalHandlers[name] = (input) => invoke(name, url, input);
}

if (req.timeScale) {
  // aws-local-stepfunctions overrides a Wait with a fixed pause; a benchmark
  // needs each Wait's own SecondsPath, compressed. Such a Wait becomes a Task
  // of the same name that sleeps and passes its input on (ResultPath null).
  for (const [name, state] of Object.entries(req.definition.States)) {
    if (state.Type !== 'Wait' || !state.SecondsPath) continue;
    const path = state.SecondsPath.replace(/^\$\./, '').split('.');
    req.definition.States[name] = { Type: 'Task', Resource: 'arn:aws:lambda:us-west-2:123456789012:function:local-sleep', ResultPath: null, Next: state.Next };
    overrides.taskResourceLocalHandlers[name] = async (input) => {
      const seconds = path.reduce((v, k) => (v == null ? v : v[k]), input) ?? 0;
      await new Promise((r) => setTimeout(r, (seconds * 1000) / req.timeScale));
      return null;
    };
  }
}

const sm = new StateMachine(req.definition);
const execution = sm.run(req.input, { overrides, context: req.context });

const logs = (async () => {
  for await (const ev of execution.eventLogs) emit(ev);
})();

let result;
try {
  const output = await execution.result;
  result = { type: 'Result', status: 'SUCCEEDED', output };
} catch (e) {
  if (e instanceof ExecutionTimeoutError) {
    result = { type: 'Result', status: 'TIMED_OUT', error: 'States.Timeout', cause: e.message };
  } else if (e instanceof ExecutionError) {
    const c = e.cause ?? {};
    result = { type: 'Result', status: 'FAILED', error: c.name, cause: c.message };
  } else {
    result = { type: 'Result', status: 'FAILED', error: 'States.Runtime', cause: String(e?.message ?? e) };
  }
}
await logs;
emit({ ...result, timestamp: Date.now() });
