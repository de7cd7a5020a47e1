#!/usr/bin/env node
// Reference answers from MetaMask's own encoder, @metamask/delegation-core (test tooling only).
//
// Each case is {"fn": "<exported function>", "args": [...]}; the answer is
// {"ok": true, "result": ...} or {"ok": false, "error": "<message>"}. Only the library's pure
// functions are callable (create*/decode*/encode*/hash*), plus {"fn": "constants"} and
// {"fn": "abiErrors", "args": ["DelegationManager"]} (error signatures from @metamask/delegation-abis).
//
// JSON has no bigint, so both directions tag them: {"$bigint": "<decimal>"}. Uint8Array results
// come back as 0x-hex strings.
//
// Usage:
//   node reference.mjs < cases.json      one JSON array of cases in, one JSON array of answers out
//   node reference.mjs --serve           one case (or array of cases) per line in, one line out,
//                                        until stdin closes — one process serves a whole test run
import * as abis from '@metamask/delegation-abis';
import * as core from '@metamask/delegation-core';
import { createInterface } from 'node:readline';

const CALLABLE = /^(create|decode|encode|hash)[A-Za-z0-9]*$/;

function canonicalType(input) {
  if (!input.type.startsWith('tuple')) return input.type;
  return `(${input.components.map(canonicalType).join(',')})${input.type.slice('tuple'.length)}`;
}

function revive(_key, value) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bigint') {
      return BigInt(value.$bigint);
    }
  }
  return value;
}

function toJson(value) {
  if (typeof value === 'bigint') {
    return { $bigint: value.toString() };
  }
  if (value instanceof Uint8Array) {
    return `0x${Buffer.from(value).toString('hex')}`;
  }
  if (Array.isArray(value)) {
    return value.map(toJson);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

function answer(testCase) {
  try {
    if (testCase.fn === 'constants') {
      return {
        ok: true,
        result: {
          ANY_BENEFICIARY: core.ANY_BENEFICIARY,
          ROOT_AUTHORITY: core.ROOT_AUTHORITY,
          DELEGATION_TYPEHASH: core.DELEGATION_TYPEHASH,
          CAVEAT_TYPEHASH: core.CAVEAT_TYPEHASH,
        },
      };
    }
    if (testCase.fn === 'abiErrors') {
      const abi = abis[testCase.args?.[0]];
      if (!Array.isArray(abi)) {
        return { ok: false, error: `no ABI named ${testCase.args?.[0]}` };
      }
      const signature = (item) => `${item.name}(${item.inputs.map(canonicalType).join(',')})`;
      return { ok: true, result: abi.filter((item) => item.type === 'error').map(signature) };
    }
    const fn = core[testCase.fn];
    if (!CALLABLE.test(testCase.fn ?? '') || typeof fn !== 'function') {
      return { ok: false, error: `not a callable delegation-core function: ${testCase.fn}` };
    }
    return { ok: true, result: toJson(fn(...(testCase.args ?? []))) };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

function answerAll(parsed) {
  return Array.isArray(parsed) ? parsed.map(answer) : answer(parsed);
}

if (process.argv.includes('--serve')) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let reply;
    try {
      reply = answerAll(JSON.parse(line, revive));
    } catch (error) {
      reply = { ok: false, error: `bad request: ${error.message}` };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
} else {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8') || '[]', revive);
  process.stdout.write(`${JSON.stringify(answerAll(cases))}\n`);
}
