// Compile Cyphera's own Solidity contracts (contracts/*.sol) with the pinned npm `solc`.
//
//   node scripts/chain/compile_contracts.mjs build/contracts.json
//
// Writes {format, compiler, settings, contracts: {name: {abi, bytecode, deployedBytecode}}}.
// These are test/dev contracts (TestToken); Python reads the JSON and never runs JavaScript.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import solc from "solc";

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const contractsDir = join(projectRoot, "contracts");

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};

function fail(message) {
  console.error(`compile_contracts: ${message}`);
  process.exit(1);
}

const outPath = process.argv[2];
if (!outPath) {
  fail("usage: node scripts/chain/compile_contracts.mjs <out.json>");
}

const sources = {};
for (const file of readdirSync(contractsDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[file] = { content: readFileSync(join(contractsDir, file), "utf8") };
}
if (Object.keys(sources).length === 0) {
  fail(`no .sol files in ${contractsDir}`);
}

const output = JSON.parse(
  solc.compile(JSON.stringify({ language: "Solidity", sources, settings: SETTINGS })),
);
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const diagnostic of output.errors ?? []) {
  console.error(diagnostic.formattedMessage);
}
if (errors.length > 0) {
  fail(`${errors.length} compiler error(s)`);
}

const contracts = {};
for (const [file, byName] of Object.entries(output.contracts ?? {})) {
  for (const [name, artifact] of Object.entries(byName)) {
    if (name in contracts) {
      fail(`contract name ${name} is defined twice (${basename(file)})`);
    }
    contracts[name] = {
      source: `contracts/${file}`,
      abi: artifact.abi,
      bytecode: `0x${artifact.evm.bytecode.object}`,
      deployedBytecode: `0x${artifact.evm.deployedBytecode.object}`,
    };
  }
}

const target = resolve(outPath);
mkdirSync(dirname(target), { recursive: true });
const temporary = `${target}.${process.pid}.tmp`;
const settings = { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion };
writeFileSync(
  temporary,
  `${JSON.stringify({ format: 1, compiler: solc.version(), settings, contracts })}\n`,
);
renameSync(temporary, target);
console.log(`compile_contracts: ${Object.keys(contracts).join(", ")} -> ${outPath}`);
