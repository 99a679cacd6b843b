// Stepline's Lambda runtime client for nodejs*: Node's standard library only.
//
// It speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, loads FILE.EXPORT from _HANDLER
// under LAMBDA_TASK_ROOT (CommonJS .js/.cjs or ESM .mjs, or .js in a "type": "module" package),
// and calls the handler for each invocation, async, promise or callback(err, result),
// reporting results and errors in the shapes AWS's Node.js runtime uses.
'use strict';

const http = require('http');
const path = require('path');
const fs = require('fs');
const util = require('util');
const { pathToFileURL } = require('url');

const API = '/2018-06-01/runtime';
const [host, port] = (() => {
  const a = process.env.AWS_LAMBDA_RUNTIME_API || '';
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), Number(a.slice(i + 1))];
})();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: API + p, agent, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

class ExtendedError extends Error {}
class ImportModuleError extends ExtendedError {}
class HandlerNotFound extends ExtendedError {}
class MalformedHandlerName extends ExtendedError {}
class UserCodeSyntaxError extends ExtendedError {}
class MarshalError extends ExtendedError {}
for (const E of [ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError, MarshalError]) {
  Object.defineProperty(E.prototype, 'name', { value: 'Runtime.' + E.name });
}

// taskRoot is where the code was unpacked; traces name it /var/task, Lambda's folder, so that a
// function's errors read the same here as on AWS.
const taskRoot = process.env.LAMBDA_TASK_ROOT || '';

// traceparent turns an X-Ray trace header (Root=1-{8}-{24};Parent={16};Sampled=1) into W3C's
// traceparent, or returns '' when it cannot.
function traceparent(xray) {
  const fields = {};
  for (const f of xray.split(';')) {
    const i = f.indexOf('=');
    if (i > 0) fields[f.slice(0, i)] = f.slice(i + 1);
  }
  const root = (fields.Root || '').split('-');
  const parent = fields.Parent || '';
  if (root.length !== 3 || root[0] !== '1' || root[1].length + root[2].length !== 32 || parent.length !== 16) return '';
  return '00-' + root[1] + root[2] + '-' + parent + '-' + (fields.Sampled === '1' ? '01' : '00');
}

function awsPaths(line) {
  return taskRoot ? line.split(taskRoot + '/').join('/var/task/') : line;
}

// toRuntimeResponse is the error payload AWS's runtime sends: {errorType, errorMessage, trace}.
function toRuntimeResponse(error) {
  try {
    if (error instanceof Error || (error && typeof error.stack === 'string' && typeof error.message === 'string')) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: typeof error.stack === 'string' ? error.stack.split('\n').map(awsPaths) : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

let currentRequestId = '';
function patchConsole() {
  const write = (level) => (...args) => {
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`);
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
  console.fatal = write('FATAL');
}

async function loadModule(root, moduleName) {
  const base = path.resolve(root, moduleName);
  const exists = (f) => {
    try {
      return fs.statSync(f).isFile();
    } catch (_) {
      return false;
    }
  };
  const importIt = async (file) => import(pathToFileURL(file).href);
  try {
    if (exists(base + '.mjs')) return await importIt(base + '.mjs');
    if (exists(base + '.js')) {
      try {
        return require(base + '.js');
      } catch (e) {
        if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) return await importIt(base + '.js');
        throw e;
      }
    }
    if (exists(base + '.cjs')) return require(base + '.cjs');
    return require(moduleName.startsWith('.') || moduleName.startsWith('/') ? base : moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(String(e));
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(String(e));
    throw e;
  }
}

async function loadHandler(root, fullHandler) {
  const m = /^([^.]*)\.(.*)$/.exec(fullHandler);
  if (!m) throw new MalformedHandlerName(`Bad handler ${fullHandler}`);
  const [, moduleName, handlerPath] = m;
  const mod = await loadModule(root, moduleName);
  let fn = mod;
  for (const part of handlerPath.split('.')) {
    fn = fn == null ? undefined : fn[part];
  }
  if (fn === undefined && mod && mod.default && typeof mod.default === 'object') {
    fn = handlerPath.split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod.default);
  }
  if (typeof fn !== 'function') throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (v) => {
    if (!v) return undefined;
    try {
      return JSON.parse(v);
    } catch (_) {
      return undefined;
    }
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse(headers['lambda-runtime-client-context']),
    identity: parse(headers['lambda-runtime-cognito-identity']),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

function runHandler(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (err) => callback(err === undefined || err === null ? 'handled' : err);
    try {
      const r = fn(event, context, callback);
      if (r && typeof r.then === 'function') r.then((v) => callback(null, v), (e) => callback(e === undefined || e === null ? new Error(String(e)) : e));
    } catch (e) {
      callback(e === undefined || e === null ? new Error(String(e)) : e);
    }
  });
}

async function postError(p, err) {
  const body = JSON.stringify(toRuntimeResponse(err));
  await request('POST', p, body, {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': toRuntimeResponse(err).errorType,
  });
}

// Writes to a full pipe would otherwise be queued and finish after the invocation's answer,
// outside its log: blocking writes keep them in order, as Lambda's runtime does.
function blockingStdio() {
  for (const s of [process.stdout, process.stderr]) {
    if (s._handle && typeof s._handle.setBlocking === 'function') s._handle.setBlocking(true);
  }
}

async function main() {
  blockingStdio();
  patchConsole();
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  try {
    handler = await loadHandler(root, process.env._HANDLER || '');
  } catch (e) {
    console.error(`Init Error \t${JSON.stringify(toRuntimeResponse(e))}`);
    await postError('/init/error', e);
    process.exit(1);
  }
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) throw new Error(`runtime API answered ${next.status} to next`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    // The same context as W3C's traceparent, where OpenTelemetry reads one from the environment.
    const parent = traceparent(next.headers['lambda-runtime-trace-id'] || '');
    if (parent) process.env.TRACEPARENT = parent;
    else delete process.env.TRACEPARENT;
    let event;
    try {
      event = JSON.parse(next.body.toString('utf8'));
    } catch (e) {
      await postError(`/invocation/${id}/error`, e);
      continue;
    }
    try {
      const result = await runHandler(handler, event, makeContext(next.headers));
      let body;
      try {
        body = JSON.stringify(result === undefined ? null : result);
      } catch (e) {
        throw new MarshalError(`Unable to stringify response body as json: ${e.message}`);
      }
      await request('POST', `/invocation/${id}/response`, body, { 'Content-Type': 'application/json' });
    } catch (e) {
      console.error(`Invoke Error \t${JSON.stringify(toRuntimeResponse(e))}`);
      await postError(`/invocation/${id}/error`, e);
    }
  }
}

main().catch((e) => {
  process.stderr.write(`stepline runtime client: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
