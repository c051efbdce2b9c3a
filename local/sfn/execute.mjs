// Runs the deployer's state machine in aws-local-stepfunctions, an independent
// ASL interpreter, with every Task state invoking the real Lambda binaries
// under the Lambda Runtime Interface Emulator.
//
// execute(req, emit) runs one execution for a request of these fields:
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
//   local       the local stack's endpoint, which holds the task tokens
//   tokenTimeoutMs  the longest a wait for a task token lasts before
//               States.Timeout, without timeScale (with it: TimeoutSecondsPath
//               divided by timeScale)
//   transitionMs (benchmarks) Step Functions' own time before each Task
//               state invokes its Lambda, and after a task token's success
// and hands emit one object per event of the execution log, then
// {"type":"Result", status, output | error, cause}. run.mjs runs one
// execution per process; pool.mjs many in one (benchmarks at scale).
import { randomBytes } from 'node:crypto';
import { StateMachine, ExecutionError, ExecutionTimeoutError } from 'aws-local-stepfunctions';

export async function execute(req, emit) {
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

  const transition = () => (req.transitionMs > 0 ? new Promise((r) => setTimeout(r, req.transitionMs)) : Promise.resolve());

  async function invoke(stateName, url, payload) {
    await transition();
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

  // A wait for a task token (lambda:invoke.waitForTaskToken). aws-local-stepfunctions
  // has no task tokens, so the state becomes an override that makes one: the
  // context object's $$.Task.Token is a placeholder, replaced in the resolved
  // Parameters by a fresh token per attempt. The local stack records the
  // TaskScheduled event with the token (GetExecutionHistory shows it, as Step
  // Functions does) before the function runs, then holds the wait until
  // SendTaskSuccess or SendTaskFailure, or until the state's timeout, which
  // fails the state with States.Timeout for its Catch.
  const TOKEN_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
  const TOKEN_PLACEHOLDER = 'ecr-deployer-local-task-token';

  class StatesTimeout extends Error {
    constructor(stateName) {
      super(`${stateName} timed out waiting for its task token`);
      this.name = 'States.Timeout';
    }
  }

  async function local(path, body) {
    const res = await fetch(`${req.local}/_local/token/${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`local stack ${path}: HTTP ${res.status}: ${await res.text()}`);
    return res.json();
  }

  function withToken(v, token) {
    if (v === TOKEN_PLACEHOLDER) return token;
    if (Array.isArray(v)) return v.map((e) => withToken(e, token));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, withToken(e, token)]));
    return v;
  }

  const pathValue = (path, doc) => path.replace(/^\$\.?/, '').split('.').filter(Boolean).reduce((v, k) => (v == null ? v : v[k]), doc);

  async function waitForToken(stateName, state, url, input) {
    const token = randomBytes(384).toString('base64');
    const params = withToken(input, token);
    // TimeoutSecondsPath reads the state input, which the Payload carries whole as "state".
    const seconds = state.TimeoutSeconds ?? pathValue(state.TimeoutSecondsPath, params.Payload?.state);
    if (!Number.isInteger(seconds) || seconds < 1) throw new LambdaError('States.Runtime', `${stateName}: TimeoutSecondsPath ${state.TimeoutSecondsPath} is ${seconds}, not a positive integer`);
    const ms = req.timeScale ? (seconds * 1000) / req.timeScale : Math.min(seconds * 1000, req.tokenTimeoutMs ?? Infinity);
    const deadline = Date.now() + ms;
    emit({ type: 'TaskScheduled', state: { name: stateName, type: 'Task' }, token, parameters: JSON.stringify(params), timeoutSeconds: seconds, timestamp: Date.now() });
    await local('registered', { token });
    let submitted;
    try {
      submitted = await invoke(stateName, url, params.Payload);
    } catch (e) {
      await local('failed', { token, error: e.name, cause: e.message });
      throw e;
    }
    emit({ type: 'TaskSubmitted', state: { name: stateName, type: 'Task' }, output: submitted, timestamp: Date.now() });
    for (;;) {
      const r = await local('wait', { token, deadline });
      if (r.status === 'SUCCEEDED') {
        await transition();
        return JSON.parse(r.output);
      }
      if (r.status === 'FAILED') throw new LambdaError(r.error || 'States.TaskFailed', r.cause);
      if (r.status === 'TIMED_OUT') throw new StatesTimeout(stateName);
    }
  }

  const overrides = { taskResourceLocalHandlers: {}, waitTimeOverrides: req.waitMs ?? {}, retryIntervalOverrides: req.retryMs ?? {} };
  for (const [name, state] of Object.entries(req.definition.States)) {
    if (state.Type !== 'Task') continue;
    if (state.Resource === TOKEN_RESOURCE) {
      const url = req.functions[state.Parameters?.FunctionName];
      if (!url) throw new Error(`no function endpoint for ${state.Parameters?.FunctionName} (state ${name})`);
      const original = { TimeoutSeconds: state.TimeoutSeconds, TimeoutSecondsPath: state.TimeoutSecondsPath };
      // The override enforces the timeout; the interpreter's own must not fire first
      // (and must stay below setTimeout's 2^31 ms).
      delete state.TimeoutSecondsPath;
      state.TimeoutSeconds = 2000000;
      overrides.taskResourceLocalHandlers[name] = (input) => waitForToken(name, original, url, input);
      continue;
    }
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
      // A Wait has no timeout; the interpreter gives a Task one of 60 s unless
      // told (a Wait longer than that failed with States.Timeout).
      req.definition.States[name] = { Type: 'Task', Resource: 'arn:aws:lambda:us-west-2:123456789012:function:local-sleep', ResultPath: null, Next: state.Next, TimeoutSeconds: 2000000 };
      overrides.taskResourceLocalHandlers[name] = async (input) => {
        const seconds = path.reduce((v, k) => (v == null ? v : v[k]), input) ?? 0;
        await new Promise((r) => setTimeout(r, (seconds * 1000) / req.timeScale));
        return null;
      };
    }
  }

  const sm = new StateMachine(req.definition);
  const execution = sm.run(req.input, { overrides, context: { ...req.context, Task: { Token: TOKEN_PLACEHOLDER } } });

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
}
