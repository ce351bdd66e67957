#!/usr/bin/env node
// The differential oracle of the workflow service's ASL interpreter (asl.h): runs every case of
// services/workflow/tests/asl-corpus through aws-local-stepfunctions, an independent MIT
// JavaScript interpreter, with the corpus's deterministic Task resources (README.md there)
// implemented as its local Task handlers, and prints one JSON line per case:
//   {"name", "file", "output"}            the execution succeeded
//   {"name", "file", "error", "cause"}    the execution failed
//
//   node oracle.js [--corpus DIR] [SELECTOR...]          run all cases, or the selected ones
//   node oracle.js [--corpus DIR] --write SELECTOR...    rewrite "expected" of the selected
//                                                       cases from the oracle's answer
// A SELECTOR is a case's number ("007"), its file name or its "name"; "all" selects every case.
// --write refuses a case that carries a "divergence" (its expectation comes from the
// specification, not from this oracle) and says so on stderr.
//
// Wait states do not wait: every Wait with Seconds or Timestamp is overridden to 0 ms. A Wait
// with SecondsPath or TimestampPath is left alone so that its path is still evaluated; the
// corpus gives those 0 seconds or a past timestamp. Retry intervals are overridden to 0 ms.
'use strict';

const fs = require('fs');
const path = require('path');

// aws-local-stepfunctions 3.0.0 declares node >= 22 and uses Promise.withResolvers (Node 22) in
// its Task states; this machine has node 20, so the oracle supplies it.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// asl-validator (which the interpreter runs on every definition) builds a new Ajv and compiles
// its fifteen schemas on each call: about 100 ms a case, 80 % of the corpus run. The oracle
// always validates with the same options, so one Ajv per set of constructor options gives the
// same answers: the formats it re-adds are the same functions, each validate() sets its own
// errors, and ajv-formats' keywords are added to an instance once (a second time throws).
const ajvModule = require('ajv');
const AjvClass = ajvModule.default;
const ajvByOptions = new Map();
function SharedAjv(opts) {
  const key = JSON.stringify(opts);
  if (!ajvByOptions.has(key)) ajvByOptions.set(key, new AjvClass(opts));
  return ajvByOptions.get(key);
}
ajvModule.default = SharedAjv;
const formatsModule = require('ajv-formats');
const addFormats = formatsModule.default;
const formatted = new WeakSet();
formatsModule.default = (ajv, ...rest) => {
  if (formatted.has(ajv)) return ajv;
  formatted.add(ajv);
  return addFormats(ajv, ...rest);
};

const { StateMachine, ExecutionError } = require('aws-local-stepfunctions');

const DEFAULT_CORPUS = path.resolve(__dirname, '..', 'asl-corpus');
const CASE_TIMEOUT_MS = 20000;

function usage(msg) {
  process.stderr.write(`oracle.js: ${msg}\n` +
    'usage: node oracle.js [--corpus DIR] [--write] [SELECTOR...]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { corpus: DEFAULT_CORPUS, write: false, selectors: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--corpus') {
      if (i + 1 >= argv.length) usage('--corpus needs a directory');
      opts.corpus = path.resolve(argv[++i]);
    } else if (a === '--write') {
      opts.write = true;
    } else if (a.startsWith('--')) {
      usage(`unknown option ${a}`);
    } else {
      opts.selectors.push(a);
    }
  }
  if (opts.write && opts.selectors.length === 0) usage('--write needs a SELECTOR (or "all")');
  return opts;
}

function loadCorpus(dir) {
  const files = fs.readdirSync(dir).filter((f) => /^\d{3}_.*\.json$/.test(f)).sort();
  return files.map((file) => {
    const full = path.join(dir, file);
    let doc;
    try {
      doc = JSON.parse(fs.readFileSync(full, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not JSON: ${e.message}`);
    }
    return { file, full, doc };
  });
}

function selected(c, selectors) {
  if (selectors.length === 0 || selectors.includes('all')) return true;
  const num = c.file.slice(0, 3);
  return selectors.some((s) => s === num || s === c.file || s === c.doc.name);
}

// Every state of a definition, nested ones (Parallel branches, Map iterators) included.
function* allStates(machine) {
  const states = (machine && machine.States) || {};
  for (const [name, state] of Object.entries(states)) {
    yield [name, state];
    if (state.Type === 'Parallel') {
      for (const branch of state.Branches || []) yield* allStates(branch);
    } else if (state.Type === 'Map') {
      yield* allStates(state.ItemProcessor || state.Iterator);
    }
  }
}

class TestError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

// The corpus's Task resources (asl-corpus/README.md), the same functions as the C unit test's.
// flaky counts its calls per state name within one execution: `calls` is per run.
function taskFunction(resource, stateName, calls) {
  switch (resource) {
  case 'tc:test:echo':
    return async (params) => params;
  case 'tc:test:fail':
    return async (params) => {
      const p = params && typeof params === 'object' ? params : {};
      throw new TestError(typeof p.error === 'string' ? p.error : 'Test.Failed',
        typeof p.cause === 'string' ? p.cause : '');
    };
  case 'tc:test:flaky':
    return async (params) => {
      const times = params && typeof params.times === 'number' ? params.times : 0;
      calls[stateName] = (calls[stateName] || 0) + 1;
      const n = calls[stateName];
      if (n <= times) throw new TestError('Test.Flaky', `attempt ${n}`);
      return { attempts: n };
    };
  case 'tc:test:add':
    return async (params) => {
      if (!params || typeof params.a !== 'number' || typeof params.b !== 'number') {
        throw new TestError('Test.BadArguments', 'tc:test:add takes numbers a and b');
      }
      return params.a + params.b;
    };
  default:
    return async () => {
      throw new TestError('Test.UnknownResource', resource);
    };
  }
}

function runOptions(definition, execName) {
  const calls = {};
  const taskResourceLocalHandlers = {};
  const waitTimeOverrides = {};
  const retryIntervalOverrides = {};
  const resources = {};
  for (const [name, state] of allStates(definition)) {
    if (state.Type === 'Task') {
      // aws-local-stepfunctions keys its handlers by state name
      if (name in resources && resources[name] !== state.Resource) {
        throw new TestError('Oracle.AmbiguousTaskName',
          `two Task states named ${name} call different resources`);
      }
      resources[name] = state.Resource;
      taskResourceLocalHandlers[name] = taskFunction(state.Resource, name, calls);
    }
    if (state.Type === 'Wait' && !('SecondsPath' in state) && !('TimestampPath' in state)) {
      waitTimeOverrides[name] = 0;
    }
    if (Array.isArray(state.Retry)) retryIntervalOverrides[name] = 0;
  }
  return {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: { Execution: { Name: execName } },
  };
}

function errorAnswer(e) {
  const err = e instanceof ExecutionError && e.cause ? e.cause : e;
  return { error: String(err && err.name), cause: err && err.message !== undefined ? String(err.message) : '' };
}

async function runCase(doc) {
  let machine;
  try {
    // a copy: validation adds fields (QueryLanguage) to the definition it is given
    machine = new StateMachine(structuredClone(doc.definition), {
      validationOptions: { checkArn: false, checkPaths: false },
    });
  } catch (e) {
    return { error: 'Oracle.InvalidDefinition', cause: e.message };
  }
  let timer;
  try {
    const options = runOptions(doc.definition, doc.name);
    const execution = machine.run(doc.input === undefined ? {} : structuredClone(doc.input), options);
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        execution.abort();
        reject(new TestError('Oracle.Timeout', `no answer within ${CASE_TIMEOUT_MS} ms`));
      }, CASE_TIMEOUT_MS);
    });
    const output = await Promise.race([execution.result, timeout]);
    return { output: output === undefined ? null : output };
  } catch (e) {
    return errorAnswer(e);
  } finally {
    clearTimeout(timer);
  }
}

// aws-local-stepfunctions' cause of a Fail state without Cause or CausePath.
const FAIL_STATE_DEFAULT_CAUSE = 'Execution failed because of a Fail state';

// Key order of a corpus file, kept when --write rewrites one.
const KEY_ORDER = ['name', 'description', 'definition', 'input', 'expected', 'divergence'];

function writeExpected(c, answer) {
  const doc = { ...c.doc };
  if ('error' in answer) {
    // A cause is part of the expectation only where the corpus defines it: a Test.* error (the
    // test functions' causes) or a Fail state's Cause/CausePath. States.* causes are each
    // interpreter's own wording.
    doc.expected = { error: answer.error };
    if (!answer.error.startsWith('States.') && answer.cause !== FAIL_STATE_DEFAULT_CAUSE) {
      doc.expected.cause = answer.cause;
    }
  } else {
    doc.expected = { output: answer.output };
  }
  const ordered = {};
  for (const k of KEY_ORDER) if (k in doc) ordered[k] = doc[k];
  for (const k of Object.keys(doc)) if (!(k in ordered)) ordered[k] = doc[k];
  fs.writeFileSync(c.full, JSON.stringify(ordered, null, 2) + '\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cases = loadCorpus(opts.corpus).filter((c) => selected(c, opts.selectors));
  if (cases.length === 0) usage('no case selected');
  let refused = 0;
  for (const c of cases) {
    const answer = await runCase(c.doc);
    process.stdout.write(JSON.stringify({ name: c.doc.name, file: c.file, ...answer }) + '\n');
    if (opts.write) {
      if (c.doc.divergence) {
        process.stderr.write(`${c.file}: has a divergence, its expectation is kept\n`);
        refused++;
      } else {
        writeExpected(c, answer);
      }
    }
  }
  process.exitCode = refused ? 1 : 0;
}

// When one Map iteration or Parallel branch fails, aws-local-stepfunctions aborts the others
// and leaves their rejections unhandled; the case's answer is already decided by then.
process.on('unhandledRejection', () => {});

main().catch((e) => {
  process.stderr.write(`oracle.js: ${e.stack || e}\n`);
  process.exit(2);
});
